/// `socket.unix_dgram` — the writes of `socket.unix_stream` through a Unix-domain datagram
/// socket: each recv returns exactly one datagram.
public struct SocketUnixDgram: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "socket.unix_dgram",
        mechanism: "socket",
        title: "A Unix-domain datagram socket keeps message boundaries",
        claim: "A Unix-domain datagram socket keeps message boundaries: each recv returns exactly one datagram, however large its buffer; a buffer too small truncates the datagram and the rest is lost.",
        seed: "002, 004",
        parameters: [
            Parameter("write_sizes", .integerArray, "Sizes of the client's datagrams, in order (at most 10: a Unix datagram socket queues net.unix.max_dgram_qlen = 10 before the sender waits).",
                      default: [10, 10, 10, 10], range: 1...8192, count: 1...10),
            Parameter("read_sizes", .integerArray, "Sizes of the server's recv buffers, in order.",
                      default: [15, 15, 15, 15], range: 1...8192, count: 1...64),
        ],
        observations: ["socket.unix_dgram.boundaries_kept", "socket.unix_dgram.datagrams_whole"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        Scenario(
            channels: [.unixDgram("d", path: "/tmp/d.sock")],
            processes: [
                ProcessSpec(name: "server", steps: [.socket(channel: "d"), .bind(channel: "d"), .wait(process: "client")]
                    + params.ints("read_sizes").map { .recv(channel: "d", size: $0, nonblocking: true) }),
                ProcessSpec(name: "client", steps: [.socket(channel: "d"), .waitReady(channel: "d"), .connect(channel: "d")]
                    + params.ints("write_sizes").map { .send(channel: "d", data: .size($0)) } + [.exit(code: 0)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sends = trace.socketSends(on: "d", by: "client").filter { ($0.result ?? -1) >= 0 }
        let receives = trace.socketReceives(on: "d", by: "server")
        let sent = sends.compactMap(\.result)
        let got = receives.compactMap(\.result).filter { $0 >= 0 }
        let check = DatagramBoundaries.check(sent: sent, received: receives)
        let buffers = receives.compactMap { $0.int(.len) }
        let kept: Observation
        if !check.truncated.isEmpty || check.exact.isEmpty {
            kept = Observation(id: "socket.unix_dgram.boundaries_kept", claim: Self.keptClaim, holds: false, evidence: (sends + receives).seqs,
                               detail: "datagrams of \(sizeList(sent)) bytes were received as \(sizeList(got))"
                                   + (check.truncated.isEmpty ? "" : ": \(check.truncated.count) truncated by a smaller buffer"))
        } else if check.roomier.isEmpty {
            kept = Observation(id: "socket.unix_dgram.boundaries_kept", claim: Self.keptClaim, holds: false, evidence: (sends + receives).seqs,
                               detail: "datagrams of \(sizeList(sent)) bytes were received as \(sizeList(got)), but no buffer was larger than its datagram, so this run does not show that datagrams are not merged")
        } else {
            kept = Observation(id: "socket.unix_dgram.boundaries_kept", claim: Self.keptClaim, holds: true, evidence: (sends + receives).seqs,
                               detail: "datagrams of \(sizeList(sent)) bytes were received as \(sizeList(got)) with buffers of \(sizeList(buffers)): each recv got exactly one datagram (a stream socket would have filled the buffers)")
        }
        let whole = Observation(
            id: "socket.unix_dgram.datagrams_whole",
            claim: "Every datagram sent arrives whole, as one unit.",
            holds: !sent.isEmpty && check.exact.count == sent.count, evidence: (sends + receives).seqs,
            detail: check.truncated.isEmpty
                ? "\(check.exact.count) of \(sent.count) datagrams arrived whole"
                : check.truncated.map { "a \($0.1)-byte datagram read with a \($0.0.int(.len) ?? 0)-byte buffer came out as \($0.0.result ?? 0) bytes: the other \($0.1 - ($0.0.result ?? 0)) were discarded" }
                    .joined(separator: "; "))
        return [kept, whole]
    }

    static let keptClaim = "Each recv on a datagram socket returns exactly one datagram, even when its buffer could hold more."
}
