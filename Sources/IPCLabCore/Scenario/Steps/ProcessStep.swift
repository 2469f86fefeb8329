/// Steps that control the process itself.
public enum ProcessStep: StepFamily {
    /// `nanosleep(2)` for `ms` milliseconds.
    case sleep(ms: Int)
    /// `wait4(2)` for a named child process.
    case wait(process: String)
    /// `_exit(2)` with a status code.
    case exit(code: Int)
    /// Burns `ms` of CPU time in a loop (measured on the process's CPU clock): meets the `cpu_ms` limit.
    case spin(ms: Int)
    /// `mmap(2)` `bytes` of anonymous memory and write every page: meets the `memory_bytes` limit.
    case allocate(bytes: Int)
    /// `fork(2)` `count` children that sleep `sleepMs` then `_exit(0)`, stopping at the first fork that
    /// fails; then reap them. One aggregate event: meets the `processes` limit.
    case forkChildren(count: Int, sleepMs: Int)
    /// `open(2)` `/dev/null` `count` times, stopping at the first failure, then close them: meets `open_files`.
    case openFiles(count: Int)
    /// `write(2)` `bytes` into a new file `/tmp/<name>` in 64 KiB chunks: meets `file_bytes`.
    case writeFile(name: String, bytes: Int)

    /// Bounds of the limit steps, also stated in `openapi.yaml`.
    public enum Bounds {
        public static let spinMs = 1...60_000
        public static let allocateBytes = 1...(4 << 30)
        public static let forkCount = 1...4096
        public static let openCount = 1...65_536
        public static let fileBytes = 1...(1 << 30)
    }

    public static let ops = ["sleep", "wait", "exit", "spin", "allocate", "fork_children", "open_files", "write_file"]

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> ProcessStep {
        typealias B = Scenario.Bounds
        switch op {
        case "sleep": return .sleep(ms: try r.requiredInt("ms", in: B.sleepMs))
        case "wait": return .wait(process: try r.requiredString("process"))
        case "spin": return .spin(ms: try r.requiredInt("ms", in: Bounds.spinMs))
        case "allocate": return .allocate(bytes: try r.requiredInt("bytes", in: Bounds.allocateBytes))
        case "fork_children":
            return .forkChildren(count: try r.requiredInt("count", in: Bounds.forkCount),
                                 sleepMs: try r.int("sleep_ms", in: B.sleepMs) ?? 0)
        case "open_files": return .openFiles(count: try r.requiredInt("count", in: Bounds.openCount))
        case "write_file":
            let name = try r.requiredString("name")
            guard name.utf8.count <= 32, let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
                  name.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") })
            else { throw r.fail("name", "must be a file name of 1…32 characters a-z, 0-9, _ starting with a letter (the file is /tmp/<name>)") }
            return .writeFile(name: name, bytes: try r.requiredInt("bytes", in: Bounds.fileBytes))
        default: return .exit(code: try r.int("code", in: B.exitCode) ?? 0)
        }
    }

    public var op: String {
        switch self {
        case .sleep: "sleep"
        case .wait: "wait"
        case .exit: "exit"
        case .spin: "spin"
        case .allocate: "allocate"
        case .forkChildren: "fork_children"
        case .openFiles: "open_files"
        case .writeFile: "write_file"
        }
    }

    public var channel: String? { nil }

    public var fields: [String: JSONValue] {
        switch self {
        case .sleep(let ms): ["ms": .integer(Int64(ms))]
        case .wait(let p): ["process": .string(p)]
        case .exit(let code): ["code": .integer(Int64(code))]
        case .spin(let ms): ["ms": .integer(Int64(ms))]
        case .allocate(let bytes): ["bytes": .integer(Int64(bytes))]
        case let .forkChildren(count, sleepMs): ["count": .integer(Int64(count)), "sleep_ms": .integer(Int64(sleepMs))]
        case .openFiles(let count): ["count": .integer(Int64(count))]
        case let .writeFile(name, bytes): ["name": .string(name), "bytes": .integer(Int64(bytes))]
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
    public static func spin(ms: Int) -> Step { .process(.spin(ms: ms)) }
    public static func allocate(bytes: Int) -> Step { .process(.allocate(bytes: bytes)) }
    public static func forkChildren(count: Int, sleepMs: Int = 0) -> Step { .process(.forkChildren(count: count, sleepMs: sleepMs)) }
    public static func openFiles(count: Int) -> Step { .process(.openFiles(count: count)) }
    public static func writeFile(name: String, bytes: Int) -> Step { .process(.writeFile(name: name, bytes: bytes)) }
}
