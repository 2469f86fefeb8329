import Foundation
import Glibc
import IPCLabCore
import IPCLabSandbox
import Testing

/// The socket presets run for real, with their defaults and with other parameters.
@Suite("Sockets: runs", .serialized)
struct SocketRunTests {
    // MARK: socket.tcp

    @Test("socket.tcp: the seed's server and client — every call and its result, both messages across")
    func tcp() async throws {
        let trace = try await run("socket.tcp")
        expectWentWell(trace)
        let server = trace.events.filter { $0.process == "server" && $0.channel == "server" }
        #expect(server.map(\.call) == ["socket", "setsockopt", "setsockopt", "bind", "listen", "accept", "read", "send"], "\(describe(trace))")
        #expect(server.compactMap { $0.string(.optname) } == ["SO_REUSEADDR", "SO_REUSEPORT"])
        #expect(server.first { $0.call == "bind" }?.string(.addr) == "127.0.0.1:8080")
        #expect(server.first { $0.call == "listen" }?.int(.backlog) == 3)
        let client = trace.events.filter { $0.process == "client" && $0.channel == "server" }
        #expect(client.map(\.call) == ["socket", "futex", "connect", "send", "read"])
        #expect(client.allSatisfy { ($0.result ?? -1) >= 0 })
        #expect(server.first { $0.call == "read" }?.movedText == "Hello from client")
        #expect(client.last?.movedText == "Hello from server")
        #expect(trace.run.sandbox.namespaces.contains("net"))
    }

    @Test("socket.tcp: another port and no SO_REUSEADDR — the calls follow the parameters")
    func tcpOtherPort() async throws {
        let trace = try await run("socket.tcp", params: ["port": 9090, "reuse_address": false, "client_message": "hi", "server_message": "yo"])
        expectWentWell(trace)
        #expect(trace.calls(.sockets(.setsockopt)).isEmpty)
        #expect(trace.calls(.sockets(.bind)).first?.string(.addr) == "127.0.0.1:9090")
        #expect(trace.socketReceives(on: "server", by: "server").first?.movedText == "hi")
        #expect(trace.socketReceives(on: "server", by: "client").first?.movedText == "yo")
    }

    @Test("socket.tcp: a client dialling a port nobody listens on is refused; the server waits in accept")
    func tcpRefused() async throws {
        let trace = try await run("socket.tcp", params: ["connect_port": 8081], wallMs: 300)
        #expect(trace.run.outcome == .timeout, "\(describe(trace))")
        let connect = try #require(trace.calls(.sockets(.connect), by: "client").first)
        #expect(connect.errno == "ECONNREFUSED" && connect.string(.addr) == "127.0.0.1:8081")
        #expect(trace.calls(.sockets(.accept), by: "server").first?.returned == false)
        let connection = try #require(trace.observations.first { $0.id == "socket.tcp.connection" })
        #expect(!connection.holds && connection.detail.contains("ECONNREFUSED"), "\(connection.detail)")
        #expect(trace.observations.first { $0.id == "socket.tcp.server_setup" }?.holds == true)
    }

    // MARK: Unix stream and datagram

    @Test("socket.unix_stream: four sends of 10 are received as 15, 15, 10, then end of file; the greeting went the other way")
    func unixStream() async throws {
        let trace = try await run("socket.unix_stream")
        expectWentWell(trace)
        #expect(trace.socketReceives(on: "s", by: "server").map(\.result) == [15, 15, 10, 0], "\(describe(trace))")
        #expect(trace.calls(.sockets(.bind)).first?.string(.addr) == "/tmp/s.sock")
        #expect(trace.socketReceives(on: "s", by: "client").first?.movedText == "go")
    }

    @Test("socket.unix_dgram: the same sends are received as four datagrams of 10")
    func unixDgram() async throws {
        let trace = try await run("socket.unix_dgram")
        expectWentWell(trace)
        #expect(trace.socketReceives(on: "d", by: "server").map(\.result) == [10, 10, 10, 10], "\(describe(trace))")
    }

    @Test("unix_stream vs unix_dgram with reads of 5, 25, 25: the stream fills them, datagrams are cut or come one by one")
    func streamVersusDatagram() async throws {
        let params: JSONValue = ["write_sizes": [10, 10, 10, 10], "read_sizes": [5, 25, 25, 25]]
        let stream = try await run("socket.unix_stream", params: params)
        expectWentWell(stream)
        #expect(stream.socketReceives(on: "s", by: "server").map(\.result) == [5, 25, 10, 0])
        let dgram = try await run("socket.unix_dgram", params: params)
        #expect(dgram.run.outcome == .ok)
        #expect(dgram.socketReceives(on: "d", by: "server").map(\.result) == [5, 10, 10, 10])
        #expect(dgram.observations.map(\.holds) == [false, false], "a truncated datagram: \(dgram.observations.map(\.detail))")
        #expect(dgram.observations.last?.detail.contains("discarded") == true)
    }

