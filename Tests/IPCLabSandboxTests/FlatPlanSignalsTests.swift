import CIPCLab
import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// Signal steps and sandbox probes in the flat plan (ops 0x03xx, 0x0901): every op reads back as its
/// step, and the C runner's validator loads the compiled plan and refuses each of its fields broken.
@Suite("Flat plan: signals and sandbox probes")
struct FlatPlanSignalsTests {
    /// Every op of both families, with every variant a field can take (reply, exit, restart, the three values).
    static let everyOp = """
        {"channels": [], "processes": [
          {"name": "a", "steps": [
            {"op": "sigaction", "signal": "SIGUSR1", "action": "handle", "reply": {"signal": "SIGUSR2", "process": "b"},
             "restart": true, "exit": 3},
            {"op": "sigaction", "signal": "SIGUSR2", "action": "ignore"},
            {"op": "kill", "process": "b", "signal": "SIGUSR1", "repeat": 2},
            {"op": "sigqueue", "process": "b", "signal": "SIGRTMIN", "value": 7, "repeat": 3},
            {"op": "sigqueue", "process": "b", "signal": "SIGRTMIN+1", "pointer": "hi"},
            {"op": "sigqueue", "process": "b", "signal": "SIGRTMIN+2", "pointer": "st", "buffer": "static"},
            {"op": "sigprocmask", "how": "block", "signals": ["SIGUSR2", "SIGUSR1", "SIGUSR2"]},
            {"op": "sigpending"},
            {"op": "wait_signals", "count": 2, "timeout_ms": 50},
            {"op": "read_pointer", "size": 16, "own": "mine"},
            {"op": "read_pointer"},
            {"op": "fault", "kind": "fpe"},
            {"op": "proc_stat", "process": "b"},
            {"op": "setpgid", "process": "b", "group": "a"},
            {"op": "kill_group", "group": "b", "signal": "SIGTERM"},
            {"op": "setresgid", "gid": 1},
            {"op": "setresuid", "uid": 2},
            {"op": "try_syscall", "call": "getppid"},
            {"op": "sigprocmask", "how": "setmask", "signals": []},
            {"op": "sigaction", "signal": "SIGSEGV", "action": "default"},
            {"op": "fault", "kind": "segv"}]},
          {"name": "b", "steps": [{"op": "sleep", "ms": 1}]}]}
        """

    static func scenario() throws -> Scenario {
        try Scenario.decode(try JSONValue.parse(Array(everyOp.utf8)))
    }

    @Test("Every signal op and the sandbox probe read back field for field (a mask as its set of signals)")
    func everyOpRoundTrips() throws {
        let scenario = try Self.scenario()
        let plan = try FlatPlanTests.roundTrip(scenario)
        #expect(plan.scenario.processes[0].steps.count == 21)
        let bytes = try #require(FlatPlan.compile(scenario, schedule: nil))
        let d = FlatPlanDecoder(bytes: bytes)
        let steps = Int(d.u32(24))
        // sigaction: sig, restart flag, reply to process 1 with SIGUSR2, exit 3; the mask: bits 9 and 11.
        #expect(d.u16(steps) == 0x0301 && d.u16(steps + 2) == 4 && d.i16(steps + 6) == 1 && d.i32(steps + 12) == 10)
        #expect(d.i64(steps + 24) == 2 && d.i64(steps + 32) == 12 && d.i64(steps + 40) == 3)
        #expect(d.i64(steps + 64 + 40) == -1, "no exit: -1")
        #expect(d.i64(steps + 6 * 64 + 32) == 1 << 9 | 1 << 11)
        #expect(d.i16(steps + 13 * 64 + 8) == 0, "setpgid's group in process2")
    }

    /// The plan with step `index` of the first process changed by `body`.
    static func breaking(_ plan: [UInt8], step index: Int, _ body: (inout ipclab_plan_step) -> Void) -> [UInt8] {
        let at = Int(CRunnerPlanTests.header(plan).off_steps) + index * MemoryLayout<ipclab_plan_step>.size
        return CRunnerPlanTests.with(plan, at: at, as: ipclab_plan_step.self, body)
    }

    @Test("The C validator loads the compiled plan and refuses each signal field broken alone")
    func validator() throws {
        let plan = try #require(FlatPlan.compile(try Self.scenario(), schedule: nil))
        let broken: [String: [UInt8]] = [
            "sigaction of signal 0": Self.breaking(plan, step: 1) { $0.sig = 0 },
            "disposition 3": Self.breaking(plan, step: 1) { $0.n.0 = 3 },
            "reply signal 65": Self.breaking(plan, step: 0) { $0.n.1 = 65 },
            "exit 256": Self.breaking(plan, step: 0) { $0.n.2 = 256 },
            "exit -2": Self.breaking(plan, step: 0) { $0.n.2 = -2 },
            "restart on kill": Self.breaking(plan, step: 2) { $0.flags = UInt16(IPCLAB_PLAN_STEP_RESTART) },
            "kill of signal 0": Self.breaking(plan, step: 2) { $0.sig = 0 },
            "kill with a channel": Self.breaking(plan, step: 2) { $0.channel = 0 },
            "kill of process 2": Self.breaking(plan, step: 2) { $0.process = 2 },
            "negative repeat": Self.breaking(plan, step: 2) { $0.n.0 = -1 },
            "sigqueue value kind 3": Self.breaking(plan, step: 3) { $0.n.1 = 3 },
            "sival_int past INT32_MAX": Self.breaking(plan, step: 3) { $0.n.2 = Int64(Int32.max) - 1 },
            "sival_int below INT32_MIN": Self.breaking(plan, step: 3) { $0.n.2 = Int64(Int32.min) - 1 },
            "a pointer with no text": Self.breaking(plan, step: 4) { $0.text = ipclab_plan_str(offset: 0, length: 0) },
            "sigprocmask how 3": Self.breaking(plan, step: 6) { $0.n.0 = 3 },
            "timeout past 10 s": Self.breaking(plan, step: 8) { $0.n.1 = 10_001 },
            "read_pointer of 0 bytes": Self.breaking(plan, step: 10) { $0.n.0 = 0 },
            "read_pointer of 4097 bytes": Self.breaking(plan, step: 10) { $0.n.0 = 4097 },
            "fault kind 2": Self.breaking(plan, step: 11) { $0.n.0 = 2 },
            "setpgid's group out of range": Self.breaking(plan, step: 13) { $0.process2 = 2 },
            "kill_group of signal 0": Self.breaking(plan, step: 14) { $0.sig = 0 },
            "setresgid 65535": Self.breaking(plan, step: 15) { $0.n.0 = 65_535 },
            "setresuid -1": Self.breaking(plan, step: 16) { $0.n.0 = -1 },
            "try_syscall with no name": Self.breaking(plan, step: 17) { $0.text = ipclab_plan_str(offset: 0, length: 0) },
        ]
        let names = broken.keys.sorted()
        let answers = try CRunnerPlanTests.verdicts([plan] + names.map { broken[$0]! })
        #expect(answers.count == 1 + names.count)
        #expect(answers.first == "Y", "the compiled plan loads")
        for (name, verdict) in zip(names, answers.dropFirst()) {
            #expect(verdict == "N", "\(name): \(verdict)")
        }
    }
}
