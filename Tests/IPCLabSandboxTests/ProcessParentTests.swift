import CIPCLab
import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// A process's `parent` in the trace: the process whose fork returned its pid, by that process's own
/// record; the pid the process read with getppid as it began only where no fork names it (a child
/// that begins after its parent ended reads the run's init: CI saw a hostile run's attacker so).
@Suite("Process parents")
struct ProcessParentTests {
    private static func build(_ ring: EventRing, _ request: RunRequest) -> Trace {
        LabRunner.trace(of: ring, request: request, runID: "0", startedAt: "2026-01-01T00:00:00.000Z", failure: nil)
    }

    @Test("a child whose getppid read the init (its parent had ended) still has the process that forked it")
    func forkNamesTheParent() throws {
        let request = try RunRequest.decode(Array(#"{"experiment":"pipe.hello"}"#.utf8))
        let (trace, ring) = try Lab.shared().runKeepingRing(request)
        #expect(trace.processes.map(\.parent) == [nil, "parent"], "\(trace.processes)")

        // As if the child had begun after its parent ended: its start record says the init (pid 1).
        let orphaned = try EventRing(copyOf: ring)
        let childStart = try #require((0..<orphaned.count).first {
            let r = orphaned.record($0).pointee
            return r.kind == UInt16(IPCLAB_REC_START.rawValue) && r.process == 1
        })
        orphaned.record(childStart).pointee.args.0 = 1
        #expect(Self.build(orphaned, request).processes.map(\.parent) == [nil, "parent"])

        // Without the fork's record, the child's own word is all there is: no parent among the run's processes.
        let forkless = try EventRing(copyOf: orphaned)
        for i in 0..<forkless.count where forkless.record(i).pointee.kind == UInt16(IPCLAB_REC_EVENT.rawValue) {
            let call = withUnsafeBytes(of: forkless.record(i).pointee.call) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if call == "fork" { forkless.record(i).pointee.result = -1 }
        }
        #expect(Self.build(forkless, request).processes.map(\.parent) == [nil, nil])
    }
}