    @Test("socket.unix_stream: reads that match the sends do not show the claim, and the observation says so")
    func unixStreamMatching() async throws {
        let trace = try await run("socket.unix_stream", params: ["read_sizes": [10, 10, 10, 10]])
        #expect(trace.run.outcome == .ok)
        let o = try #require(trace.observations.first { $0.id == "socket.unix_stream.no_boundaries" })
        #expect(!o.holds && o.detail.contains("does not show"), "\(o.detail)")
    }

    // MARK: socketpair, UDP

    @Test("socket.socketpair: one descriptor each, both directions, for every type", arguments: ["stream", "dgram", "seqpacket"])
    func socketpair(_ type: String) async throws {
        let trace = try await run("socket.socketpair", params: ["type": .string(type), "rounds": 3])
        expectWentWell(trace)
        #expect(trace.calls(.sockets(.socketpair)).first?.string(.type) == "SOCK_\(type.uppercased())")
        #expect(trace.socketReceives(on: "sv", by: "child").map(\.movedText) == Array(repeating: "ping from parent", count: 3))
        #expect(trace.socketReceives(on: "sv", by: "parent").map(\.movedText) == Array(repeating: "pong from child", count: 3))
    }

    @Test("socket.udp: three datagrams, sendto without connect, recvfrom with the client's address")
    func udp() async throws {
        let trace = try await run("socket.udp")
        expectWentWell(trace)
        let got = trace.socketReceives(on: "u", by: "server")
        #expect(got.map(\.call) == ["recvfrom", "recvfrom", "recvfrom"])
        #expect(got.map(\.movedText) == ["one", "two", "three"])
        #expect(Set(got.compactMap { $0.string(.srcAddr) }).count == 1)
        #expect(trace.calls(.sockets(.sendto), by: "client").allSatisfy { $0.string(.destAddr) == "127.0.0.1:9000" })
    }

    @Test("socket.udp: datagrams to a port nobody bound are lost without an error; the server waits")
    func udpLost() async throws {
        let trace = try await run("socket.udp", params: ["send_port": 9001], wallMs: 300)
        #expect(trace.run.outcome == .timeout)
        #expect(trace.calls(.sockets(.sendto), by: "client").allSatisfy { $0.result == 3 || $0.result == 5 })
        #expect(trace.socketReceives(on: "u", by: "server").first?.returned == false)
        #expect(trace.observations.map(\.holds) == [false, false])
        #expect(trace.observations.first?.detail.contains("lost") == true)
    }

    // MARK: socket.buffer, socket.fd_passing

    @Test("socket.buffer: SO_SNDBUF 16384 reads back doubled; sends fill it, EAGAIN, then a blocking send waits")
    func buffer() async throws {
        let trace = try await run("socket.buffer")
        expectWentWell(trace)
        #expect(trace.calls(.sockets(.getsockopt)).first?.int(.optval) == 32768)
        let sends = trace.calls(.sockets(.send), by: "writer")
        #expect(sends.contains { $0.errno == "EAGAIN" })
        #expect((sends.last?.blockedNs ?? 0) > 50_000_000)
        #expect(trace.objects.contains { $0.kind == "socket" && ($0.value("send_queue") ?? 0) > 16384 })
    }

    @Test("socket.buffer: a larger buffer holds more; non-blocking stops at EAGAIN")
    func bufferOther() async throws {
        // The reader sleeps its 100 ms first: each fill meets only the buffer.
        let small = try await run("socket.buffer", params: ["nonblocking": true])
        expectWentWell(small)
        let big = try await run("socket.buffer", params: ["sndbuf": 131_072, "nonblocking": true])
        expectWentWell(big)
        #expect(big.calls(.sockets(.getsockopt)).first?.int(.optval) == 262_144)
        func accepted(_ t: Trace) -> Int64 { t.calls(.sockets(.send), by: "writer").filter { ($0.result ?? 0) > 0 }.bytesMoved }
        #expect(accepted(big) > 4 * accepted(small), "\(accepted(big)) vs \(accepted(small))")
        #expect(small.calls(.sockets(.send), by: "writer").last?.errno == "EAGAIN")
    }

    @Test("socket.fd_passing: the sender's file descriptor arrives in the receiver, which reads the file through it")
    func fdPassing() async throws {
        let trace = try await run("socket.fd_passing")
        expectWentWell(trace)
        let sendmsg = try #require(trace.calls(.sockets(.sendmsg)).first)
        let recvmsg = try #require(trace.calls(.sockets(.recvmsg)).first)
        guard case .array(let passed)? = sendmsg.arg(.scmRights), case .array(let arrived)? = recvmsg.arg(.scmRights) else {
            Issue.record("no scm_rights: \(describe(trace))")
            return
        }
        #expect(passed.count == 1 && arrived.count == 1)
        let read = try #require(trace.calls(.sockets(.fileRead), by: "receiver").first)
        #expect(read.movedText == "a note only the open file carries")
        #expect(read.arg(.fd) == arrived.first)
        #expect(trace.calls(.sockets(.fileClose), by: "sender").first?.result == 0, "closed before the receiver read: the file stayed open in flight")
    }

