import Glibc
import IPCLabCore
import CIPCLab

/// Names the raw integer arguments of each recorded call, and adds the scenario's
/// words (`channel`, `end`, process names) so a trace reads without the code.
struct EventArguments {
    let scenario: Scenario
    let processNames: [Int32: String]

    /// Calls that can block: their start and end are both reported.
    static let blocking: Set<String> = ["read", "write", "open", "wait4", "nanosleep"]

    func describe(_ r: RawRecord) -> [(String, JSONValue)] {
        let a = r.args
        func channel(_ i: Int64) -> JSONValue {
            scenario.channels.indices.contains(Int(i)) ? .string(scenario.channels[Int(i)].name) : .null
        }
        func end(_ i: Int64) -> JSONValue { i == 0 ? "read" : "write" }
        switch r.call {
        case "pipe":
            return [("fds", [.integer(a[0]), .integer(a[1])]), ("channel", channel(a[2]))]
        case "mkfifo":
            let path = scenario.channels.indices.contains(Int(a[1])) ? scenario.channels[Int(a[1])].path : nil
            return [("path", path.map(JSONValue.string) ?? .null), ("mode", .string(String(a[0], radix: 8).leftPadded(4))),
                    ("channel", channel(a[1]))]
        case "fork":
            let i = Int(a[0])
            return [("child", scenario.processes.indices.contains(i) ? .string(scenario.processes[i].name) : .null)]
        case "close":
            return [("fd", .integer(a[0])), ("channel", channel(a[1])), ("end", end(a[2]))]
        case "read", "write":
            return [("fd", .integer(a[0])), ("count", .integer(a[1])), ("channel", channel(a[2])),
                    ("end", r.call == "read" ? "read" : "write")]
        case "open":
            let path = scenario.channels.indices.contains(Int(a[1])) ? scenario.channels[Int(a[1])].path : nil
            return [("path", path.map(JSONValue.string) ?? .null), ("flags", .string(openFlags(Int32(a[0])))),
                    ("channel", channel(a[1])), ("end", end(a[2]))]
        case "fcntl":
            let cmd = Int32(a[1])
            var out: [(String, JSONValue)] = [("fd", .integer(a[0])), ("cmd", .string(fcntlName(cmd)))]
            if cmd == F_SETFL { out.append(("arg", .string(openFlags(Int32(a[2]))))) }
            if cmd == ipclab_F_SETPIPE_SZ { out.append(("arg", .integer(a[2]))) }
            out.append(("channel", channel(a[3])))
            return out
        case "nanosleep":
            return [("ms", .integer(a[0]))]
        case "wait4":
            let i = Int(a[2])
            var out: [(String, JSONValue)] = [("pid", .integer(a[0])),
                                              ("process", scenario.processes.indices.contains(i) ? .string(scenario.processes[i].name) : .null)]
            out.append(("status", r.done && r.result > 0 ? WaitStatus(Int32(truncatingIfNeeded: a[1])).json : .null))
            out.append(("options", .integer(0)))
            return out
        case "exit":
            return [("code", .integer(a[0]))]
        default:
            return a.enumerated().filter { $0.element != 0 }.map { ("arg\($0.offset)", .integer($0.element)) }
        }
    }

    private func fcntlName(_ cmd: Int32) -> String {
        switch cmd {
        case F_GETFL: "F_GETFL"
        case F_SETFL: "F_SETFL"
        case ipclab_F_GETPIPE_SZ: "F_GETPIPE_SZ"
        case ipclab_F_SETPIPE_SZ: "F_SETPIPE_SZ"
        default: "\(cmd)"
        }
    }

    private func openFlags(_ flags: Int32) -> String {
        var parts: [String] = []
        switch flags & O_ACCMODE {
        case O_RDONLY: parts.append("O_RDONLY")
        case O_WRONLY: parts.append("O_WRONLY")
        default: parts.append("O_RDWR")
        }
        if flags & O_NONBLOCK != 0 { parts.append("O_NONBLOCK") }
        return parts.joined(separator: "|")
    }
}

/// A `wait4` status word, decoded with the W* macros.
struct WaitStatus {
    var raw: Int32
    init(_ raw: Int32) { self.raw = raw }

    var exit: TraceProcess.Exit? {
        if ipclab_wifexited(raw) != 0 { return .code(Int(ipclab_wexitstatus(raw))) }
        if ipclab_wifsignaled(raw) != 0 {
            return .signal(name: SignalName.of(ipclab_wtermsig(raw)), coreDumped: ipclab_wcoredump(raw) != 0)
        }
        return nil
    }

    var json: JSONValue {
        switch exit {
        case .code(let c)?: return ["code": .integer(Int64(c))]
        case let .signal(name, core)?: return ["signal": .string(name), "core_dumped": .bool(core)]
        case nil: return .null
        }
    }
}

extension String {
    func leftPadded(_ n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }
}
