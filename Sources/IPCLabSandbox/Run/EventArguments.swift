import Glibc
import IPCLabCore
import CIPCLab

/// Names the raw integer arguments of each recorded call, and adds the scenario's
/// words (`channel`, `end`, process names) so a trace reads without the code.
struct EventArguments {
    let scenario: Scenario
    let processNames: [Int32: String]

    /// Calls that can block: their start and end are both reported.
    static let blocking: Set<String> = processBlocking.union(pipeBlocking).union(signalBlocking)
        .union(sharedMemoryBlocking).union(semaphoreBlocking)
        .union(messageQueueBlocking).union(socketBlocking)

    /// Calls whose bytes are shown as a payload (when they moved any).
    static let movesBytes: Set<String> = Set(["read", "write"]).union(sharedMemoryMovesBytes)
        .union(messageQueueMovesBytes).union(socketMovesBytes).union(signalMovesBytes)

    /// Each family names the calls it records (`EventArguments+<Family>.swift`).
    func describe(_ r: RawRecord) -> [(String, JSONValue)] {
        describeBenchCall(r) // first: every record of a bench step is the loop's own
            ?? describeSandboxCall(r)
            ?? describeProcessCall(r)
            ?? describeSocketCall(r) // before the pipes': it names read/write on a socket channel
            ?? describePipeCall(r)
            ?? describeSignalCall(r)
            ?? describeSharedMemoryCall(r)
            ?? describeSemaphoreCall(r)
            ?? describeMessageQueueCall(r)
            ?? r.args.enumerated().filter { $0.element != 0 }.map { ("arg\($0.offset)", .integer($0.element)) }
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
