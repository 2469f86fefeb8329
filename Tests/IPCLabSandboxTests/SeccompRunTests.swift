import Foundation
import Glibc
import IPCLabCore
import IPCLabSandbox
import Synchronization
import Testing

/// The run's last walls: no_new_privs, not dumpable, and the seccomp filter — as the trace reports
/// them and as the host sees a run's process.
@Suite("Seccomp", .serialized)
struct SeccompRunTests {
    @Test("sandbox.denied_calls: every probe is refused with EPERM (clone3 ENOSYS), getppid works, the prober lives")
    func deniedCalls() async throws {
        let trace = try await run("sandbox.denied_calls")
        expectWentWell(trace)
        for call in SandboxStep.calls where call != "getppid" {
            let e = try #require(SandboxCall(rawValue: call).flatMap { trace.calls(.sandbox($0), by: "prober").first }, "no \(call) in \(describe(trace))")
            #expect(e.result == -1, "\(call)")
            #expect(e.errno == (call == "clone3" ? "ENOSYS" : "EPERM"), "\(call): \(e.errno ?? "no errno")")
            // The trace says what was passed: the arguments are fixed, not the scenario's.
            #expect(e.arg(.with) != nil, "\(call) has no description of its arguments")
        }
        #expect((trace.calls(.sandbox(.getppid), by: "prober").first?.result ?? 0) > 0)
    }

    @Test("no_new_privs, dumpable off and the filter are the init's last set-up operations, and all succeeded")
    func setupOperations() async throws {
        let trace = try await run("pipe.hello")
        expectWentWell(trace)
        let ops = trace.run.sandbox.setup.map(\.op)
        #expect(Array(ops.suffix(3)) == ["no_new_privs", "dumpable off", "seccomp filter"], "\(ops)")
        for op in trace.run.sandbox.setup.suffix(3) {
            #expect(op.result == 0 && op.errno == nil, "\(op.op): \(op.errno ?? "")")
        }
        // The run's policy in two stacked filters: the base, installed while the init waited, and the late one.
        #expect(trace.run.sandbox.seccomp == .init(mode: "filter", filters: 2))
    }

    @Test("process_vm_readv works on the process's own memory only: another participant's is refused")
    func processVMOnlyOnSelf() async throws {
        // The child reads its parent's memory (try_syscall targets getppid()); the pointer
        // experiments (signal.pointer, shm.pointers) read their own and keep working.
        let scenario = """
        {"processes": [{"name": "parent", "steps": [{"op": "wait", "process": "child"}]},
                       {"name": "child", "steps": [{"op": "try_syscall", "call": "process_vm_readv"}]}]}
        """
        let trace = try await run(scenario: scenario, wallMs: 2000)
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(trace.calls(.sharedMemory(.processVmReadv), by: "child").first?.errno == "EPERM", "\(describe(trace))")
        let pointer = try await run("signal.pointer", params: ["before_fork": false])
        expectWentWell(pointer, scheduling: ["signal.pointer.valid_after_fork"]) // false by design: no buffer before fork
        #expect(pointer.calls(.sharedMemory(.processVmReadv), by: "receiver").first?.errno == "EFAULT", "\(describe(pointer))")
    }

    @Test("seen from the host, a run's process has NoNewPrivs 1 and seccomp mode 2 with three filters")
    func hostView() async throws {
        let scenario = #"{"processes": [{"name": "seccomp_probe", "steps": [{"op": "sleep", "ms": 1500}]}]}"#
        let seen = Seen()
        let (trace, pids) = try await runWatching(scenario: scenario, wallMs: 5000, names: ["seccomp_probe"]) { pid, _ in
            // Seen as soon as it is named, which is just before it stacks its own filter: look
            // again (it sleeps 1.5 s) until the second filter is there, or 200 ms have passed.
            for _ in 0..<40 where procStatus(pid, "Seccomp_filters") != ["3"] { usleep(5000) }
            seen.record(noNewPrivs: procStatus(pid, "NoNewPrivs"), seccomp: procStatus(pid, "Seccomp"),
                        filters: procStatus(pid, "Seccomp_filters"))
        }
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        try #require(!pids.isEmpty, "the probe was never seen on the host")
        #expect(seen.value.noNewPrivs == ["1"])
        #expect(seen.value.seccomp == ["2"])
        // The run's two from init (base and late), and the participant's own (process_vm_* on itself only).
        #expect(seen.value.filters == ["3"])
    }

    /// /proc fields read by the scan, on another task.
    final class Seen: Sendable {
        struct Fields { var noNewPrivs, seccomp, filters: [String]? }
        private let fields = Mutex(Fields())
        func record(noNewPrivs: [String]?, seccomp: [String]?, filters: [String]?) {
            fields.withLock { $0 = Fields(noNewPrivs: noNewPrivs, seccomp: seccomp, filters: filters) }
        }
        var value: Fields { fields.withLock { $0 } }
    }

    @Test("a faulting process still ends by its signal with no core dump: dumpable is off")
    func faultWithoutCore() async throws {
        let trace = try await run("signal.fault")
        expectWentWell(trace, except: ["segv", "fpe"])
        #expect(trace.process("segv")?.exit == .signal(name: "SIGSEGV", coreDumped: false), "\(describe(trace))")
        #expect(trace.process("fpe")?.exit == .signal(name: "SIGFPE", coreDumped: false))
    }
}
