/// `socket.unix_stream` — a Unix-domain stream socket: a byte stream like a pipe (the writes of
/// `pipe.byte_stream` are read in other sizes), but two-way.
public struct SocketUnixStream: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "socket.unix_stream",
        mechanism: "socket",
        title: "A Unix-domain stream socket is a two-way byte stream",
        claim: "A Unix-domain stream socket is a byte stream like a pipe — the reader gets bytes in the sizes it asks for, not in the sizes they were sent — but one connection carries bytes both ways.",
        seed: "002",
        parameters: [
            Parameter("write_sizes", .integerArray, "Sizes of the client's sends, in order (total at most 65536: it finishes before the server reads).",
                      default: [10, 10, 10, 10], range: 1...65_536, count: 1...64),
            Parameter("read_sizes", .integerArray, "Sizes the server asks recv for, in order.",
                      default: [15, 15, 15, 15], range: 1...65_536, count: 1...64),
        ],
        observations: ["socket.unix_stream.no_boundaries", "socket.unix_stream.bytes_conserved", "socket.unix_stream.two_way"]
    )

    static let greeting = "go"

    public func validate(_ params: Parameters) throws(LabError) {
        let total = params.ints("write_sizes").reduce(0, +)
        if total > 65_536 {
            throw LabError(.invalidParameter, "the sends add up to \(total) bytes; at most 65536, since the client finishes before the server reads",
                           path: "params.write_sizes")
        }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        Scenario(
            channels: [.unixStream("s", path: "/tmp/s.sock")],
            processes: [
                ProcessSpec(name: "server", steps: [
                    .socket(channel: "s"), .bind(channel: "s"), .listen(channel: "s", backlog: 1), .accept(channel: "s"),
                    .send(channel: "s", data: .text(Self.greeting)),
                    .wait(process: "client"),
                ] + params.ints("read_sizes").map { .recv(channel: "s", size: $0, nonblocking: true) }),
                ProcessSpec(name: "client", steps: [
                    .socket(channel: "s"), .waitReady(channel: "s"), .connect(channel: "s"),
                    .recv(channel: "s", size: Self.greeting.utf8.count),
                ] + params.ints("write_sizes").map { .send(channel: "s", data: .size($0)) } + [.exit(code: 0)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sends = trace.socketSends(on: "s", by: "client").filter { ($0.result ?? 0) > 0 }
        let reads = trace.socketReceives(on: "s", by: "server").filter { ($0.result ?? -1) >= 0 }
        let sent = sends.compactMap(\.result)
        let got = reads.compactMap(\.result).filter { $0 > 0 }
        let crossing = StreamBoundaries.crossing(sent: sent, received: reads)
        let noBoundaries = Observation(
            id: "socket.unix_stream.no_boundaries",
            claim: "A stream socket keeps no message boundaries: the reader gets bytes in the sizes it asks for, not in the sizes they were sent.",
            holds: !crossing.isEmpty, evidence: (sends + reads).seqs,
            detail: crossing.isEmpty
                ? "\(sent.count) sends of \(sizeList(sent)) bytes were received as \(sizeList(got)): every recv matched whole sends, so this run does not show a boundary being lost"
                : "\(sent.count) sends of \(sizeList(sent)) bytes were received as \(sizeList(got)) bytes: \(crossing.count) recv(s) took bytes across or inside a send's boundary")
        let total = sent.reduce(0, +)
        let read = got.reduce(0, +)
        let conserved = Observation(
            id: "socket.unix_stream.bytes_conserved",
            claim: "Every byte sent is received, once, in order.",
            holds: total > 0 && total == read, evidence: (sends + reads).seqs,
            detail: "\(total) bytes sent, \(read) bytes received" + (reads.last?.result == 0 ? ", then recv returned 0: the client had closed its end" : ""))
        let hello = trace.socketSends(on: "s", by: "server").first
        let heard = trace.socketReceives(on: "s", by: "client").first
        let back = hello?.movedText != nil && heard?.movedText == hello?.movedText
        let twoWay = Observation(
            id: "socket.unix_stream.two_way",
            claim: "Unlike a pipe, one stream socket connection carries bytes both ways.",
            holds: back && total > 0, evidence: [hello, heard].compactMap { $0?.seq } + sends.prefix(1).map(\.seq),
            detail: back ? "the server sent \"\(hello!.movedText!)\" to the client on the connection accept gave it, and received the client's \(total) bytes on the same one"
                : "the server's \(hello?.movedText.map { "\"\($0)\"" } ?? "greeting") did not reach the client (its recv returned \(heard?.outcomeText ?? "nothing"))")
        return [noBoundaries, conserved, twoWay]
    }
}
