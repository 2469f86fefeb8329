import IPCLabCore
import Testing

/// The sandbox probe step of the scenario language: `try_syscall` takes one call from a fixed list.
@Suite("Sandbox steps: validation")
struct SandboxValidationTests {
    @Test("try_syscall reads back as written, for every call it knows")
    func knownCalls() throws {
        for call in SandboxStep.calls {
            let s = try decodeScenario(scenarioText(channels: [], parent: [#"{"op": "try_syscall", "call": "\#(call)"}"#], child: []))
            #expect(s.processes[0].steps.first == .trySyscall(call), "\(call)")
            #expect(s.processes[0].steps.first?.json == ["op": "try_syscall", "call": .string(call)])
        }
    }

    @Test("an unknown or missing call is a 400 naming the field", arguments: [
        (#"{"op": "try_syscall", "call": "execve"}"#, "scenario.processes[0].steps[0].call"),
        (#"{"op": "try_syscall", "call": 7}"#, "scenario.processes[0].steps[0].call"),
        (#"{"op": "try_syscall"}"#, "scenario.processes[0].steps[0].call"),
    ])
    func badCalls(_ step: String, _ path: String) {
        expectLabError(.invalidScenario, path: path) {
            try decodeScenario(scenarioText(channels: [], parent: [step], child: []))
        }
    }

    @Test("arguments cannot be chosen: an extra field is unknown")
    func noArguments() {
        expectLabError(.unknownField, path: "scenario.processes[0].steps[0].pid") {
            try decodeScenario(scenarioText(channels: [], parent: [#"{"op": "try_syscall", "call": "ptrace", "pid": 1}"#], child: []))
        }
    }
}
