import Foundation
import Glibc
import IPCLabCore
import IPCLabSandbox
import Testing

/// Runs that meet a resource limit end with `limit_exceeded` and a reason naming it, from kernel evidence;
/// runs under the limits are unchanged by them.
@Suite("Limit runs")
struct LimitRunTests {
    private func run(_ steps: String, limits: String) async throws -> Trace {
        let body = #"{"scenario": {"processes": [{"name": "p", "steps": \#(steps)}]}, "limits": \#(limits)}"#
        return try await run(try RunRequest.decode(Array(body.utf8)))
    }

    private func run(_ request: RunRequest) async throws -> Trace {
        let runner = try Lab.shared()
        return try await offThePool { try runner.run(request) }
    }

    @Test("a fork past processes gets EAGAIN from the pids cgroup: limit processes")
    func processes() async throws {
        let trace = try await run(#"[{"op": "fork_children", "count": 50, "sleep_ms": 20}]"#, limits: #"{"processes": 4}"#)
        let forks = try #require(trace.calls(.process(.forkChildren), by: "p").first)
        guard trace.run.sandbox.setup.contains(where: { $0.op.hasPrefix("pids.max") && $0.result == 0 }) else {
            // No writable pids cgroup on this host: the protection is reported missing instead.
            #expect(SandboxProtections(trace.run.sandbox).missing.contains { $0.name == "cgroup_pids" })
            return
        }
        #expect(forks.result == 3 && forks.errno == "EAGAIN", "\(describe(trace))")
        #expect(trace.run.outcome == .limitExceeded)
        #expect(trace.run.reason?.hasPrefix("limit processes:") == true, "\(trace.run.reason ?? "")")
    }

    @Test("under its limits a fork_children run is ok and reaps every child")
    func underLimits() async throws {
        let trace = try await run(#"[{"op": "fork_children", "count": 5, "sleep_ms": 1}, {"op": "open_files", "count": 20}, {"op": "spin", "ms": 5}, {"op": "allocate", "bytes": 1048576}, {"op": "write_file", "name": "f", "bytes": 100000}]"#, limits: "{}")
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        let forks = try #require(trace.calls(.process(.forkChildren), by: "p").first)
        #expect(forks.result == 5 && forks.int(.reaped) == 5)
        #expect(trace.calls(.process(.openFiles), by: "p").first?.result == 20)
        #expect((trace.calls(.process(.spin), by: "p").first?.result ?? 0) >= 5_000_000)
        #expect(trace.calls(.process(.allocate), by: "p").first?.int(.touched) == 1_048_576)
        #expect(trace.calls(.process(.writeFile), by: "p").first?.result == 100_000)
    }

    @Test("CPU time past cpu_ms: SIGXCPU from the process's CPU timer, limit cpu")
    func cpu() async throws {
        let trace = try await run(#"[{"op": "spin", "ms": 3000}]"#, limits: #"{"cpu_ms": 100}"#)
        #expect(trace.process("p")?.exit == .signal(name: "SIGXCPU", coreDumped: false), "\(describe(trace))")
        #expect(trace.run.reason?.hasPrefix("limit cpu:") == true, "\(trace.run.reason ?? "")")
        let used = (trace.process("p")?.userCPUNs ?? 0) + (trace.process("p")?.systemCPUNs ?? 0)
        #expect(used >= 100_000_000 && used < 1_000_000_000, "\(used) ns")
    }

    @Test("opens past open_files get EMFILE: limit open_files")
    func openFiles() async throws {
        let trace = try await run(#"[{"op": "open_files", "count": 100}]"#, limits: #"{"open_files": 16}"#)
        let opens = try #require(trace.calls(.process(.openFiles), by: "p").first)
        #expect(opens.errno == "EMFILE" && (opens.result ?? 0) < 16)
        #expect(trace.run.outcome == .limitExceeded)
        #expect(trace.run.reason?.hasPrefix("limit open_files:") == true)
    }

    @Test("a file past file_bytes is cut there, then SIGXFSZ: limit file_bytes")
    func fileBytes() async throws {
        let trace = try await run(#"[{"op": "write_file", "name": "big", "bytes": 300000}]"#, limits: #"{"file_bytes": 100000}"#)
        #expect(trace.process("p")?.exit == .signal(name: "SIGXFSZ", coreDumped: false), "\(describe(trace))")
        #expect(trace.calls(.process(.writeFile), by: "p").first?.int(.written) == 100_000)
        #expect(trace.run.reason?.hasPrefix("limit file_bytes:") == true)
    }

    @Test("memory past memory_bytes: the OOM killer (memory cgroup) or ENOMEM (RLIMIT_AS): limit memory")
    func memory() async throws {
        let trace = try await run(#"[{"op": "allocate", "bytes": 104857600}]"#, limits: #"{"memory_bytes": 8388608}"#)
        #expect(trace.run.outcome == .limitExceeded, "\(describe(trace))")
        #expect(trace.run.reason?.hasPrefix("limit memory:") == true, "\(trace.run.reason ?? "")")
    }

    @Test("events is the ring's size: a run past it drops records, limit events")
    func events() async throws {
        let steps = "[" + Array(repeating: #"{"op": "open_files", "count": 1}"#, count: 40).joined(separator: ", ") + "]"
        let trace = try await run(steps, limits: #"{"events": 16}"#)
        #expect(trace.run.eventsDropped > 0)
        #expect(trace.run.reason?.hasPrefix("limit events:") == true, "\(trace.run.reason ?? "")")
        #expect(trace.process("p")?.pid ?? 0 > 0, "the start record is kept")
    }
}
