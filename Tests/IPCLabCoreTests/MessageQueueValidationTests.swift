import IPCLabCore
import Testing

/// The message-queue part of the scenario language: `message_queue` channels (System V and
/// POSIX), `send` with a type or a priority, `receive`, `mq_notify`, `open_queue`, `remove_queue`.
@Suite("Message queues: validation")
struct MessageQueueValidationTests {
    static let sysv = #"{"name": "q", "kind": "message_queue", "api": "sysv"}"#
    static let posix = #"{"name": "q", "kind": "message_queue", "api": "posix"}"#

    func scenario(_ channel: String = sysv, parent: [String], child: [String] = []) -> String {
        scenarioText(channels: [channel], parent: parent, child: child)
    }

    @Test("the course's session decodes: a System V queue with key 1234, sends typed 5, a receive until \"end\"")
    func seedSession() throws {
        let s = try decodeScenario(scenario(
            parent: [#"{"op": "receive", "channel": "q", "size": 128, "type": 5, "until": "end"}"#, #"{"op": "remove_queue", "channel": "q"}"#],
            child: [#"{"op": "open_queue", "channel": "q"}"#, #"{"op": "send", "channel": "q", "data": "this", "type": 5}"#]))
        #expect(s.channels == [.sysvQueue("q", key: 1234)])
        #expect(s.processes[0].steps == [.receive(channel: "q", size: 128, type: 5, until: "end"), .removeQueue(channel: "q")])
        #expect(s.processes[1].steps == [.openQueue(channel: "q"), .send(channel: "q", data: .text("this"), type: 5)])
        // The JSON reads back to the same scenario.
        var w = JSONWriter()
        w.value(s.json)
        #expect(try Scenario.decode(try JSONValue.parse(w.bytes)) == s)
    }

    @Test("a POSIX queue gets /NAME, 10 messages of 128 bytes, and raises msg_max unless told not to")
    func posixDefaults() throws {
        let s = try decodeScenario(scenario(Self.posix, parent: [#"{"op": "send", "channel": "q", "size": 3, "priority": 7, "repeat": 2, "nonblocking": true}"#]))
        #expect(s.channels[0].spec == .messageQueue(.posix(name: "/q", maxMessages: 10, messageSize: 128, raiseMsgMax: true)))
        #expect(s.processes[0].steps == [.send(channel: "q", data: .size(3), repeat: 2, priority: 7, nonblocking: true)])
        let custom = try decodeScenario(scenario(
            #"{"name": "q", "kind": "message_queue", "api": "posix", "mq_name": "/lab-q_1", "max_messages": 50, "message_size": 64, "raise_msg_max": false}"#,
            parent: []))
        #expect(custom.channels[0].spec == .messageQueue(.posix(name: "/lab-q_1", maxMessages: 50, messageSize: 64, raiseMsgMax: false)))
    }

    @Test("bad queue channels are named by their field", arguments: [
        (#"{"name": "q", "kind": "message_queue"}"#, "api"),
        (#"{"name": "q", "kind": "message_queue", "api": "mach"}"#, "api"),
        (#"{"name": "q", "kind": "message_queue", "api": "sysv", "key": 0}"#, "key"),
        (#"{"name": "q", "kind": "message_queue", "api": "sysv", "key": 2147483648}"#, "key"),
        (#"{"name": "q", "kind": "message_queue", "api": "sysv", "mq_name": "/q"}"#, "mq_name"),
        (#"{"name": "q", "kind": "message_queue", "api": "sysv", "max_messages": 5}"#, "max_messages"),
        (#"{"name": "q", "kind": "message_queue", "api": "posix", "key": 5}"#, "key"),
        (#"{"name": "q", "kind": "message_queue", "api": "posix", "mq_name": "q"}"#, "mq_name"),
        (#"{"name": "q", "kind": "message_queue", "api": "posix", "mq_name": "/a/b"}"#, "mq_name"),
        (#"{"name": "q", "kind": "message_queue", "api": "posix", "mq_name": "/"}"#, "mq_name"),
        (#"{"name": "q", "kind": "message_queue", "api": "posix", "max_messages": 0}"#, "max_messages"),
        (#"{"name": "q", "kind": "message_queue", "api": "posix", "max_messages": 1001}"#, "max_messages"),
        (#"{"name": "q", "kind": "message_queue", "api": "posix", "message_size": 8193}"#, "message_size"),
        (#"{"name": "q", "kind": "message_queue", "api": "posix", "max_messages": 1000, "message_size": 8192}"#, "max_messages"),
        (#"{"name": "q", "kind": "message_queue", "api": "posix", "depth": 3}"#, "depth"),
    ])
    func badChannels(_ channel: String, _ field: String) {
        guard let error = labError({ try decodeScenario(scenario(channel, parent: [])) }) else {
            Issue.record("\(channel) was accepted")
            return
        }
        #expect(error.path == "scenario.channels[0].\(field)", "\(error)")
        #expect(error.code == (field == "depth" ? .unknownField : .invalidScenario))
    }

    @Test("the queue's memory is checked against what a run may hold: 1000 × 108 bytes fits, 1000 × 109 does not")
    func memoryBound() throws {
        _ = try decodeScenario(scenario(#"{"name": "q", "kind": "message_queue", "api": "posix", "max_messages": 1000, "message_size": 108}"#, parent: []))
        expectLabError(.invalidScenario, path: "scenario.channels[0].max_messages", message: "RLIMIT_MSGQUEUE") {
            try decodeScenario(scenario(#"{"name": "q", "kind": "message_queue", "api": "posix", "max_messages": 1000, "message_size": 109}"#, parent: []))
        }
    }

    @Test("a type goes with System V, a priority with POSIX; each is rejected on the other", arguments: [
        (sysv, #"{"op": "send", "channel": "q", "data": "x", "priority": 1}"#, "priority"),
        (posix, #"{"op": "send", "channel": "q", "data": "x", "type": 1}"#, "type"),
        (posix, #"{"op": "receive", "channel": "q", "type": 5}"#, "type"),
        (posix, #"{"op": "receive", "channel": "q", "truncate": true}"#, "truncate"),
        (sysv, #"{"op": "mq_notify", "channel": "q"}"#, "channel"),
        (sysv, #"{"op": "send", "channel": "q", "data": "x", "call": "write"}"#, "call"),
    ])
    func wrongAPI(_ channel: String, _ step: String, _ field: String) {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].\(field)") {
            try decodeScenario(scenario(channel, parent: [step]))
        }
    }

    @Test("bad queue steps are named by their field", arguments: [
        (#"{"op": "send", "channel": "q", "data": "x", "type": 0}"#, "type"),
        (#"{"op": "send", "channel": "q", "data": "x", "type": -5}"#, "type"),
        (#"{"op": "send", "channel": "q"}"#, "data"),
        (#"{"op": "send", "channel": "q", "data": "x", "size": 3}"#, "size"),
        (#"{"op": "send", "channel": "q", "data": ""}"#, "data"),
        (#"{"op": "receive", "channel": "q", "size": 0}"#, "size"),
        (#"{"op": "receive", "channel": "q", "size": 65537}"#, "size"),
        (#"{"op": "receive", "channel": "q", "type": 2147483648}"#, "type"),
        (#"{"op": "receive", "channel": "q", "until": "end", "repeat": 2}"#, "until"),
        (#"{"op": "receive", "channel": "q", "until": ""}"#, "until"),
        (#"{"op": "receive", "channel": "nope"}"#, "channel"),
        (#"{"op": "remove_queue"}"#, "channel"),
    ])
    func badSteps(_ step: String, _ field: String) {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].\(field)") {
            try decodeScenario(scenario(parent: [step]))
        }
    }

    @Test("mq_notify takes a catchable signal; SIGKILL and unknown names are rejected")
    func notifySignal() throws {
        let s = try decodeScenario(scenario(Self.posix, parent: [#"{"op": "mq_notify", "channel": "q", "signal": "SIGUSR2"}"#, #"{"op": "mq_notify", "channel": "q"}"#]))
        #expect(s.processes[0].steps == [.mqNotify(channel: "q", signal: .sigusr2), .mqNotify(channel: "q", signal: .sigusr1)])
        for bad in ["\"SIGKILL\"", "19", "\"SIGNOPE\""] {
            expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].signal") {
                try decodeScenario(scenario(Self.posix, parent: [#"{"op": "mq_notify", "channel": "q", "signal": \#(bad)}"#]))
            }
        }
    }

    @Test("queue steps refuse other channels, and point a socket's user to recv; send refuses a pipe")
    func wrongChannels() {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].channel", message: "use recv") {
            try decodeScenario(scenarioText(channels: [#"{"name": "s", "kind": "socketpair"}"#], parent: [#"{"op": "receive", "channel": "s"}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].channel", message: "use write") {
            try decodeScenario(scenarioText(parent: [#"{"op": "send", "channel": "p", "data": "x"}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].channel", message: "message_queue") {
            try decodeScenario(scenarioText(parent: [#"{"op": "open_queue", "channel": "p"}"#]))
        }
    }

    // MARK: Preset parameters

    @Test("mq.sysv: the messages must hold an \"end\"; types are one, or one per message")
    func sysvParameters() throws {
        _ = try RunRequest.preset("mq.sysv", params: ["messages": "a b end", "types": [1, 2, 3], "msgtyp": -2])
        expectLabError(.invalidParameter, path: "params.messages", message: "end") {
            try RunRequest.preset("mq.sysv", params: ["messages": "a b c"])
        }
        expectLabError(.invalidParameter, path: "params.types") {
            try RunRequest.preset("mq.sysv", params: ["messages": "a b end", "types": [1, 2]])
        }
        expectLabError(.invalidParameter, path: "params.msgtyp") {
            try RunRequest.preset("mq.sysv", params: ["msgtyp": 1001])
        }
        expectLabError(.invalidParameter, path: "params.messages", message: "128") {
            try RunRequest.preset("mq.sysv", params: ["messages": .string(String(repeating: "x", count: 129) + " end")])
        }
    }

    @Test("mq.sysv's scenario is the seed's: four sends of type 5, a receive of type 5 until \"end\", IPC_RMID")
    func sysvScenario() throws {
        let r = try RunRequest.preset("mq.sysv", params: nil)
        #expect(r.scenario.processes.map(\.name) == ["receiver", "sender"])
        #expect(r.scenario.processes[1].steps.filter { $0.op == "send" }.count == 4)
        #expect(r.scenario.processes[0].steps.first == .receive(channel: "q", size: 128, type: 5, until: "end"))
    }

    @Test("mq.posix, mq.full, mq.boundaries check what must fit")
    func fitting() throws {
        expectLabError(.invalidParameter, path: "params.messages", message: "do not fit") {
            try RunRequest.preset("mq.posix", params: ["messages": "a b c d e f", "priorities": [1], "max_messages": 5])
        }
        expectLabError(.invalidParameter, path: "params.priorities") {
            try RunRequest.preset("mq.posix", params: ["messages": "a b", "priorities": [1, 2, 3]])
        }
        expectLabError(.invalidParameter, path: "params.max_messages", message: "RLIMIT_MSGQUEUE") {
            try RunRequest.preset("mq.full", params: ["max_messages": 1000, "message_size": 8192])
        }
        expectLabError(.invalidParameter, path: "params.write_sizes", message: "16384") {
            try RunRequest.preset("mq.boundaries", params: ["write_sizes": [8192, 8192, 1]])
        }
        expectLabError(.invalidParameter, path: "params.signal") {
            try RunRequest.preset("mq.notify", params: ["signal": "SIGKILL"])
        }
        let full = try RunRequest.preset("mq.full", params: ["max_messages": 50, "raise_msg_max": false])
        #expect(full.scenario.channels[0].spec == .messageQueue(.posix(name: "/q", maxMessages: 50, messageSize: 64, raiseMsgMax: false)))
    }
}
