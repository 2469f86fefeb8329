import CIPCLab
import Glibc
import IPCLabCore
@testable import IPCLabSandbox
import Synchronization
import Testing

/// A run's trace read at its init's finish, while the spawner takes the done (``ReadAtFinish``): answered
/// only when the run ends as it was read; read again when the end shows what the reading did not.
@Suite("Read at finish", .serialized)
struct ReadAtFinishTests {
    /// A runner of its own (its own counts of readings) over the shared spawners: scenarios with a flat
    /// plan go to the C runners, whose inits say their finish.
    private static let runner: Result<LabRunner, any Error> = Result {
        LabRunner(spawner: try Lab.shared().spawner, cSpawner: try CLab.spawner.get())
    }

    private func counts(_ runner: LabRunner) -> [TraceReadings.Reading: Int] {
        Dictionary(uniqueKeysWithValues: TraceReadings.Reading.allCases.map { ($0, runner.readings.count(of: $0)) })
    }

    @Test("a run on a C runner is answered from the trace read at its init's finish, the same trace as read at the end")
    func answeredAtFinish() async throws {
        let runner = try Self.runner.get()
        let before = counts(runner)
        // The server may wake after the spawner's end has come too (a loaded machine): that run is read at
        // the end only. One of up to 40 read at the finish shows the way works.
        var runs = 0
        while runner.readings.count(of: .atFinish) == before[.atFinish] && runs < 40 {
            let trace = try await run(try RunRequest.preset("pipe.hello", params: nil), on: runner)
            expectWentWell(trace)
            runs += 1
        }
        let after = counts(runner)
        #expect(after[.atFinish]! > before[.atFinish]!, "no run of \(runs) was answered from its reading at the finish")
        #expect(after[.again] == before[.again], "a run that ended as it was read must not be read again")
        #expect(after[.atFinish]! + after[.atEnd]! - before[.atFinish]! - before[.atEnd]! == runs)
    }

    @Test("a run whose cgroup counters, written after the finish, give a limit reason is read again: limit processes")
    func readAgainForTheEvidence() async throws {
        let runner = try Self.runner.get()
        let body = #"{"scenario": {"processes": [{"name": "p", "steps": [{"op": "fork_children", "count": 50, "sleep_ms": 20}]}]}, "limits": {"processes": 4}}"#
        let request = try RunRequest.decode(Array(body.utf8))
        let before = counts(runner)
        // Read at the finish only when the server wakes before the spawner's end (often not, with the
        // spawner on the init's core: ``RunCore``): up to 40 runs, until one is read again.
        var tries = 0
        while runner.readings.count(of: .again) == before[.again] && tries < 40 {
            let trace = try await run(request, on: runner)
            tries += 1
            guard trace.run.sandbox.setup.contains(where: { $0.op.hasPrefix("pids.max") && $0.result == 0 }) else {
                // No writable pids cgroup on this host: no counters to wait for, and the protection is reported missing.
                #expect(SandboxProtections(trace.run.sandbox).missing.contains { $0.name == "cgroup_pids" })
                return
            }
            // Read at the finish, its counters were not in the ring yet: the reason comes only from reading again.
            #expect(trace.run.outcome == .limitExceeded, "\(describe(trace))")
            #expect(trace.run.reason?.hasPrefix("limit processes: the run's pids cgroup refused") == true, "\(trace.run.reason ?? "")")
        }
        #expect(counts(runner)[.again]! > before[.again]!, "the reading at the finish of \(tries) run(s) was never found stale")
        // A run may still be answered from its reading at the finish: when the spawner wrote the counters
        // before the server read the ring (both wake on the init's one write), the reading has the reason
        // too. Every trace answered, however read, carries it (above).
    }

