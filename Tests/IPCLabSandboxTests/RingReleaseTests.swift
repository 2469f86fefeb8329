import CIPCLab
import IPCLabCore
import Testing

@testable import IPCLabSandbox

/// The server frees its memory of a run as it builds the trace (the ring's record pages once read,
/// equal argument arrays shared): the trace must come out the same, value for value.
@Suite("Ring release", .serialized)
struct RingReleaseTests {
    /// Some 600 events in some 30 pages of records: pipe writes and reads (with payloads), repeated.
    static let body = #"""
        {"scenario": {"channels": [{"name": "p", "kind": "pipe"}], "processes": [
          {"name": "reader", "steps": [{"op": "close", "channel": "p", "end": "write"},
                                       {"op": "read", "channel": "p", "size": 5, "repeat": 300}]},
          {"name": "writer", "steps": [{"op": "close", "channel": "p", "end": "read"},
                                       {"op": "write", "channel": "p", "data": "hello", "repeat": 300}]}]},
         "limits": {"wall_ms": 5000}}
        """#

    @Test("a trace built while freeing the ring's records is the trace built from them kept")
    func releasedRingBuildsTheSameTrace() throws {
        let request = try RunRequest.decode(Array(Self.body.utf8))
        let (trace, ring) = try Lab.shared().runKeepingRing(request)
        #expect(trace.run.outcome == .ok, "\(trace.run.reason ?? "")")
        #expect(trace.events.count > 600)
        func build(_ ring: EventRing, releasing: Bool) -> Trace {
            LabRunner.trace(of: ring, request: request, runID: "0", startedAt: "2026-01-01T00:00:00.000Z",
                            failure: nil, releasingRecords: releasing)
        }
        let kept = build(try EventRing(copyOf: ring), releasing: false)
        let copy = try EventRing(copyOf: ring)
        let released = build(copy, releasing: true)
        #expect(released.json() == kept.json())
        #expect(released.text() == kept.text())
        #expect(copy.released == ring.count)
        // A record in a page freed reads as never claimed; the ring kept still holds it.
        let inFreedPage = 100
        guard case .unpublished = copy.copyRecord(inFreedPage, scenario: request.scenario) else {
            Issue.record("record \(inFreedPage) still there after its page was freed")
            return
        }
        guard case .record = ring.copyRecord(inFreedPage, scenario: request.scenario) else {
            Issue.record("record \(inFreedPage) of the ring kept is gone")
            return
        }
        // The header page and the plan stay: a trace built from the freed ring again keeps the run's outcome.
        #expect(build(copy, releasing: true).run.outcome == .ok)
    }

    @Test("equal arguments of a process's calls share one array; others keep their own")
    func argumentsAreShared() {
        func event(_ process: String, _ call: String, _ args: [(String, JSONValue)]) -> TraceEvent {
            TraceEvent(seq: 1, tNs: 0, endNs: 1, process: process, pid: 2, step: 0, call: call, args: args,
                       result: 0, errno: nil, canBlock: false, payload: nil)
        }
        func base(_ e: TraceEvent) -> UnsafeRawPointer? { e.args.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }
        var shared = SharedArguments()
        var first = event("a", "kill", [("pid", .integer(3)), ("signal", .string("SIGUSR1"))])
        var same = event("a", "kill", [("pid", .integer(3)), ("signal", .string("SIGUSR1"))])
        var other = event("a", "kill", [("pid", .integer(3)), ("signal", .string("SIGUSR2"))])
        var elsewhere = event("b", "kill", [("pid", .integer(3)), ("signal", .string("SIGUSR2"))])
        shared.share(&first)
        shared.share(&same)
        shared.share(&other)
        shared.share(&elsewhere)
        #expect(base(same) == base(first))
        #expect(base(other) != base(first))
        #expect(base(elsewhere) != base(other))
        #expect(other.string(.signal) == "SIGUSR2" && same.string(.signal) == "SIGUSR1")
        // An event changed later gets its own copy: the other keeps its value.
        same.args[1].1 = .string("SIGTERM")
        #expect(first.string(.signal) == "SIGUSR1")
    }
}
