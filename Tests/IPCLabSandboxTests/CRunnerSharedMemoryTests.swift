import CIPCLab
import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// Shared memory and semaphores on the C runner: issue #12 item 2's attacks (HostileSharedMemoryRunTests, on
/// the Swift runner) hold there too, and its validator refuses every offset, size or index a step could take
/// out of its region (runner_plan_shm.c), each field broken alone.
@Suite("C runner: shared memory and semaphores", .serialized)
struct CRunnerSharedMemoryTests {
    /// `scenario` compiled as the server compiles it, run on the C runner.
    static func runOnC(_ scenario: String, wallMs: Int = 2000) async throws -> CLab.Run {
        let request = try RunRequest.decode(Array(#"{"scenario": \#(scenario)}"#.utf8))
        let plan = try FlatPlan.build(request.scenario, schedule: nil).get()
        return try await CLab.run(plan: plan, scenario: scenario, wallMs: wallMs)
    }

    @Test("a barrier whose arrival count was overwritten fails with EPROTO on the C runner, showing the arrival read",
          arguments: [Int64(512), 1 << 40, -3, -(1 << 50), 9_007_199_254_740_991])
    func barrierRefusesHostileArrival(arrived: Int64) async throws {
        let trace = try await Self.runOnC(HostileSharedMemoryRunTests.barrierAttack(arrived)).trace
        let barrier = try #require(trace.calls(.sharedMemory(.barrier), by: "p").first, "\(describe(trace))")
        #expect(barrier.result == -1)
        #expect(barrier.errno == "EPROTO")
        #expect(barrier.int(.arrival) == arrived &+ 1)
        #expect(trace.processes.first?.exit == .code(0), "\(describe(trace))")
        #expect(trace.run.outcome == .ok)
    }

    @Test("a barrier left alone works on the C runner: two processes meet, arrivals 1 and 2, pinned apart with spread")
    func barrierUntouched() async throws {
        let trace = try await Self.runOnC(#"""
            {"channels": [{"name": "bar", "kind": "shared_memory", "type": "anonymous", "size": 4096}],
             "processes": [{"name": "a", "steps": [{"op": "barrier", "channel": "bar", "offset": 64, "count": 2, "spread": true}]},
                           {"name": "b", "steps": [{"op": "barrier", "channel": "bar", "offset": 64, "count": 2, "spread": true}]}]}
            """#).trace
        let results = trace.events.filter { $0.call == "barrier" }.compactMap(\.result).sorted()
        #expect(results == [1, 2], "\(describe(trace))")
        let pinned = trace.events.filter { $0.call == "sched_setaffinity" }
        #expect(pinned.count == 2 && pinned.allSatisfy { $0.result == 0 }, "\(describe(trace))")
    }

    @Test("a pointer another process stored is only handed to process_vm_readv: EFAULT, no crash, not inside the region")
    func hostilePointer() async throws {
        let trace = try await Self.runOnC(#"""
            {"channels": [{"name": "m", "kind": "shared_memory", "size": 4096}],
             "processes": [{"name": "r", "steps": [{"op": "wait", "process": "w"}, {"op": "load_pointer", "channel": "m", "offset": 8, "size": 4096}]},
                           {"name": "w", "steps": [{"op": "store_int", "channel": "m", "offset": 8, "value": -9007199254740991}]}]}
            """#).trace
        let read = try #require(trace.calls(.sharedMemory(.processVmReadv), by: "r").first, "\(describe(trace))")
        #expect(read.result == -1 && read.errno == "EFAULT", "\(describe(trace))")
        #expect(read.arg(.inOwnMapping) == .bool(false), "\(describe(trace))")
        #expect(trace.processes.allSatisfy { $0.exit == .code(0) }, "\(describe(trace))")
    }

    /// A valid plan of every shared-memory and semaphore op (FlatPlanSharedMemoryTests.everyOp).
    static func everyOpPlan() throws -> [UInt8] {
        try FlatPlan.build(try FlatPlanSharedMemoryTests.scenario(FlatPlanSharedMemoryTests.everyOp), schedule: nil).get()
    }

    @Test("the validator refuses each offset, size, index and channel field broken alone")
    func validatorRefusesBrokenFields() throws {
        let plan = try Self.everyOpPlan()
        let h = CRunnerPlanTests.header(plan)
        typealias S = ipclab_plan_step
        typealias C = ipclab_plan_channel
        func step(_ process: Int, _ i: Int) -> Int {
            // Process a's steps come first (22), then b's.
            Int(h.off_steps) + (process == 0 ? i : 22 + i) * MemoryLayout<S>.size
        }
        func channel(_ i: Int) -> Int { Int(h.off_channels) + i * MemoryLayout<C>.size }
        let broken: [String: [UInt8]] = [
            "store past the segment's end": CRunnerPlanTests.with(plan, at: step(0, 2), as: S.self) { $0.n.0 = 8192 },
            "store at a negative offset": CRunnerPlanTests.with(plan, at: step(0, 2), as: S.self) { $0.n.0 = -1 },
            "load past the end": CRunnerPlanTests.with(plan, at: step(0, 7), as: S.self) { $0.n.1 = 4001 },
            "load of 4097 bytes": CRunnerPlanTests.with(plan, at: step(0, 7), as: S.self) { $0.n = (0, 4097, 0, 0) },
            "store_int misaligned": CRunnerPlanTests.with(plan, at: step(0, 9), as: S.self) { $0.n.0 = 4 },
            "store_int at the last byte": CRunnerPlanTests.with(plan, at: step(0, 9), as: S.self) { $0.n.0 = 256 },
            "load_int past the end": CRunnerPlanTests.with(plan, at: step(0, 10), as: S.self) { $0.n.0 = 1 << 40 },
            "store_pointer target past the end": CRunnerPlanTests.with(plan, at: step(0, 15), as: S.self) { $0.n.1 = 256 },
            "load_pointer of 0 bytes": CRunnerPlanTests.with(plan, at: step(0, 16), as: S.self) { $0.n.1 = 0 },
            "increment past the end": CRunnerPlanTests.with(plan, at: step(0, 17), as: S.self) { $0.n.0 = 64 },
            "increment 0 times": CRunnerPlanTests.with(plan, at: step(0, 17), as: S.self) { $0.n.1 = 0 },
            "increment detail 17": CRunnerPlanTests.with(plan, at: step(0, 17), as: S.self) { $0.n.3 = 17 },
            "increment with a semaphore index and no sync": CRunnerPlanTests.with(plan, at: step(0, 17), as: S.self) { $0.n.2 = 6 },
            "increment under a region, not a semaphore": CRunnerPlanTests.with(plan, at: step(0, 19), as: S.self) { $0.n.2 = 0 },
            "increment under channel 7 of 7": CRunnerPlanTests.with(plan, at: step(0, 19), as: S.self) { $0.n.2 = 7 },
            "increment with both syncs": CRunnerPlanTests.with(plan, at: step(0, 19), as: S.self) { $0.flags = 12 },
            "barrier of 65": CRunnerPlanTests.with(plan, at: step(0, 20), as: S.self) { $0.n.1 = 65 },
            "barrier past the end": CRunnerPlanTests.with(plan, at: step(0, 20), as: S.self) { $0.n.1 = 31 },
            "attach at an unaligned address": CRunnerPlanTests.with(plan, at: step(0, 1), as: S.self) { $0.n.0 += 1 },
            "attach below 64 KiB": CRunnerPlanTests.with(plan, at: step(0, 1), as: S.self) { $0.n.0 = 4096 },
            "a region op on a semaphore": CRunnerPlanTests.with(plan, at: step(0, 9), as: S.self) { $0.channel = 4 },
            "a semaphore op on a region": CRunnerPlanTests.with(plan, at: step(1, 0), as: S.self) { $0.channel = 0 },
            "a semaphore op with a number": CRunnerPlanTests.with(plan, at: step(1, 0), as: S.self) { $0.n.0 = 1 },
            "a region op with a process": CRunnerPlanTests.with(plan, at: step(0, 3), as: S.self) { $0.process = 1 },
            "region of 0 bytes": CRunnerPlanTests.with(plan, at: channel(1), as: C.self) { $0.a = 0 },
            "region of 2 MiB": CRunnerPlanTests.with(plan, at: channel(1), as: C.self) { $0.a = 2 << 20 },
            "initial text longer than its region": CRunnerPlanTests.with(plan, at: channel(1), as: C.self) { $0.text = $0.name; $0.a = 1 },
            "region type 3": CRunnerPlanTests.with(plan, at: channel(0), as: C.self) { $0.sub = 3 },
            "region flag 2": CRunnerPlanTests.with(plan, at: channel(1), as: C.self) { $0.flags = 2 },
            "sysv ftok id 0": CRunnerPlanTests.with(plan, at: channel(2), as: C.self) { $0.b = 0 },
            "sysv without a key file": CRunnerPlanTests.with(plan, at: channel(2), as: C.self) { $0.path = ipclab_plan_str(offset: 0, length: 0) },
            "posix name not absolute": CRunnerPlanTests.with(plan, at: channel(3), as: C.self) { $0.path.offset += 1; $0.path.length -= 1 },
            "semaphore value 32768": CRunnerPlanTests.with(plan, at: channel(4), as: C.self) { $0.a = 32768 },
            "semaphore value -1": CRunnerPlanTests.with(plan, at: channel(5), as: C.self) { $0.a = -1 },
            "semaphore type 3": CRunnerPlanTests.with(plan, at: channel(5), as: C.self) { $0.sub = 3 },
            "named semaphore without a name": CRunnerPlanTests.with(plan, at: channel(4), as: C.self) { $0.path = ipclab_plan_str(offset: 0, length: 0) },
        ]
        let names = broken.keys.sorted()
        let answers = try CRunnerPlanTests.verdicts([plan] + names.map { broken[$0]! })
        #expect(answers.first == "Y", "the valid plan loads")
        for (name, verdict) in zip(names, answers.dropFirst()) {
            #expect(verdict == "N", "\(name): \(verdict)")
        }
    }
}