    @Test("a reading holds only for a ring that ends as read: each field of the header, and reasons from the counters")
    func holdsOnlyAsRead() throws {
        let runner = try Self.runner.get()
        let (trace, ring) = try runner.runKeepingRing(try RunRequest.preset("pipe.hello", params: nil))
        let header = ring.readHeader()
        let limits = RunLimits.defaults
        let reading = ReadAtFinish(trace: trace, header: header)
        #expect(reading.holds(at: header, limits: limits, capacity: ring.capacity))

        var changed: [(String, RingHeader)] = []
        func vary(_ name: String, _ change: (inout RingHeader) -> Void) {
            var h = header
            change(&h)
            changed.append((name, h))
        }
        vary("claimed") { $0.claimed += 1 }
        vary("dropped") { $0.dropped += 1 }
        vary("t_end") { $0.tEnd = ($0.tEnd ?? 0) + 1 }
        vary("outcome") { $0.outcome = IPCLAB_OUTCOME_TIMEOUT }
        vary("failed_errno") { $0.failedErrno = EPERM }
        vary("failure") { $0.failure = "set-up failed" }
        vary("corruption") { $0.corruption = "the event ring's header was overwritten: magic=0" }
        vary("pids.events") {
            $0.evidence.cgroups |= Int32(IPCLAB_CGROUP_PIDS)
            $0.evidence.pids_max_events = 3
        }
        vary("memory.oom_kill") {
            $0.evidence.cgroups |= Int32(IPCLAB_CGROUP_MEMORY)
            $0.evidence.memory_oom_kills = 1
        }
        for (name, end) in changed {
            #expect(!reading.holds(at: end, limits: limits, capacity: ring.capacity), "a ring whose \(name) changed after the reading")
        }
        // Counters that give no reason (a peak, no refusal) change nothing the trace says.
        var quiet = header
        quiet.evidence.cgroups |= Int32(IPCLAB_CGROUP_MEMORY | IPCLAB_CGROUP_PIDS | IPCLAB_CGROUP_COLLECTED)
        quiet.evidence.memory_peak = 1 << 20
        #expect(reading.holds(at: quiet, limits: limits, capacity: ring.capacity))
    }

    @Test("the finish eventfd is the init's alone: no process of a C runner's run holds it")
    func noParticipantHoldsTheEventfd() async throws {
        let runner = try Self.runner.get()
        // Names of this test's own: another suite's run of the same names on the Swift runner would be seen too.
        let scenario = #"""
        {"processes": [
          {"name": "finisher_a", "steps": [{"op": "sleep", "ms": 600}, {"op": "wait", "process": "finisher_b"}]},
          {"name": "finisher_b", "steps": [{"op": "sleep", "ms": 600}]}]}
        """#
        let seen = Mutex<[String: [String]]>([:])
        let (trace, pids) = try await runWatching(scenario: scenario, wallMs: 5000, names: ["finisher_a", "finisher_b"], on: runner) { pid, name in
            usleep(50_000) // past the participant's start
            let own = descriptors(of: pid)
            seen.withLock { $0[name] = own }
            if name == "finisher_a", let parent = procStatus(pid, "PPid")?.first.flatMap({ Int32($0) }),
               let parentName = try? String(contentsOfFile: "/proc/\(parent)/comm", encoding: .utf8),
               parentName == "ipclab-init\n" {
                seen.withLock { $0["init"] = descriptors(of: parent) }
            }
        }
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        try #require(pids.count == 2, "the processes were not seen on the host")
        let fds = seen.withLock { $0 }
        for name in ["finisher_a", "finisher_b"] {
            let own = try #require(fds[name])
            #expect(!own.contains { $0.contains("eventfd") || $0.hasPrefix("98 ") || $0.hasPrefix("99 ") }, "\(name): \(own)")
        }
        let initFDs = try #require(fds["init"], "the run's init was not seen")
        #expect(initFDs.contains { $0.hasPrefix("98 ") && $0.contains("eventfd") }, "the init holds the finish eventfd: \(initFDs)")
    }
}
