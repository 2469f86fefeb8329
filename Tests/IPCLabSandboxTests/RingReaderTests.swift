import CIPCLab
import Foundation
import Glibc
import IPCLabCore
import Synchronization
import Testing

@testable import IPCLabSandbox

/// The incremental reader of a run's ring: unit tests write records into a ring in this
/// process, with the same C recorder the runs use; the last tests follow real runs.
@Suite("Ring reader", .serialized)
struct RingReaderTests {
    /// A ring bound to this process's recorder as participant 0 of `pipe.hello`'s scenario.
    /// The binding is undone at the end (nothing else in the test process records).
    private func withRing(_ body: (EventRing, Scenario) throws -> Void) throws {
        let scenario = try RunRequest.preset("pipe.hello", params: nil).scenario
        let ring = try EventRing(capacity: 1024, planCapacity: 16)
        ipclab_recorder_bind(ring.base, ring.size, 0)
        defer { ipclab_recorder_bind(nil, 0, -1) }
        ipclab_recorder_start_clock()
        try body(ring, scenario)
    }

    private func begin(_ call: String, step: Int32, args: [Int64]) -> UInt32 {
        args.withUnsafeBufferPointer { ipclab_begin(UInt16(IPCLAB_REC_EVENT.rawValue), call, step, $0.baseAddress, Int32($0.count)) }
    }

    private func instant(_ kind: ipclab_record_kind, _ call: String, args: [Int64], result: Int64) {
        _ = args.withUnsafeBufferPointer {
            ipclab_record_now(UInt16(kind.rawValue), call, -1, $0.baseAddress, Int32($0.count), result, 0, nil, 0)
        }
    }

    @Test("a call is handed out once, when it has returned; one still blocked only by the final read")
    func handsOutCompleteCallsOnce() throws {
        try withRing { ring, scenario in
            let reader = RingReader(ring: ring, scenario: scenario)
            #expect(reader.read().isEmpty)

            let read = begin("read", step: 1, args: [3, 6, 0, 0])
            instant(IPCLAB_REC_EVENT, "close", args: [4, 0, 1], result: 0)
            let first = reader.read()
            #expect(first.map(\.call) == ["close"], "the blocked read must wait")
            #expect(first.first?.seq == 1)
            #expect(first.first?.result == 0)
            #expect(reader.read().isEmpty, "nothing new: nothing handed out twice")

            "Hello\0".utf8CString.withUnsafeBytes { ipclab_end(read, 6, 0, $0.baseAddress, 6) }
            let second = reader.read()
            #expect(second.map(\.call) == ["read"])
            #expect(second.first?.seq == 2)
            #expect(second.first?.result == 6)
            #expect(second.first?.payload?.bytes == 6)
            #expect(second.first?.endNs != nil)

            let stuck = begin("wait4", step: 2, args: [3, 0, 1])
            _ = stuck
            #expect(reader.read().isEmpty)
            let last = reader.read(final: true)
            #expect(last.map(\.call) == ["wait4"])
            #expect(last.first?.result == nil, "it never returned")
            #expect(last.first?.returned == false)
            #expect(reader.handedOut == 3)
        }
    }

    @Test("a record claimed but not yet published is looked at again, not skipped")
    func claimedNotPublished() throws {
        try withRing { ring, scenario in
            let reader = RingReader(ring: ring, scenario: scenario)
            // Claim slot 0 as a recorder does (fetch-add on `next`), without publishing it yet.
            ring.header.pointee.next = 1
            instant(IPCLAB_REC_EVENT, "close", args: [4, 0, 1], result: 0)  // slot 1
            #expect(reader.read().map(\.call) == ["close"])

            let r = ring.record(0)
            r.pointee.kind = UInt16(IPCLAB_REC_EVENT.rawValue)
            r.pointee.process = 0
            r.pointee.pid = getpid()  // as a recorder writes it: a record with no pid is out of range
            r.pointee.step = 0
            r.pointee.t_begin = 1
            r.pointee.t_end = 2
            r.pointee.result = 0
            withUnsafeMutableBytes(of: &r.pointee.call) { buf in
                for (i, b) in "pipe".utf8.enumerated() { buf[i] = b }
                buf[4] = 0
            }
            #expect(reader.read().isEmpty, "still FREE: not handed out")
            ipclab_end(0, 0, 0, nil, 0)
            #expect(reader.read().map(\.call) == ["pipe"])
        }
    }

