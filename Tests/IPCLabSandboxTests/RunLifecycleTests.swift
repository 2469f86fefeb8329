import Foundation
import Glibc
import IPCLabCore
import IPCLabSandbox
import Testing

/// How runs end: the wall limit, signals, teardown, and runs side by side.
@Suite("Run lifecycle", .serialized)
struct RunLifecycleTests {
    @Test("the wall limit kills a process that sleeps past it, promptly")
    func wallLimit() async throws {
        let scenario = #"{"processes": [{"name": "sleeper", "steps": [{"op": "sleep", "ms": 5000}]}]}"#
        // The shared spawner (and its exec'd runners) may still be starting when this test comes first:
        // a run that ends at once makes sure it is up, so the time below is the wall limit's alone.
        _ = try await run(scenario: #"{"processes": [{"name": "p", "steps": [{"op": "exit", "code": 0}]}]}"#, wallMs: 5000)
        let started = nowMs()
        let trace = try await run(scenario: scenario, wallMs: 200)
        let elapsed = nowMs() - started
        #expect(trace.run.outcome == .timeout, "\(describe(trace))")
        #expect(trace.run.limits.wallMs == 200)
        #expect(trace.run.durationNs >= 200_000_000, "not before the limit")
        #expect(trace.run.durationNs < 1_500_000_000, "\(trace.run.durationNs) ns")
        // The kill's promptness is the run's own duration above; the caller's wait adds the hand-over to a
        // runner (a fresh exec after a pause, seconds on a loaded machine in a debug build): it must only
        // not have waited for the 5 s sleep.
        #expect(elapsed < 4500, "the caller waited \(elapsed) ms")
        #expect(trace.process("sleeper")?.exit == .signal(name: "SIGKILL", coreDumped: false))
        let sleep = try #require(trace.calls(.process(.nanosleep), by: "sleeper").first)
        #expect(sleep.returned == false)
        #expect(sleep.arg(.ms) == .integer(5000))
        #expect(trace.run.reason?.contains("nanosleep") == true, "\(trace.run.reason ?? "no reason")")
    }

    @Test("no process of a timed-out run outlives it on the host")
    func noProcessOutlivesARun() async throws {
        // Names no other test uses, so runs elsewhere cannot confuse the scan.
        let names: Set<String> = ["leak_reader", "leak_writer"]
        #expect(hostProcesses(named: names).isEmpty, "left over from an earlier run")
        let scenario = """
            {"channels": [{"name": "p", "kind": "pipe"}],
             "processes": [
               {"name": "leak_reader", "steps": [{"op": "read_all", "channel": "p", "size": 64}]},
               {"name": "leak_writer", "steps": [{"op": "sleep", "ms": 5000}]}
             ]}
            """
        // While it runs, the scan must find its processes: otherwise the check after it proves nothing.
        // 1.5 s gives a scan of the host's /proc time enough on a loaded machine (200 ms did not, in CI
        // with the other suites running); the writer's 5 s sleep still outlasts it.
        let (trace, seen) = try await runWatching(scenario: scenario, wallMs: 1500, names: names)
        #expect(Set(seen.values) == names, "the scan saw \(seen) during the run: \(describe(trace))")
        #expect(trace.run.outcome == .timeout, "\(describe(trace))")
        #expect(trace.calls(.pipes(.read), by: "leak_reader").last?.returned == false)

        var left = hostProcesses(named: names)
        let teardown = nowMs() + 500
        while !left.isEmpty && nowMs() < teardown {
            try await Task.sleep(for: .milliseconds(10))
            left = hostProcesses(named: names)
        }
        #expect(left.isEmpty, "still on the host after the run: \(left)")
        for pid in seen.keys {
            #expect(kill(pid, 0) == -1 && errno == ESRCH, "pid \(pid) still exists")
        }
    }

    @Test("a write with no reader left is killed by SIGPIPE, and the trace says so")
    func sigpipe() async throws {
        // The parent says "go" on a second pipe only after closing its read end of p,
        // so the child's write finds no reader however the two are scheduled.
        let scenario = """
            {"channels": [{"name": "p", "kind": "pipe"}, {"name": "go", "kind": "pipe"}],
             "processes": [
               {"name": "parent", "steps": [{"op": "close", "channel": "p", "end": "read"},
                                            {"op": "close", "channel": "go", "end": "read"},
                                            {"op": "write", "channel": "go", "data": "go"},
                                            {"op": "wait", "process": "child"}]},
               {"name": "child", "steps": [{"op": "close", "channel": "p", "end": "read"},
                                           {"op": "close", "channel": "go", "end": "write"},
                                           {"op": "read", "channel": "go", "size": 2},
                                           {"op": "write", "channel": "p", "data": "nobody reads this"}]}
             ]}
            """
        let trace = try await run(scenario: scenario, wallMs: 2000)
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(trace.process("child")?.exit == .signal(name: "SIGPIPE", coreDumped: false))
        #expect(trace.process("parent")?.exit == .code(0))
        let wait = try #require(trace.calls(.process(.wait4), by: "parent").first)
        #expect(wait.result == Int64(trace.process("child")?.pid ?? -1))
        #expect(wait.arg(.status) == ["signal": "SIGPIPE", "core_dumped": false])
        // The write never returned: the signal ended the process inside it.
        #expect(trace.calls(.pipes(.read), by: "child", on: "go").first?.result == 2)
        let write = try #require(trace.calls(.pipes(.write), by: "child", on: "p").first)
        #expect(write.returned == false)
    }

    @Test("a process that exits with a code is reported with it")
    func exitCode() async throws {
        let scenario = #"{"processes": [{"name": "first", "steps": [{"op": "wait", "process": "second"}]}, {"name": "second", "steps": [{"op": "exit", "code": 42}]}]}"#
        let trace = try await run(scenario: scenario, wallMs: 2000)
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(trace.process("second")?.exit == .code(42))
        #expect(trace.calls(.process(.wait4), by: "first").first?.arg(.status) == ["code": 42])
    }

    @Test("eight runs of pipe.hello from four concurrent tasks all go well")
    func concurrentRuns() async throws {
        _ = try Lab.shared()
        let traces = try await withThrowingTaskGroup(of: [Trace].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var mine: [Trace] = []
                    for _ in 0..<2 { mine.append(try await run("pipe.hello")) }
                    return mine
                }
            }
            var all: [Trace] = []
            for try await some in group { all += some }
            return all
        }
        #expect(traces.count == 8)
        for trace in traces {
            expectWentWell(trace)
            #expect(trace.calls(.pipes(.read), by: "parent", on: "pfds").first?.payload?.text == "Hello\u{0}")
        }
        #expect(Set(traces.map(\.run.id)).count == 8, "every run has its own id")
    }
}
