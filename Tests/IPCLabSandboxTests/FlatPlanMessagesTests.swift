import CIPCLab
import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// The flat plan of message queues, sockets and `send` (ipclab_plan.h's cmsg block): every channel
/// variant and every op reads back field for field, optional fields stay told apart from their defaults,
/// and a socket channel sets the header's IPCLAB_PLAN_HAS_SOCKET.
@Suite("Flat plan: send, message queues, sockets")
struct FlatPlanMessagesTests {
    static let everyOp = """
        {"channels": [
           {"name": "sq", "kind": "message_queue", "api": "sysv", "key": 77},
           {"name": "pq", "kind": "message_queue", "api": "posix", "max_messages": 20, "message_size": 256, "raise_msg_max": false},
           {"name": "dq", "kind": "message_queue", "api": "posix"},
           {"name": "t", "kind": "tcp", "address": "127.0.0.1", "port": 9000},
           {"name": "u", "kind": "udp", "address": "10.1.2.3", "port": 9001},
           {"name": "us", "kind": "unix_stream"},
           {"name": "ud", "kind": "unix_dgram", "path": "/tmp/x.sock"},
           {"name": "ps", "kind": "socketpair"},
           {"name": "pd", "kind": "socketpair", "type": "dgram"},
           {"name": "pp", "kind": "socketpair", "type": "seqpacket"}],
         "processes": [
          {"name": "queues", "steps": [
            {"op": "send", "channel": "sq", "data": "hello"},
            {"op": "send", "channel": "sq", "size": 100, "repeat": 3, "type": 7, "nonblocking": true},
            {"op": "send", "channel": "pq", "data": "p", "priority": 0},
            {"op": "send", "channel": "pq", "data": "p", "priority": 31},
            {"op": "receive", "channel": "sq"},
            {"op": "receive", "channel": "sq", "size": 10, "type": 0, "repeat": 4, "nonblocking": true, "truncate": true},
            {"op": "receive", "channel": "sq", "type": -5, "until": "end"},
            {"op": "receive", "channel": "pq", "size": 256},
            {"op": "mq_notify", "channel": "pq"}, {"op": "mq_notify", "channel": "dq", "signal": "SIGRTMIN+2"},
            {"op": "open_queue", "channel": "sq"}, {"op": "open_queue", "channel": "pq"},
            {"op": "remove_queue", "channel": "sq"}, {"op": "remove_queue", "channel": "dq"}]},
          {"name": "sockets", "steps": [
            {"op": "socket", "channel": "t"}, {"op": "setsockopt", "channel": "t", "option": "SO_REUSEADDR"},
            {"op": "setsockopt", "channel": "t", "option": "SO_RCVTIMEO", "value": 250},
            {"op": "getsockopt", "channel": "t", "option": "SO_ERROR"}, {"op": "getsockopt", "channel": "t", "option": "TCP_NODELAY"},
            {"op": "bind", "channel": "t"}, {"op": "listen", "channel": "t"}, {"op": "listen", "channel": "us", "backlog": 0},
            {"op": "accept", "channel": "t"}, {"op": "connect", "channel": "u"}, {"op": "wait_ready", "channel": "ud"},
            {"op": "recv", "channel": "t", "size": 5}, {"op": "recv", "channel": "t", "size": 5, "repeat": 2, "nonblocking": true},
            {"op": "recv", "channel": "ps", "size": 9, "until_eof": true, "call": "read"},
            {"op": "shutdown", "channel": "t", "how": "read"}, {"op": "shutdown", "channel": "ps", "how": "write"},
            {"op": "shutdown", "channel": "pd", "how": "both"},
            {"op": "send_until_full", "channel": "pp"}, {"op": "send_until_full", "channel": "ps", "size": 100, "nonblocking": true},
            {"op": "send_fd", "channel": "us", "path": "/tmp/f", "data": "inside"},
            {"op": "send_fd", "channel": "ps", "path": "/tmp/g", "data": "x", "attach": false, "close": false},
            {"op": "recv_fd", "channel": "ud"}, {"op": "recv_fd", "channel": "ps", "size": 3},
            {"op": "send", "channel": "t", "data": "a"}, {"op": "send", "channel": "t", "data": "a", "call": "send"},
            {"op": "send", "channel": "u", "size": 4, "call": "write", "nonblocking": true},
            {"op": "loop", "times": 2, "do": [{"op": "send", "channel": "ps", "data": "n {i}"}]}]}]}
        """

    @Test("Every op and channel variant reads back field for field; the header says a socket channel is there")
    func everyOpRoundTrips() throws {
        let scenario = try Scenario.decode(try JSONValue.parse(Array(Self.everyOp.utf8)))
        let plan = try FlatPlanTests.roundTrip(scenario)
        #expect(plan.flags == UInt16(IPCLAB_PLAN_HAS_SOCKET))
        #expect(plan.scenario.processes[1].steps.count == 28)
        // The options are numbered as CIPCLab numbers them.
        let bytes = try #require(FlatPlan.compile(scenario, schedule: nil))
        let d = FlatPlanDecoder(bytes: bytes)
        let sockets = Int(d.u32(24)) + 14 * 64
        #expect(d.u16(sockets + 64) == 0x0802 && d.i64(sockets + 64 + 24) == Int64(IPCLAB_SO_REUSEADDR.rawValue))
        #expect(d.i64(sockets + 128 + 24) == Int64(IPCLAB_SO_RCVTIMEO.rawValue) && d.i64(sockets + 128 + 32) == 250)
        #expect(d.i64(sockets + 256 + 24) == Int64(IPCLAB_TCP_NODELAY.rawValue))
    }

    @Test("Queues alone set no header flag; a queue scenario and a socketpair preset round-trip")
    func flags() throws {
        for id in ["mq.sysv", "mq.posix", "socket.socketpair"] {
            let preset = try #require(Catalog.standard.preset(id))
            let plan = try FlatPlanTests.roundTrip(FlatPlanTests.presetScenario(preset))
            #expect(plan.flags == (id.hasPrefix("socket") ? 1 : 0), "\(id)")
        }
    }
}
