/// Steps that control the process itself.
public enum ProcessStep: StepFamily {
    /// `nanosleep(2)` for `ms` milliseconds.
    case sleep(ms: Int)
    /// `wait4(2)` for a named child process.
    case wait(process: String)
    /// `_exit(2)` with a status code.
    case exit(code: Int)

    public static let ops = ["sleep", "wait", "exit"]

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> ProcessStep {
        typealias B = Scenario.Bounds
        switch op {
        case "sleep": return .sleep(ms: try r.requiredInt("ms", in: B.sleepMs))
        case "wait": return .wait(process: try r.requiredString("process"))
        default: return .exit(code: try r.int("code", in: B.exitCode) ?? 0)
        }
    }

    public var op: String {
        switch self {
        case .sleep: "sleep"
        case .wait: "wait"
        case .exit: "exit"
        }
    }

    public var channel: String? { nil }

    public var fields: [String: JSONValue] {
        switch self {
        case .sleep(let ms): ["ms": .integer(Int64(ms))]
        case .wait(let p): ["process": .string(p)]
        case .exit(let code): ["code": .integer(Int64(code))]
        }
    }

    public func check(in scenario: Scenario, process: Int, at path: JSONPath) throws(LabError) {
        guard case .wait(let target) = self else { return }
        guard let t = scenario.processIndex(named: target) else {
            throw LabError(.invalidScenario, "no process named \"\(target)\"", path: path.key("process").description)
        }
        guard process == 0, t != 0 else {
            throw LabError(.invalidScenario,
                           "only the first process (\"\(scenario.processes[0].name)\", the parent of the others) can wait, and only for another process",
                           path: path.key("process").description)
        }
    }
}

extension Step {
    public static func sleep(ms: Int) -> Step { .process(.sleep(ms: ms)) }
    public static func wait(process: String) -> Step { .process(.wait(process: process)) }
    public static func exit(code: Int) -> Step { .process(.exit(code: code)) }
}
