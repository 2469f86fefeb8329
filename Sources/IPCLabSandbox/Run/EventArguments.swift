import Glibc
import IPCLabCore
import CIPCLab

/// Names the raw integer arguments of each recorded call, and adds the scenario's
/// words (`channel`, `end`, process names) so a trace reads without the code.
struct EventArguments {
    let scenario: Scenario
    let processNames: [Int32: String]

    /// The call a record stands for: a bench step's records are its loops' own and a sandbox
    /// step's are its probes (both named by the step), any other record names its call by the
    /// key of its table (`Call+<Family>.swift`). Nil for a key no table has: the ring is the
    /// run's to write, so it may hold anything.
    func call(of r: RawRecord) -> Call? {
        if let i = r.step, scenario.processes.indices.contains(r.process), scenario.processes[r.process].steps.indices.contains(i) {
            switch scenario.processes[r.process].steps[i] {
            case .bench: return .bench(BenchCall(rawValue: r.call) ?? .failed)
            case .sandbox: return SandboxCall(rawValue: r.call).map(Call.sandbox)
            default: break
            }
        }
        return Call(key: r.call)
    }

    /// The arguments of a record, named as its call's table says (`EventArguments+<Family>.swift`).
    func describe(_ r: RawRecord, as call: Call) -> [(String, JSONValue)] {
        switch call {
        case .pipes(let c): describe(c, r)
        case .fifos(let c): describe(c, r)
        case .sharedMemory(let c): describe(c, r)
        case .semaphores(let c): describe(c, r)
        case .messageQueues(let c): describe(c, r)
        case .signals(let c): describe(c, r)
        case .sockets(let c): describe(c, r)
        case .process(let c): describe(c, r)
        case .sandbox(let c): describe(c, r)
        case .bench(let c): describe(c, r)
        }
    }

    /// Names the state of an object snapshot: each family names its own kinds (every kind keeps
    /// args[0] = the channel, args[3] = the record it follows); a pipe's is its bytes and capacity.
    func objectState(_ r: RawRecord) -> (state: [(String, Int64)], labels: [(String, String)]) {
        sharedMemoryObjectState(r) ?? semaphoreObjectState(r) ?? processObjectState(r)
            ?? messageQueueObjectState(r) ?? socketObjectState(r)
            ?? ([("bytes", r.args[1]), ("capacity", r.args[2])], [])
    }

    /// The scenario name of a snapshot's object: a process for `proc_stat`'s, else a channel (args[0]).
    func objectName(_ r: RawRecord) -> String {
        processObjectName(r) ?? (scenario.channels.indices.contains(Int(r.args[0])) ? scenario.channels[Int(r.args[0])].name : "?")
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