    @Test("signal deliveries are events; start and object records are not")
    func onlyEvents() throws {
        try withRing { ring, scenario in
            let reader = RingReader(ring: ring, scenario: scenario)
            instant(IPCLAB_REC_START, "start", args: [1], result: Int64(getpid()))
            instant(IPCLAB_REC_OBJECT, "pipe", args: [0, 6, 65536, 0], result: 0)
            instant(IPCLAB_REC_SIGNAL, "signal", args: [10, 0, 0, 0], result: 0)
            let events = reader.read()
            #expect(events.map(\.call) == ["signal"])
            #expect(events.first?.process == scenario.processes[0].name)
        }
    }

    @Test("a real run: the events watched while it ran are the trace's events, each once")
    func followsARealRun() async throws {
        let runner = try Lab.shared()
        let body = #"""
            {"scenario": {"channels": [{"name": "p", "kind": "pipe"}], "processes": [
              {"name": "reader", "steps": [{"op": "close", "channel": "p", "end": "write"},
                                           {"op": "read", "channel": "p", "size": 5},
                                           {"op": "read", "channel": "p", "size": 5}]},
              {"name": "writer", "steps": [{"op": "close", "channel": "p", "end": "read"},
                                           {"op": "write", "channel": "p", "data": "hello"},
                                           {"op": "sleep", "ms": 400},
                                           {"op": "write", "channel": "p", "data": "world"}]}]},
             "limits": {"wall_ms": 3000}}
            """#
        let request = try RunRequest.decode(Array(body.utf8))
        let (trace, batches) = try await offThePool { () throws -> (Trace, [(Double, [TraceEvent])]) in
            var batches: [(Double, [TraceEvent])] = []
            let trace = try runner.run(request, pollMs: 10) { events in
                if !events.isEmpty { batches.append((nowMs(), events)) }
                return true
            }
            return (trace, batches)
        }
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        let watched = batches.flatMap(\.1)
        func key(_ e: TraceEvent) -> String {
            var w = JSONWriter()
            w.object { w in for (k, v) in e.args { w.field(k, v) } }
            return "\(e.process) \(e.call) \(String(decoding: w.bytes, as: UTF8.self)) \(e.result.map(String.init) ?? "nil")"
        }
        #expect(watched.map(key).sorted() == trace.events.map(key).sorted())
        #expect(watched.map(\.seq) == Array(1...watched.count))
        // The first write came in a batch well before the last one: it was read while the run went on.
        let firstWrite = try #require(batches.first { $0.1.contains { $0.call == "write" } })
        let lastBatch = try #require(batches.last)
        #expect(lastBatch.0 - firstWrite.0 >= 250, "first write at \(firstWrite.0), last batch at \(lastBatch.0)")
    }

    @Test("a watcher that gives up ends the run at once")
    func cancelKillsTheRun() async throws {
        let runner = try Lab.shared()
        let request = try RunRequest.decode(Array(#"""
            {"scenario": {"processes": [{"name": "sleeper", "steps": [{"op": "sleep", "ms": 4000}]}]},
             "limits": {"wall_ms": 6000}}
            """#.utf8))
        let started = nowMs()
        let trace = try await offThePool {
            try runner.run(request, pollMs: 10) { _ in nowMs() - started < 200 }
        }
        let elapsed = nowMs() - started
        #expect(elapsed < 2000, "the run went on for \(elapsed) ms")
        #expect(trace.run.outcome == .error)
        #expect(trace.run.reason?.contains("no one was listening") == true, "\(trace.run.reason ?? "-")")
        #expect(trace.calls("nanosleep", by: "sleeper").first?.returned == false, "\(describe(trace))")
    }
}
