import IPCLabCore
import Testing

/// The signal steps of the scenario language: names and numbers, strict fields, and targets
/// that can only be named processes of the run.
@Suite("Signal steps: validation")
struct SignalValidationTests {
    /// A two-process scenario whose first process runs `steps`.
    func scenario(_ steps: [String], other: [String] = []) -> String {
        scenarioText(channels: [], parent: steps, child: other)
    }

    // MARK: Names and numbers

    @Test("signal names and numbers read back as the usual names", arguments: [
        ("\"SIGUSR1\"", "SIGUSR1"), ("10", "SIGUSR1"), ("\"10\"", "SIGUSR1"), ("\"SIGRTMIN\"", "SIGRTMIN"),
        ("\"SIGRTMIN+2\"", "SIGRTMIN+2"), ("36", "SIGRTMIN+2"), ("\"SIGRTMAX\"", "SIGRTMAX"), ("64", "SIGRTMAX"),
        ("\"SIGRTMAX-1\"", "SIGRTMIN+29"), ("\"SIGIOT\"", "SIGABRT"), ("\"SIGCLD\"", "SIGCHLD"), ("9", "SIGKILL"),
    ])
    func signalNames(_ given: String, _ name: String) throws {
        let s = try decodeScenario(scenario([#"{"op": "kill", "process": "child", "signal": \#(given)}"#]))
        guard case .signal(.kill(_, let sig, _))? = s.processes[0].steps.first else {
            Issue.record("not a kill: \(s.processes[0].steps)")
            return
        }
        #expect(sig.name == name)
        #expect(s.json == (try decodeScenario(scenario([#"{"op": "kill", "process": "child", "signal": "\#(name)"}"#]))).json)
    }

    @Test("unknown signals, 0, 32, 33 and 65 are rejected with the field's path", arguments: [
        "\"SIGFOO\"", "\"USR1\"", "0", "32", "33", "65", "-1", "\"SIGRTMIN+31\"", "true", "1.5",
    ])
    func badSignals(_ given: String) {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].signal") {
            try decodeScenario(scenario([#"{"op": "kill", "process": "child", "signal": \#(given)}"#]))
        }
    }

    @Test("a signal mask lists signals; a bad one is named by its index")
    func maskSignals() throws {
        let s = try decodeScenario(scenario([#"{"op": "sigprocmask", "how": "block", "signals": ["SIGUSR1", 34]}"#]))
        #expect(s.processes[0].steps == [.sigprocmask(.block, [.sigusr1, .sigrtmin])])
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].signals[1]") {
            try decodeScenario(scenario([#"{"op": "sigprocmask", "how": "block", "signals": ["SIGUSR1", "SIGNOPE"]}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].how", message: "\"block\"") {
            try decodeScenario(scenario([#"{"op": "sigprocmask", "how": "mask", "signals": []}"#]))
        }
    }

    // MARK: Targets: named processes of the run, and nothing else

    @Test("a pid is never accepted as a target: -1, 1, a server's or host's pid", arguments: ["-1", "1", "0", "4242", "\"1\""])
    func pidRejected(_ pid: String) {
        for op in ["kill", "sigqueue"] {
            expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].pid", message: "named process of this run") {
                try decodeScenario(scenario([#"{"op": "\#(op)", "pid": \#(pid), "signal": "SIGUSR1"}"#]))
            }
            expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].pid", message: "cannot be targeted") {
                try decodeScenario(scenario([#"{"op": "\#(op)", "process": "child", "pid": \#(pid), "signal": "SIGUSR1"}"#]))
            }
        }
    }

    @Test("a number where a process name goes is rejected", arguments: ["-1", "1", "3"])
    func numericProcess(_ value: String) {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].process", message: "not integer") {
            try decodeScenario(scenario([#"{"op": "kill", "process": \#(value), "signal": "SIGTERM"}"#]))
        }
    }

    @Test("a process that is not in the run cannot be signalled, nor can init or the server by name", arguments: ["init", "server", "host", "nobody"])
    func unknownTargets(_ name: String) {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].process", message: "no process named \"\(name)\"") {
            try decodeScenario(scenario([#"{"op": "kill", "process": "\#(name)", "signal": "SIGKILL"}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].process", message: "signals go only to the run's own processes") {
            try decodeScenario(scenario([#"{"op": "sigqueue", "process": "\#(name)", "signal": "SIGRTMIN", "value": 1}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].reply.process") {
            try decodeScenario(scenario([#"{"op": "sigaction", "signal": "SIGUSR1", "action": "handle", "reply": {"signal": "SIGUSR2", "process": "\#(name)"}}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].process") {
            try decodeScenario(scenario([#"{"op": "proc_stat", "process": "\#(name)"}"#]))
        }
    }

    @Test("a process may signal itself and every other process of the run")
    func ownProcesses() throws {
        let s = try decodeScenario(scenario(
            [#"{"op": "kill", "process": "parent", "signal": "SIGUSR1"}"#, #"{"op": "kill", "process": "child", "signal": 19, "repeat": 3}"#],
            other: [#"{"op": "sigqueue", "process": "parent", "signal": "SIGRTMIN+1", "value": -7}"#]))
        #expect(s.processes[0].steps == [.kill("parent", .sigusr1), .kill("child", .sigstop, repeat: 3)])
        #expect(s.processes[1].steps == [.sigqueue("parent", Signal(number: 35)!, value: .int(-7))])
    }

    // MARK: Steps

    @Test("every signal step decodes, with its defaults, and round-trips through JSON")
    func everyStep() throws {
        let s = try decodeScenario(scenario([
            #"{"op": "sigaction", "signal": "SIGUSR1", "action": "handle", "reply": {"signal": "SIGUSR2", "process": "child"}}"#,
            #"{"op": "sigaction", "signal": "SIGKILL", "action": "ignore"}"#,
            #"{"op": "sigaction", "signal": "SIGINT", "action": "default", "restart": true}"#,
            #"{"op": "sigqueue", "process": "child", "signal": "SIGRTMIN", "pointer": "secret"}"#,
            #"{"op": "sigqueue", "process": "child", "signal": "SIGRTMIN", "value": 5, "repeat": 4}"#,
            #"{"op": "sigpending"}"#,
            #"{"op": "wait_signals"}"#,
            #"{"op": "wait_signals", "count": 3, "timeout_ms": 0}"#,
            #"{"op": "read_pointer"}"#,
            #"{"op": "fault", "kind": "fpe"}"#,
            #"{"op": "proc_stat", "process": "child"}"#,
        ]))
        #expect(s.processes[0].steps == [
            .sigaction(.sigusr1, .handle, reply: SignalStep.Reply(signal: .sigusr2, process: "child")),
            .sigaction(.sigkill, .ignore),
            .sigaction(.sigint, .default, restart: true),
            .sigqueue("child", .sigrtmin, value: .pointer("secret")),
            .sigqueue("child", .sigrtmin, value: .int(5), repeat: 4),
            .sigpending,
            .waitSignals(count: 1, timeoutMs: 1000),
            .waitSignals(count: 3, timeoutMs: 0),
            .readPointer(size: 32),
            .fault(.fpe),
            .procStat("child"),
        ])
        #expect(try Scenario.decode(s.json) == s)
    }

    @Test("SIGKILL and SIGSTOP may be given to sigaction: the kernel, not validation, refuses them")
    func uncatchableAccepted() throws {
        let s = try decodeScenario(scenario([#"{"op": "sigaction", "signal": "SIGSTOP", "action": "handle"}"#]))
        #expect(s.processes[0].steps == [.sigaction(.sigstop, .handle)])
    }

    @Test("bad fields are named by path", arguments: [
        (#"{"op": "sigaction", "signal": "SIGUSR1"}"#, "scenario.processes[0].steps[0].action", "required"),
        (#"{"op": "sigaction", "signal": "SIGUSR1", "action": "catch"}"#, "scenario.processes[0].steps[0].action", "\"handle\""),
        (#"{"op": "sigaction", "signal": "SIGUSR1", "action": "ignore", "reply": {"signal": "SIGUSR2", "process": "child"}}"#,
         "scenario.processes[0].steps[0].reply", "only a handler"),
        (#"{"op": "sigaction", "signal": "SIGUSR1", "action": "handle", "reply": {"signal": "SIGUSR2", "process": "child", "pid": 1}}"#,
         "scenario.processes[0].steps[0].reply.pid", "no pid field"),
        (#"{"op": "kill", "process": "child"}"#, "scenario.processes[0].steps[0].signal", "required"),
        (#"{"op": "kill", "signal": "SIGUSR1"}"#, "scenario.processes[0].steps[0].process", "required"),
        (#"{"op": "kill", "process": "child", "signal": "SIGUSR1", "repeat": 0}"#, "scenario.processes[0].steps[0].repeat", "1…4096"),
        (#"{"op": "sigqueue", "process": "child", "signal": "SIGRTMIN", "value": 2147483648}"#, "scenario.processes[0].steps[0].value", "2147483647"),
        (#"{"op": "sigqueue", "process": "child", "signal": "SIGRTMIN", "value": 2147483647, "repeat": 2}"#, "scenario.processes[0].steps[0].repeat", "sival_int"),
        (#"{"op": "sigqueue", "process": "child", "signal": "SIGRTMIN", "value": 1, "pointer": "x"}"#, "scenario.processes[0].steps[0].pointer", "not both"),
        (#"{"op": "sigqueue", "process": "child", "signal": "SIGRTMIN", "pointer": "x", "repeat": 2}"#, "scenario.processes[0].steps[0].repeat", "once"),
        (#"{"op": "wait_signals", "count": 0}"#, "scenario.processes[0].steps[0].count", "1…4096"),
        (#"{"op": "wait_signals", "timeout_ms": 10001}"#, "scenario.processes[0].steps[0].timeout_ms", "0…10000"),
        (#"{"op": "read_pointer", "size": 4097}"#, "scenario.processes[0].steps[0].size", "1…4096"),
        (#"{"op": "fault", "kind": "bus"}"#, "scenario.processes[0].steps[0].kind", "\"segv\""),
        (#"{"op": "sigpending", "signal": "SIGUSR1"}"#, "scenario.processes[0].steps[0].signal", "unknown field"),
    ])
    func badFields(_ step: String, _ path: String, _ message: String) {
        guard let error = labError({ try decodeScenario(scenario([step])) }) else {
            Issue.record("accepted: \(step)")
            return
        }
        #expect(error.path == path, "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }
}
