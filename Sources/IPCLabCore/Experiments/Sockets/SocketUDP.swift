/// `socket.udp` — UDP datagrams on loopback: no listen, no accept, no connect; each datagram
/// arrives whole, with its sender's address.
public struct SocketUDP: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "socket.udp",
        mechanism: "socket",
        title: "UDP datagrams on loopback",
        claim: "UDP needs no connection: a client sends datagrams to an address with sendto, and a server that has bound that address receives each whole with recvfrom, which also tells who sent it. A datagram sent to a port nobody has bound is silently lost.",
        seed: "002",
        parameters: [
            Parameter("port", .integer, "The port the server binds on 127.0.0.1 (the run's own loopback).", default: 9000, range: SocketChannel.Bounds.port),
            Parameter("send_port", .integer, "The port the client sends to. Unset: the server's. Another port: the datagrams are dropped, and the server waits in recvfrom until the run's time is up.",
                      default: nil, range: SocketChannel.Bounds.port),
            Words.parameter("The datagrams the client sends, in order.", default: "one two three"),
        ],
        observations: ["socket.udp.no_connection", "socket.udp.datagrams"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        let words = Words.split(params.string("messages"))
        try Words.check(words)
        if words.count > 10 {
            throw LabError(.invalidParameter, "at most 10 datagrams: the server reads them one by one as they come", path: "params.messages")
        }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let port = params.int("port") ?? 9000
        let target = params.int("send_port").flatMap { $0 == port ? nil : $0 }
        let words = Words.split(params.string("messages"))
        let to = target == nil ? "u" : "elsewhere"
        return Scenario(
            channels: [.udp("u", port: port)] + (target.map { [.udp("elsewhere", port: $0)] } ?? []),
            processes: [
                ProcessSpec(name: "server", steps: [.socket(channel: "u"), .bind(channel: "u")]
                    + words.map { _ in .recv(channel: "u", size: 128) as Step } + [.wait(process: "client")]),
                ProcessSpec(name: "client", steps: [.socket(channel: to), .waitReady(channel: "u")]
                    + words.map { .send(channel: to, data: .text($0)) } + [.exit(code: 0)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sends = trace.socketSends(by: "client").filter { ($0.result ?? -1) >= 0 }
        let receives = trace.socketReceives(on: "u", by: "server")
        let got = receives.filter { ($0.result ?? -1) >= 0 }
        let handshake = trace.events.filter { ["listen", "accept", "connect"].contains($0.call) }
        let noConnection = Observation(
            id: "socket.udp.no_connection",
            claim: "UDP needs no connection: the client's sendto goes to an address, and the server, which never listens or accepts, receives it.",
            holds: handshake.isEmpty && !got.isEmpty && sends.allSatisfy { $0.is(.sockets(.sendto)) },
            evidence: (sends + got).seqs,
            detail: "the client made \(sends.count) sendto call(s) to \(sends.first?.string(.destAddr) ?? "?") without connect; the server received \(got.count)"
                + (got.count < sends.count ? ": \(sends.count - got.count) datagram(s) were lost, because nothing had bound \(sends.first?.string(.destAddr) ?? "that address")" : ""))
        let pairs = zip(sends, got)
        let whole = pairs.allSatisfy { $0.0.movedText == $0.1.movedText }
        let sources = Set(got.compactMap { $0.string(.srcAddr) })
        let ok = !got.isEmpty && got.count == sends.count && whole && sources.count == 1
        let datagrams = Observation(
            id: "socket.udp.datagrams",
            claim: "Each recvfrom returns one whole datagram, in order here on loopback, with the address of the socket that sent it.",
            holds: ok, evidence: (sends + got).seqs,
            detail: ok ? "recvfrom returned \(got.map { "\"\($0.movedText ?? "")\"" }.joined(separator: ", ")), each from \(sources.first!) (the client's port, chosen by the kernel)"
                : "sent \(sends.count), received \(got.count)\(receives.last.map { $0.returned ? "" : "; the server's recvfrom was still waiting when the run ended" } ?? "")")
        return [noConnection, datagrams]
    }
}
