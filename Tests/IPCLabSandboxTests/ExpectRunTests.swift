import CIPCLab
import Foundation
import Glibc
@testable import IPCLabSandbox
import Logging
import Synchronization
import Testing

/// A run said to be on its way (``SpawnerClient/expectRun()``): the spawner stays awake for it, a
/// bounded time, and only while it has no run in flight. Each test has a spawner of its own, so that
/// the CPU it counts is that spawner's alone.
@Suite("A run said to be on its way (SpawnerClient.expectRun)", .serialized)
struct ExpectRunTests {
    private static func client() throws -> SpawnerClient {
        let logger = Logger(label: "ipclab.tests.expect") { _ in SwiftLogNoOpLogHandler() }
        return try SpawnerClient(executable: try Lab.binary.get(), runnerExecutable: try CLab.runnerPath.get(), logger: logger)
    }

    /// The CPU process `pid` has used so far (user and system), in ms.
    private static func cpuMs(_ pid: pid_t) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return -1 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
        return ticks * 1000 / sysconf(Int32(_SC_CLK_TCK))
    }

    /// Waits until `pid` has stopped using CPU (a new spawner fills its pools first), up to 10 s.
    private static func settle(_ pid: pid_t) {
        var last = cpuMs(pid)
        for _ in 0..<50 {
            usleep(200_000)
            let now = cpuMs(pid)
            if now == last { return }
            last = now
        }
    }

    @Test("told of runs that never come, an idle spawner stays awake a bounded time for each, then runs the next run")
    func boundedWhenNoRunComes() async throws {
        let client = try Self.client()
        defer { client.shutdown() }
        let pid = try #require(client.status.pid)
        Self.settle(pid)
        let before = Self.cpuMs(pid)
        // 200 messages 2 ms apart: awake until the next message each time would be ~400 ms of CPU, awake
        // for Spawner.awakeForRunNs (0.2 ms) each ~40 ms.
        for _ in 0..<200 {
            client.expectRun()
            usleep(2000)
        }
        let spent = Self.cpuMs(pid) - before
        #expect(spent >= 0 && spent < 150, "the spawner used \(spent) ms of CPU over 200 runs that never came")
        let run = try await CLab.run(plan: CRunnerTests.sleeperPlan, scenario: CRunnerTests.sleeper, wallMs: 3000, on: client)
        #expect(run.trace.run.outcome == .ok, "\(run.trace.run.reason ?? "")")
    }

    @Test("with a run in flight nothing keeps the spawner awake: 100 runs said to come during a 1-s run cost it no spin")
    func nothingWhileARunGoes() throws {
        let client = try Self.client()
        defer { client.shutdown() }
        let pid = try #require(client.status.pid)
        Self.settle(pid)
        let plan = HandFlatPlan(processes: [("solo", [.sleep(ms: 1000)])]).bytes()
        let ring = try EventRing(capacity: 1024 + UInt32(IPCLAB_INIT_RESERVE), planCapacity: plan.count)
        ring.writePlan(plan)
        let limits = ipclab_run_limits(wall_ms: 3000, cpu_ms: 1000, memory_bytes: 64 << 20, processes: 8, open_files: 64,
                                       file_bytes: 16 << 20)
        let filterAtGo = FlatPlan.needsFilterAtGo(plan, fileBytes: limits.file_bytes)
        ring.writeLimits(limits)
        // The run on a thread of its own, not a task: a test pool busy with other suites could hold a task back.
        let ended = Atomic<Int>(0)  // 1: the run ended without a failure, 2: with one
        let handle = RingHandle(ring: ring)
        Thread {
            let completion = try? client.execute(ring: handle.ring, runID: 1, limits: limits, usesTCP: false, filterAtGo: filterAtGo)
            ended.store(completion != nil && completion?.failure == nil ? 1 : 2, ordering: .releasing)
        }.start()
        // Once the run is handed over (the client counts it), each would otherwise cost up to 0.2 ms.
        var waited = 0
        while client.executing.load(ordering: .relaxed) == 0 && ended.load(ordering: .acquiring) == 0 && waited < 5000 {
            usleep(1000)
            waited += 1
        }
        #expect(client.executing.load(ordering: .relaxed) == 1, "the run was handed to the spawner")
        let before = Self.cpuMs(pid)
        for _ in 0..<100 {
            client.expectRun()
            usleep(2000)
        }
        let spent = Self.cpuMs(pid) - before
        #expect(client.executing.load(ordering: .relaxed) == 1, "the run was still in flight")
        for _ in 0..<10_000 where ended.load(ordering: .acquiring) == 0 { usleep(1000) }
        #expect(ended.load(ordering: .acquiring) == 1, "the run ended without a failure")
        #expect(ring.readHeader().outcome == IPCLAB_OUTCOME_OK, "\(ring.readHeader().failure)")
        // The run's own work in the spawner (its go, a clone asked for ahead) is a few ms at most.
        #expect(spent >= 0 && spent < 15, "the spawner used \(spent) ms of CPU while told of runs beside one in flight")
        #expect(client.executing.load(ordering: .relaxed) == 0)
    }

    /// A ring handed to the thread that runs it.
    private struct RingHandle: @unchecked Sendable {
        let ring: EventRing
    }
}
