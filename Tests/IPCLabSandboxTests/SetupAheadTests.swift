import CIPCLab
import IPCLabCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import IPCLabSandbox

@Suite("The one record of a ready init's operations done ahead (SetupAhead)")
struct SetupAheadTests {
    private static func record(process: Int = -1, call: String = SetupAhead.call, _ a: Int64, _ b: Int64 = 0, _ c: Int64 = 0, _ d: Int64 = 0, _ e: Int64 = 0,
                               _ f: Int64 = 0, _ g: Int64 = 0, _ h: Int64 = 0) -> RawRecord {
        RawRecord(index: 0, done: true, kind: IPCLAB_REC_SETUP, process: process, pid: 1, step: nil, tBegin: 1234, tEnd: 1234,
                  result: 0, err: 0, payloadLength: 0, args: RecordArgs((a, b, c, d, e, f, g, h)), call: call, payload: [])
    }

    private static func list(_ ops: [SandboxReport.Operation]) -> [String] {
        ops.map { "\($0.op) \($0.result) \($0.errno ?? "-") \($0.tNs)" }
    }

    @Test("the table is the C runner's, and the bits name its operations in its order, failures with their errnos")
    func expands() {
        #expect(SetupAhead.names.count == 12)
        #expect(SetupAhead.names.first == "setresgid 0 (userns)" && SetupAhead.names.last == "loopback up")
        // Done: make / private (3), make / read-only (4), mount proc /proc (7); failed: 4 (EPERM), 7 (ENOENT).
        let ops = SetupAhead.operations(Self.record(0b1001_1000, 0b1001_0000, Int64(EPERM), Int64(ENOENT)))
        #expect(Self.list(ops) == ["make / private 0 - 1234", "make / read-only -1 EPERM 1234", "mount proc /proc -1 ENOENT 1234"])
    }

    @Test("hostile bits and errnos: names past the table, failures not done, errnos missing or out of range give no more than the table")
    func hostile() {
        // Every bit set, every failure bit, errnos past 4095 and negative.
        let all = SetupAhead.operations(Self.record(-1, -1, 1 << 40, -5, 4096, 0, Int64.min, Int64.max))
        #expect(all.count == 12, "one per name of the table, no more")
        #expect(all.allSatisfy { $0.result == -1 && $0.errno == nil }, "\(Self.list(all))")
        // A failure bit without its operation's: ignored.
        #expect(Self.list(SetupAhead.operations(Self.record(0b1, 0b10))) == ["setresgid 0 (userns) 0 - 1234"])
        #expect(SetupAhead.operations(Self.record(0)).isEmpty)
    }

    @Test("only the first compact record, the init's, is expanded: a forged second one, or one from a run's process, names nothing")
    func onlyTheInitsFirst() {
        let loopback: Int64 = 1 << 11
        let ops = SetupAhead.operations(of: [
            Self.record(process: 0, loopback),                  // a process's: nothing
            Self.record(call: "no_new_privs", 0),               // an ordinary one: itself
            Self.record(loopback),                              // the init's: expanded
            Self.record(-1, -1),                                // a second: nothing (it would be twelve)
        ])
        #expect(Self.list(ops) == ["no_new_privs 0 - 1234", "loopback up 0 - 1234"])
    }
}
