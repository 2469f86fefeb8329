import IPCLabCore
import Testing

/// The socket part of the scenario language: `tcp`, `udp`, `unix_stream`, `unix_dgram` and
/// `socketpair` channels, and the steps that make, connect and use sockets.
@Suite("Sockets: validation")
struct SocketValidationTests {
    func scenario(_ channels: [String], parent: [String], child: [String] = []) -> String {
        scenarioText(channels: channels, parent: parent, child: child)
    }

    @Test("the course's server and client decode, with 127.0.0.1:8080 by default")
    func seedServerClient() throws {
        let s = try decodeScenario(scenario(
            [#"{"name": "s", "kind": "tcp"}"#],
            parent: [#"{"op": "socket", "channel": "s"}"#, #"{"op": "setsockopt", "channel": "s", "option": "SO_REUSEADDR"}"#,
                     #"{"op": "bind", "channel": "s"}"#, #"{"op": "listen", "channel": "s"}"#, #"{"op": "accept", "channel": "s"}"#,
                     #"{"op": "recv", "channel": "s", "size": 1024, "call": "read"}"#, #"{"op": "send", "channel": "s", "data": "Hello from server"}"#],
            child: [#"{"op": "socket", "channel": "s"}"#, #"{"op": "wait_ready", "channel": "s"}"#, #"{"op": "connect", "channel": "s"}"#,
                    #"{"op": "send", "channel": "s", "data": "Hello from client", "call": "write"}"#, #"{"op": "shutdown", "channel": "s", "how": "write"}"#]))
        #expect(s.channels == [.tcp("s", address: .loopback, port: 8080)])
        #expect(s.processes[0].steps == [
            .socket(channel: "s"), .setsockopt(channel: "s", .reuseAddress, value: 1), .bind(channel: "s"), .listen(channel: "s", backlog: 3),
            .accept(channel: "s"), .recv(channel: "s", size: 1024, call: .read), .send(channel: "s", data: .text("Hello from server")),
        ])
        #expect(s.processes[1].steps.last == .shutdown(channel: "s", .write))
        var w = JSONWriter()
        w.value(s.json)
        #expect(try Scenario.decode(try JSONValue.parse(w.bytes)) == s)
    }

    @Test("socket channels and their defaults", arguments: [
        (#"{"name": "u", "kind": "udp", "address": "0.0.0.0", "port": 9000}"#, Channel.udp("u", address: .any, port: 9000)),
        (#"{"name": "s", "kind": "unix_stream"}"#, Channel.unixStream("s", path: "/tmp/s.sock")),
        (#"{"name": "d", "kind": "unix_dgram", "path": "/tmp/d"}"#, Channel.unixDgram("d", path: "/tmp/d")),
        (#"{"name": "sv", "kind": "socketpair"}"#, Channel.socketpair("sv", type: .stream)),
        (#"{"name": "sv", "kind": "socketpair", "type": "seqpacket"}"#, Channel.socketpair("sv", type: .seqpacket)),
        (#"{"name": "t", "kind": "tcp", "address": "10.1.2.3", "port": 65535}"#, Channel.tcp("t", address: IPv4Address("10.1.2.3")!, port: 65535)),
    ])
    func channels(_ text: String, _ expected: Channel) throws {
        #expect(try decodeScenario(scenario([text], parent: [])).channels == [expected])
    }

    @Test("bad socket channels are named by their field", arguments: [
        (#"{"name": "t", "kind": "tcp", "port": 80}"#, "port"),
        (#"{"name": "t", "kind": "tcp", "port": 65536}"#, "port"),
        (#"{"name": "t", "kind": "tcp", "address": "256.0.0.1"}"#, "address"),
        (#"{"name": "t", "kind": "tcp", "address": "01.2.3.4"}"#, "address"),
        (#"{"name": "t", "kind": "tcp", "address": "localhost"}"#, "address"),
        (#"{"name": "t", "kind": "udp", "address": "1.2.3"}"#, "address"),
        (#"{"name": "s", "kind": "unix_stream", "path": "/etc/s.sock"}"#, "path"),
        (#"{"name": "s", "kind": "unix_dgram", "path": "/tmp/../s"}"#, "path"),
        (#"{"name": "sv", "kind": "socketpair", "type": "raw"}"#, "type"),
        (#"{"name": "t", "kind": "tcp", "path": "/tmp/t"}"#, "path"),
    ])
    func badChannels(_ channel: String, _ field: String) {
        guard let error = labError({ try decodeScenario(scenario([channel], parent: [])) }) else {
            Issue.record("\(channel) was accepted")
            return
        }
        #expect(error.path == "scenario.channels[0].\(field)", "\(error)")
    }

    @Test("steps that make no sense on a kind of socket are refused", arguments: [
        (#"{"name": "sv", "kind": "socketpair"}"#, #"{"op": "socket", "channel": "sv"}"#, "channel"),
        (#"{"name": "sv", "kind": "socketpair"}"#, #"{"op": "connect", "channel": "sv"}"#, "channel"),
        (#"{"name": "u", "kind": "udp"}"#, #"{"op": "listen", "channel": "u"}"#, "channel"),
        (#"{"name": "d", "kind": "unix_dgram"}"#, #"{"op": "accept", "channel": "d"}"#, "channel"),
        (#"{"name": "t", "kind": "tcp"}"#, #"{"op": "send_fd", "channel": "t", "path": "/tmp/f", "data": "x"}"#, "channel"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "setsockopt", "channel": "s", "option": "TCP_NODELAY"}"#, "option"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "setsockopt", "channel": "s", "option": "SO_TYPE"}"#, "option"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "setsockopt", "channel": "s", "option": "SO_NOPE"}"#, "option"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "setsockopt", "channel": "s", "option": "SO_SNDBUF", "value": -1}"#, "value"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "listen", "channel": "s", "backlog": 4097}"#, "backlog"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "recv", "channel": "s"}"#, "size"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "recv", "channel": "s", "size": 4, "repeat": 2, "until_eof": true}"#, "until_eof"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "recv", "channel": "s", "size": 4, "call": "recvmsg"}"#, "call"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "shutdown", "channel": "s"}"#, "how"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "send", "channel": "s", "data": "x", "type": 1}"#, "type"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "send", "channel": "s", "data": "x", "priority": 1}"#, "priority"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "send_fd", "channel": "s", "path": "/etc/passwd", "data": "x"}"#, "path"),
        (#"{"name": "s", "kind": "unix_stream"}"#, #"{"op": "send_until_full", "channel": "s", "size": 0}"#, "size"),
    ])
    func badSteps(_ channel: String, _ step: String, _ field: String) {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].\(field)") {
            try decodeScenario(scenario([channel], parent: [step]))
        }
    }

    @Test("socket steps refuse other channels, and point a queue's user to receive")
    func wrongChannels() {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].channel", message: "use receive") {
            try decodeScenario(scenario([#"{"name": "q", "kind": "message_queue", "api": "sysv"}"#], parent: [#"{"op": "recv", "channel": "q", "size": 4}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].channel", message: "socket channel") {
            try decodeScenario(scenarioText(parent: [#"{"op": "bind", "channel": "p"}"#]))
        }
    }

    @Test("every socket step reads back from its JSON")
    func roundTrip() throws {
        let steps = [
            #"{"op": "getsockopt", "channel": "s", "option": "SO_RCVBUF"}"#, #"{"op": "setsockopt", "channel": "s", "option": "SO_RCVTIMEO", "value": 250}"#,
            #"{"op": "recv", "channel": "s", "size": 8, "until_eof": true, "nonblocking": true}"#, #"{"op": "recv", "channel": "s", "size": 8, "repeat": 3}"#,
            #"{"op": "send_until_full", "channel": "s", "nonblocking": true}"#, #"{"op": "send_fd", "channel": "s", "path": "/tmp/f", "data": "x", "attach": false}"#,
            #"{"op": "recv_fd", "channel": "s"}"#, #"{"op": "send", "channel": "s", "size": 100, "repeat": 4, "nonblocking": true}"#,
        ]
        let s = try decodeScenario(scenario([#"{"name": "s", "kind": "unix_stream"}"#], parent: steps))
        #expect(s.processes[0].steps[4] == .sendUntilFull(channel: "s", size: 4096, nonblocking: true))
        #expect(s.processes[0].steps[5] == .sendFD(channel: "s", path: "/tmp/f", data: "x", attach: false, close: true))
        var w = JSONWriter()
        w.value(s.json)
        #expect(try Scenario.decode(try JSONValue.parse(w.bytes)) == s)
    }

    @Test("two unix sockets at one path are one address: refused")
    func samePath() {
        expectLabError(.invalidScenario, path: "scenario.channels[1].path") {
            try decodeScenario(scenario([#"{"name": "a", "kind": "unix_stream", "path": "/tmp/x"}"#, #"{"name": "b", "kind": "unix_dgram", "path": "/tmp/x"}"#], parent: []))
        }
    }

    // MARK: Preset parameters

    @Test("socket presets: ports and types are bounded, sizes must fit")
    func presetParameters() throws {
        expectLabError(.invalidParameter, path: "params.port") { try RunRequest.preset("socket.tcp", params: ["port": 80]) }
        expectLabError(.invalidParameter, path: "params.connect_port") { try RunRequest.preset("socket.tcp", params: ["connect_port": 70000]) }
        expectLabError(.invalidParameter, path: "params.type") { try RunRequest.preset("socket.socketpair", params: ["type": "raw"]) }
        expectLabError(.invalidParameter, path: "params.write_sizes") { try RunRequest.preset("socket.unix_stream", params: ["write_sizes": [65536, 1]]) }
        expectLabError(.invalidParameter, path: "params.write_sizes") { try RunRequest.preset("socket.unix_dgram", params: ["write_sizes": .array(Array(repeating: 1, count: 11))]) }
        expectLabError(.invalidParameter, path: "params.messages") { try RunRequest.preset("socket.udp", params: ["messages": "1 2 3 4 5 6 7 8 9 10 11"]) }
        expectLabError(.invalidParameter, path: "params.sndbuf") { try RunRequest.preset("socket.buffer", params: ["sndbuf": 100]) }
        let tcp = try RunRequest.preset("socket.tcp", params: ["port": 9090, "connect_port": 9091, "reuse_address": false])
        #expect(tcp.scenario.channels == [.tcp("server", port: 9090), .tcp("elsewhere", port: 9091)])
        #expect(!tcp.scenario.processes[0].steps.contains { $0.op == "setsockopt" })
        let pair = try RunRequest.preset("socket.socketpair", params: ["type": "dgram", "rounds": 3])
        #expect(pair.scenario.channels == [.socketpair("sv", type: .dgram)])
        #expect(pair.scenario.processes[0].steps.count == 7)
    }
}
