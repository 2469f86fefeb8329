import Glibc
import IPCLabCore
import CIPCLab

/// Names the raw integer arguments of each recorded call, and adds the scenario's
/// words (`channel`, `end`, process names) so a trace reads without the code.
struct EventArguments {
    let scenario: Scenario
    let processNames: [Int32: String]

    /// Calls that can block: their start and end are both reported.
    static let blocking: Set<String> = processBlocking.union(pipeBlocking)

    /// Each family names the calls it records (`EventArguments+<Family>.swift`).
    func describe(_ r: RawRecord) -> [(String, JSONValue)] {
        describeProcessCall(r)
            ?? describePipeCall(r)
            ?? r.args.enumerated().filter { $0.element != 0 }.map { ("arg\($0.offset)", .integer($0.element)) }
    }

    /// The name of channel `i`, or null.
    func channel(_ i: Int64) -> JSONValue {
        scenario.channels.indices.contains(Int(i)) ? .string(scenario.channels[Int(i)].name) : .null
    }

    /// The name of process `i`, or null.
    func process(_ i: Int64) -> JSONValue {
        scenario.processes.indices.contains(Int(i)) ? .string(scenario.processes[Int(i)].name) : .null
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