    @Test("socket.fd_passing: without SCM_RIGHTS only the byte arrives; both observations say false")
    func fdPassingWithoutRights() async throws {
        let trace = try await run("socket.fd_passing", params: ["attach": false, "close_after_send": false])
        #expect(trace.run.outcome == .ok)
        #expect(trace.calls(.sockets(.recvmsg)).first?.result == 1)
        #expect(trace.calls(.sockets(.recvmsg)).first?.arg(.scmRights) == .array([]))
        #expect(trace.calls(.sockets(.fileRead), by: "receiver").isEmpty)
        #expect(trace.calls(.sockets(.fileClose), by: "sender").isEmpty)
        #expect(trace.observations.map(\.holds) == [false, false])
    }
}

/// The run's network namespace: its own loopback, and nothing else.
@Suite("Sockets: network namespaces", .serialized)
struct NetworkNamespaceTests {
    /// One process that makes a TCP socket for 127.0.0.1:`port` and runs `steps` on it.
    func scenario(port: Int, _ steps: [String]) -> String {
        """
        {"channels": [{"name": "t", "kind": "tcp", "port": \(port)}],
         "processes": [{"name": "probe", "steps": [{"op": "socket", "channel": "t"}, \(steps.joined(separator: ", "))]}]}
        """
    }

    @Test("a run cannot reach a port the host listens on: connect to it is refused in the run's own namespace")
    func hostUnreachable() async throws {
        let host = try HostListener()
        let trace = try await run(scenario: scenario(port: host.port, [#"{"op": "connect", "channel": "t"}"#]), wallMs: 1000)
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        let connect = try #require(trace.calls(.sockets(.connect)).first)
        #expect(connect.result == -1)
        #expect(connect.errno == "ECONNREFUSED", "\(describe(trace))")
        #expect(connect.string(.addr) == "127.0.0.1:\(host.port)")
        // The host's listener saw no connection.
        var pfd = pollfd(fd: host.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pfd, 1, 0) == 0)
    }

    @Test("two concurrent runs both bind and listen on 127.0.0.1:PORT — the very port the host listens on")
    func concurrentSamePort() async throws {
        let host = try HostListener()
        let text = scenario(port: host.port, [#"{"op": "bind", "channel": "t"}"#, #"{"op": "listen", "channel": "t"}"#, #"{"op": "sleep", "ms": 300}"#])
        async let a = run(scenario: text, wallMs: 2000)
        async let b = run(scenario: text, wallMs: 2000)
        let (ta, tb) = try await (a, b)
        for t in [ta, tb] {
            #expect(t.run.outcome == .ok, "\(describe(t))")
            #expect(t.calls(.sockets(.bind)).first?.result == 0, "\(describe(t))")
            #expect(t.calls(.sockets(.listen)).first?.result == 0)
            #expect(t.run.sandbox.namespaces.contains("net"))
        }
        // Both held the port at once: their runs overlapped in time (each holds it for 300 ms).
        let spans = try [ta, tb].map { t in
            let parser = ISO8601DateFormatter()
            parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let start = try #require(parser.date(from: t.run.startedAt)).timeIntervalSince1970
            return (start, start + Double(t.run.durationNs) / 1e9)
        }
        #expect(spans[0].0 < spans[1].1 && spans[1].0 < spans[0].1, "the runs did not overlap: \(spans)")
        #expect(try await run("socket.tcp", params: ["port": .integer(Int64(host.port))]).run.outcome == .ok)
    }

    @Test("a connection left in TIME_WAIT does not follow the namespace into the next run: bind without SO_REUSEADDR succeeds")
    func timeWaitStaysBehind() async throws {
        // The server closes first (it exits while the client still reads): its side of the
        // connection, on port 8083, stays in TIME_WAIT for a minute in that namespace.
        let text = """
        {"channels": [{"name": "t", "kind": "tcp", "port": 8083}],
         "processes": [
           {"name": "server", "steps": [{"op": "socket", "channel": "t"}, {"op": "bind", "channel": "t"}, {"op": "listen", "channel": "t"},
                                        {"op": "accept", "channel": "t"}, {"op": "send", "channel": "t", "data": "bye"},
                                        {"op": "shutdown", "channel": "t", "how": "both"}, {"op": "wait", "process": "client"}]},
           {"name": "client", "steps": [{"op": "socket", "channel": "t"}, {"op": "wait_ready", "channel": "t"}, {"op": "connect", "channel": "t"},
                                        {"op": "recv", "channel": "t", "size": 16, "until_eof": true}, {"op": "sleep", "ms": 20}]}]}
        """
        for round in 1...3 {
            let trace = try await run(scenario: text, wallMs: 2000)
            #expect(trace.run.outcome == .ok, "round \(round): \(describe(trace))")
            #expect(trace.calls(.sockets(.bind)).first?.result == 0, "round \(round): \(describe(trace))")
            #expect(trace.socketReceives(on: "t", by: "client").first?.movedText == "bye")
        }
    }
}

/// A listening TCP socket of the test process on the host's 127.0.0.1, on a port the kernel picks.
final class HostListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && listen(fd, 8) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else { close(fd); throw SystemError("bind/listen") }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

struct SystemError: Error {
    var call: String
    init(_ call: String) { self.call = call }
}
