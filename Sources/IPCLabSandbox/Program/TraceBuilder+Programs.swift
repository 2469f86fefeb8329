import CIPCLab
import IPCLabCore

/// A program run's processes are not the scenario's: a program forks (and execs) as it likes. Each
/// process that recorded a start is one of the trace's, named after its program: the first is the
/// program's name, the others `name.1`, `name.2`… in the order they started, each with its parent.
extension TraceBuilder {
    /// The processes of a program run, and their names by pid.
    static func programProcesses(_ records: [RawRecord], scenario: Scenario, reaps: [Int32: RawRecord]) -> ([TraceProcess], [Int32: String]) {
        var names: [Int32: String] = [:]
        var ppids: [Int32: Int32] = [:]
        var order: [Int32] = []
        var forks: [Int: Int] = [:]
        let starts = records.filter { $0.kind == IPCLAB_REC_START && scenario.processes.indices.contains($0.process) }
            .sorted { ($0.tBegin, $0.index) < ($1.tBegin, $1.index) }
        for r in starts where names[r.pid] == nil {
            // An exec keeps the pid (and so the name): only a new pid is a new process.
            let program = scenario.processes[r.process].name
            let n = forks[r.process, default: 0]
            forks[r.process] = n + 1
            names[r.pid] = n == 0 ? program : "\(program).\(n)"
            ppids[r.pid] = Int32(truncatingIfNeeded: r.args[0])
            order.append(r.pid)
        }
        let processes = order.map { pid -> TraceProcess in
            let reap = reaps[pid]
            return TraceProcess(
                name: names[pid]!, pid: pid, parent: ppids[pid].flatMap { names[$0] },
                exit: reap.flatMap { WaitStatus(Int32(truncatingIfNeeded: $0.args[1])).exit },
                userCPUNs: reap.flatMap { cpuNs($0.args[2]) }, systemCPUNs: reap.flatMap { cpuNs($0.args[3]) })
        }
        return (processes, names)
    }

    /// Whether a record is not the init's `output` of a process the trace does not know (one that never
    /// started traced, such as a static binary): such bytes have no process to be shown under.
    static func namedOutput(_ r: RawRecord, names: [Int32: String]) -> Bool {
        r.call != ProcessCall.output.rawValue || r.process != -1 || names[Int32(truncatingIfNeeded: r.args[3])] != nil
    }

    /// The argument a call's payload holds in a program run: the object's name, or the socket address.
    private static let textArgument = ["shm_open": "name", "shm_unlink": "name", "sem_open": "name", "sem_unlink": "name",
                                       "mq_open": "name", "mq_unlink": "name", "bind": "addr", "connect": "addr", "accept": "peer",
                                       "open": "path", "mkfifo": "path"]

    /// Names an event's process by its pid, and the processes its arguments reach (a fork's child,
    /// the process a wait reaped or a kill aimed at) by theirs: the interposer knows only pids.
    static func nameProgramEvent(_ e: inout TraceEvent, record r: RawRecord, names: [Int32: String], channels: inout ProgramChannels) {
        // A process's output is recorded by the run's init, which names the writer by its pid (OutputWatch).
        if r.call == ProcessCall.output.rawValue, r.kind == IPCLAB_REC_EVENT, r.process == -1 {
            e.pid = Int32(truncatingIfNeeded: r.args[3])
        }
        if let name = names[e.pid] { e.process = name }
        if let slot = ProgramChannels.inodeArgument[r.call], r.args[slot] > 0, let i = e.args.firstIndex(where: { $0.0 == "channel" }) {
            e.args[i].1 = .string(channels.name(inode: r.args[slot], fifo: r.call == "open"))
        }
        // What a scenario names by its channel, the interposer puts in the payload (ipc_trace.c).
        let text = JSONValue.string(String(decoding: r.payload.prefix { $0 != 0 }, as: UTF8.self))
        if let key = textArgument[r.call], r.payloadLength > 0, let i = e.args.firstIndex(where: { $0.0 == key }) { e.args[i].1 = text }
        channels.nameQueue(&e)
        func named(_ pid: Int64?) -> JSONValue {
            guard let pid, let name = names[Int32(truncatingIfNeeded: pid)] else { return .null }
            return .string(name)
        }
        for (i, (key, value)) in e.args.enumerated() {
            switch (e.call, key) {
            case ("fork", "child"): e.args[i].1 = named(e.result)
            case ("wait4", "process"), ("waitpid", "process"):
                e.args[i].1 = (e.result ?? 0) > 0 ? named(e.result) : value
            case (_, "process"):
                if case .integer(let pid)? = e.arg(.pid) { e.args[i].1 = named(pid) }
            default: break
            }
        }
    }
}

/// A program's pipes and FIFOs have no scenario names: each gets one by its inode (which both ends
/// share, in every process), in the order the trace first meets it — `pipe1`, `fifo2` — so that
/// what was written is paired with what was read (`transfers`) as for a scenario's pipes.
struct ProgramChannels {
    private var names: [Int64: String] = [:]

    /// Where the interposer puts a pipe's inode, by call (trace.c).
    static let inodeArgument = ["pipe": 2, "read": 2, "write": 2, "close": 1, "dup2": 2, "open": 1]

    /// A POSIX message queue or named semaphore is named by its name (`/lab_queue`): each process's
    /// handles (a queue's descriptor, a semaphore's address) as mq_open or sem_open returned them, a
    /// fork's child starting with a copy of its parent's.
    private var handles: [Int32: [String: String]] = [:]

    /// The handle a call's arguments hold: `mq:3` for a queue descriptor, `sem:0x7f…` for a semaphore.
    private static func handle(_ e: TraceEvent) -> String? {
        if e.call.hasPrefix("mq_"), case .integer(let mqdes)? = e.arg(.mqdes) { return "mq:\(mqdes)" }
        if e.call.hasPrefix("sem_"), case .string(let address)? = e.arg(.sem) { return "sem:\(address)" }
        return nil
    }

    /// Gives a queue's or a named semaphore's call the name of the object its handle reaches (events in order).
    mutating func nameQueue(_ e: inout TraceEvent) {
        switch e.call {
        case MessageQueueCall.mqOpen.name, SemaphoreCall.semOpen.name:
            let handle = e.call == SemaphoreCall.semOpen.name ? e.arg(.sem).flatMap { if case .string(let a) = $0 { "sem:\(a)" } else { nil } }
                : e.result.map { "mq:\($0)" }
            if let r = e.result, r >= 0, let handle, case .string(let name)? = e.arg(.name), !name.isEmpty {
                handles[e.pid, default: [:]][handle] = name
                Self.set(&e, channel: name)
            }
        case ProcessCall.fork.name:
            if let child = e.result, child > 0 { handles[Int32(truncatingIfNeeded: child)] = handles[e.pid] }
        default:
            if let handle = Self.handle(e), let name = handles[e.pid]?[handle] { Self.set(&e, channel: name) }
        }
    }

    private static func set(_ e: inout TraceEvent, channel: String) {
        if let i = e.args.firstIndex(where: { $0.0 == "channel" }) { e.args[i].1 = .string(channel) }
    }

    mutating func name(inode: Int64, fifo: Bool) -> String {
        if let name = names[inode] { return name }
        let name = (fifo ? "fifo" : "pipe") + String(names.count + 1)
        names[inode] = name
        return name
    }
}
