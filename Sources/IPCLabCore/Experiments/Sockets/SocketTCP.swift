/// `socket.tcp` — the course's `server.c` and `client.c` on loopback: socket, setsockopt,
/// bind 127.0.0.1:8080, listen, accept / connect, send, read — in the run's own network namespace.
public struct SocketTCP: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "socket.tcp",
        mechanism: "socket",
        title: "TCP server and client on loopback",
        claim: "A TCP server makes a socket, sets its options, binds an address and port, listens and accepts; a client makes a socket and connects to that address. accept returns a new socket for the connection, and bytes then flow both ways on it.",
        seed: "002, 004",
        parameters: [
            Parameter("port", .integer, "The port the server binds on 127.0.0.1 (the run's own loopback: no other run or host program shares it).",
                      default: 8080, range: SocketChannel.Bounds.port),
            Parameter("connect_port", .integer, "The port the client connects to. Unset: the server's. Another port has no listener: connect fails with ECONNREFUSED, and the server waits in accept until the run's time is up.",
                      default: nil, range: SocketChannel.Bounds.port),
            Parameter("reuse_address", .boolean, "setsockopt SO_REUSEADDR and SO_REUSEPORT before bind, as the course's server does (its one call ORs the two names, which is SO_REUSEPORT alone; here each is set).",
                      default: true),
            Parameter("client_message", .string, "What the client sends.", default: "Hello from client", count: 1...1024),
            Parameter("server_message", .string, "What the server answers.", default: "Hello from server", count: 1...1024),
        ],
        observations: ["socket.tcp.server_setup", "socket.tcp.connection", "socket.tcp.exchange"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let port = params.int("port") ?? 8080
        let dial = params.int("connect_port") ?? port
        let target = dial == port ? "server" : "elsewhere"
        var channels: [Channel] = [.tcp("server", port: port)]
        if dial != port { channels.append(.tcp("elsewhere", port: dial)) }
        let options: [Step] = (params.bool("reuse_address") ?? true)
            ? [.setsockopt(channel: "server", .reuseAddress), .setsockopt(channel: "server", .reusePort)] : []
        return Scenario(
            channels: channels,
            processes: [
                ProcessSpec(name: "server", steps: [.socket(channel: "server")] + options + [
                    .bind(channel: "server"),
                    .listen(channel: "server", backlog: 3),
                    .accept(channel: "server"),
                    .recv(channel: "server", size: 1024, call: .read),
                    .send(channel: "server", data: .text(params.string("server_message") ?? "Hello from server")),
                    .wait(process: "client"),
                ]),
                ProcessSpec(name: "client", steps: [
                    .socket(channel: target),
                    .waitReady(channel: "server"),
                    .connect(channel: target),
                    .send(channel: target, data: .text(params.string("client_message") ?? "Hello from client")),
                    .recv(channel: target, size: 1024, call: .read),
                    .exit(code: 0),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let reuse = params.bool("reuse_address") ?? true
        let server = trace.events.filter { $0.process == "server" && $0.channel == "server" }
        let setupCalls = ["socket", "setsockopt", "bind", "listen"]
        let setup = server.filter { setupCalls.contains($0.call) }
        let setupOK = setup.map(\.call) == (reuse ? ["socket", "setsockopt", "setsockopt", "bind", "listen"] : ["socket", "bind", "listen"])
            && setup.allSatisfy { ($0.result ?? -1) >= 0 }
        let bind = setup.first { $0.is(.sockets(.bind)) }
        let serverSetup = Observation(
            id: "socket.tcp.server_setup",
            claim: "The server's socket, setsockopt, bind and listen each succeed, in that order: then it can accept.",
            holds: setupOK, evidence: setup.seqs,
            detail: setup.map { "\($0.call)\($0.string(.optname).map { " \($0)" } ?? "")\($0.string(.addr).map { " \($0)" } ?? "") = \($0.outcomeText)" }
                .joined(separator: "; "))

        let connects = trace.calls(.sockets(.connect), by: "client")
        let connect = connects.last
        let accept = trace.calls(.sockets(.accept), by: "server").first
        let listening = server.first { $0.is(.sockets(.socket)) }?.result
        let clientPort = connect?.int(.localPort)
        let peer = accept?.string(.peer)
        let connected = connect?.result == 0 && (accept?.result ?? -1) >= 0 && accept?.result != listening
            && clientPort != nil && peer?.hasSuffix(":\(clientPort!)") == true
        let connection = Observation(
            id: "socket.tcp.connection",
            claim: "connect and accept make one connection: accept returns a new socket for it (the listening socket stays), and sees the client's address and port.",
            holds: connected, evidence: ([connect, accept].compactMap { $0 }).seqs,
            detail: connected
                ? "the client's connect to \(connect?.string(.addr) ?? "?") returned 0 from local port \(clientPort!); the server's accept on fd \(listening ?? -1) returned the new fd \(accept!.result!) for peer \(peer!)"
                : "connect returned \(connect?.outcomeText ?? "nothing")" + (connect?.string(.addr).map { " (to \($0))" } ?? "")
                    + "; accept \(accept.map { $0.returned ? "returned \($0.outcomeText)" : "was still waiting when the run ended" } ?? "was not called")")

        let serverRead = trace.socketReceives(on: "server", by: "server").first
        let clientRead = trace.socketReceives(by: "client").first
        let clientSend = trace.socketSends(by: "client").first
        let serverSend = trace.socketSends(on: "server", by: "server").first
        let toServer = serverRead?.movedText != nil && serverRead?.movedText == clientSend?.movedText
        let toClient = clientRead?.movedText != nil && clientRead?.movedText == serverSend?.movedText
        let exchange = Observation(
            id: "socket.tcp.exchange",
            claim: "Bytes flow both ways on one connection: the server reads what the client sent, and the client reads the server's answer.",
            holds: toServer && toClient, evidence: [clientSend, serverRead, serverSend, clientRead].compactMap { $0?.seq },
            detail: "the server read \(serverRead?.movedText.map { "\"\($0)\"" } ?? "nothing"); the client read \(clientRead?.movedText.map { "\"\($0)\"" } ?? "nothing")")
        return [serverSetup, connection, exchange]
    }
}

extension Trace {
    /// Sends on any channel by `process`.
    func socketSends(by process: String) -> [TraceEvent] {
        events.filter { ["send", "sendto", "write"].contains($0.call) && $0.process == process && $0.isOnSocket }
    }

    /// Receives on any channel by `process`.
    func socketReceives(by process: String) -> [TraceEvent] {
        events.filter { ["recv", "recvfrom", "read"].contains($0.call) && $0.process == process && $0.isOnSocket }
    }
}

extension TraceEvent {
    /// Whether the call used a socket channel's descriptor (socket calls name `sockfd`; read/write on a
    /// socket name the channel but no pipe `end`).
    var isOnSocket: Bool { arg(.sockfd) != nil || (channel != nil && arg(.end) == nil && arg(.path) == nil) }
}
