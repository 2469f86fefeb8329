import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// Naming a program's stream connections (`sock1`…), from events the run could have forged.
@Suite("Program connections")
struct ProgramConnectionsTests {
    static func e(_ seq: Int, _ process: String, _ call: String, _ args: [(String, JSONValue)], result: Int64) -> TraceEvent {
        TraceEvent(seq: seq, tNs: Int64(seq) * 1000, endNs: Int64(seq) * 1000 + 10, process: process, pid: Int32(seq), step: nil,
                   call: call, args: args + [("channel", .null)], result: result, errno: nil, canBlock: true, payload: nil)
    }

    /// A server that binds /tmp/s on fd 3 and accepts fd 4; a client that connects fd 5, writes, and the server reads.
    static func connection(from seq: Int, address: String = "/tmp/s") -> [TraceEvent] {
        [e(seq, "server", "bind", [("sockfd", 3), ("addr", .string(address))], result: 0),
         e(seq + 1, "client", "connect", [("sockfd", 5), ("addr", .string(address))], result: 0),
         e(seq + 2, "server", "accept", [("sockfd", 3)], result: 4),
         e(seq + 3, "client", "write", [("fd", 5)], result: 4),
         e(seq + 4, "server", "read", [("fd", 4)], result: 4)]
    }

    static func channels(_ events: [TraceEvent]) -> [JSONValue?] { events.map { $0.arg(.channel) } }

    @Test("one connect and one accept on the bound address: the connect and both ends' reads and writes are sock1")
    func names() {
        var events = Self.connection(from: 1)
        ProgramConnections.name(&events, parents: [:])
        // The accept's own descriptor is the listening socket's: it stays unnamed.
        #expect(Self.channels(events) == [.null, .string("sock1"), .null, .string("sock1"), .string("sock1")])
    }

    @Test("past maxCalls binds (a forged ring can hold thousands): no names, and no quadratic work")
    func boundedWork() {
        var events = Self.connection(from: 1)
        let extra = (0...ProgramConnections.maxCalls).map { i in
            Self.e(100 + i, "server", "bind", [("sockfd", .integer(Int64(10 + i))), ("addr", .string("/tmp/x\(i)"))], result: 0)
        }
        events += extra
        ProgramConnections.name(&events, parents: [:])
        #expect(Self.channels(events).allSatisfy { $0 == .null }, "\(Self.channels(events))")
    }
}
