/// Steps with signals: dispositions and handlers, sending, masks, waiting for deliveries,
/// faults the kernel turns into signals, and the process states signals change.
///
/// A signal only ever goes to a *named process of the same run*: there is no pid field, so
/// `-1`, pid 1, the server or the host cannot be named (and the run's PID namespace would not
/// let a pid reach them anyway).
public enum SignalStep: StepFamily {
    /// A disposition, as `sigaction(2)` sets it.
    public enum Action: String, Sendable, CaseIterable {
        /// `SIG_DFL`: the signal's default action (signal(7)).
        case `default`
        /// `SIG_IGN`.
        case ignore
        /// A handler (in the sandbox's C shim) that records each delivery with its `siginfo_t`.
        case handle
    }

    /// What a handler sends back from inside itself: `kill(process, signal)`.
    public struct Reply: Sendable, Equatable {
        public var signal: Signal
        public var process: String
        public init(signal: Signal, process: String) {
            self.signal = signal
            self.process = process
        }
    }

    /// What `sigqueue` carries in `si_value`.
    public enum Value: Sendable, Equatable {
        /// `sival_int`.
        case int(Int)
        /// `sival_ptr`: the address of a fresh buffer in the sender holding this text.
        case pointer(String)
        /// `sival_ptr`: the address of the program's static buffer, which exists before fork (every
        /// process has its own copy at that address); the sender puts this text in its copy.
        case staticPointer(String)
    }

    /// Where a sent pointer's buffer lives: `mmap`, made by the sender after fork; `static`, the
    /// program's static buffer, there before fork.
    public enum PointerBuffer: String, Sendable, CaseIterable {
        case mmap
        case `static`
    }

    /// `sigprocmask(2)`'s `how`.
    public enum MaskHow: String, Sendable, CaseIterable {
        case block
        case unblock
        case setmask
    }

    /// A fault the CPU reports and the kernel turns into a signal.
    public enum Fault: String, Sendable, CaseIterable {
        /// A write through a bad pointer: SIGSEGV.
        case segv
        /// An integer division by zero: SIGFPE.
        case fpe
    }

    /// `sigaction(2)` with `SA_SIGINFO`; `restart` adds `SA_RESTART`. A handler with `exit` ends the
    /// process with that status once it has recorded the delivery (the course's `int_handler` calls `exit(-1)`: 255).
    case sigaction(signal: Signal, action: Action, reply: Reply?, restart: Bool, exit: Int? = nil)
    /// `kill(2)` to a named process of the run, `repeat` times.
    case kill(process: String, signal: Signal, repeat: Int)
    /// `sigqueue(3)` to a named process of the run, `repeat` times (the i-th carries `value + i`).
    case sigqueue(process: String, signal: Signal, value: Value, repeat: Int)
    /// `sigprocmask(2)`.
    case sigprocmask(how: MaskHow, signals: [Signal])
    /// `sigpending(2)`.
    case sigpending
    /// `ppoll(2)` with this process's signal mask until its handlers have run `count` times
    /// in all (counting since the process started), or `timeout_ms` passed.
    case waitSignals(count: Int, timeoutMs: Int)
    /// `process_vm_readv(2)` of `size` bytes of this process's own memory at the address the
    /// last handled signal carried in `si_value.sival_ptr`. With `own`, the process first puts that text
    /// in its own copy of the static buffer (a `store` event), so what it finds there is known to be its own.
    case readPointer(size: Int, own: String?)
    /// Makes the CPU fault: the kernel sends SIGSEGV or SIGFPE.
    case fault(Fault)
    /// Reads `/proc/PID/stat` of a named process of the run: its state (R, S, T, Z…).
    case procStat(process: String)
    /// `setpgid(2)`: moves a named process of the run into the process group whose id is the pid of
    /// `group` (itself: a new group it leads), as a shell puts a job's processes in one group.
    case setpgid(process: String, group: String)
    /// `kill(2)` to a process group: `kill(-pgid, signal)`, the group whose id is the pid of the named
    /// process (as the terminal's Ctrl+C reaches the foreground group).
    case killGroup(group: String, signal: Signal)
    /// `setresgid(2)`: the process's real, effective and saved gid become `gid` of the run's user
    /// namespace (it maps 0…2 only: another id fails with EINVAL).
    case setresgid(gid: Int)
    /// `setresuid(2)`: the process's real, effective and saved uid become `uid` of the run's user
    /// namespace; leaving uid 0 drops the process's capabilities there (make it after setresgid).
    case setresuid(uid: Int)

    public static let ops = ["sigaction", "kill", "sigqueue", "sigprocmask", "sigpending", "wait_signals",
                             "read_pointer", "fault", "proc_stat", "setpgid", "kill_group", "setresgid", "setresuid"]

    /// Bounds of the signal steps, also stated in `openapi.yaml`.
    public enum Bounds {
        public static let count = 1...4096
        public static let timeoutMs = 0...10_000
        public static let value = Int(Int32.min)...Int(Int32.max)
        public static let pointerText = 1...64
        public static let readSize = 1...4096
        public static let maskSignals = 0...64
        /// The ids `setresuid`/`setresgid` accept (the run's user namespace maps 0…2; the kernel answers the rest).
        public static let id = 0...65534
        public static let exitStatus = 0...255
    }

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> SignalStep {
        typealias B = Bounds
        switch op {
        case "sigaction":
            let signal = try r.requiredSignal("signal")
            guard let action = try r.choice("action", Action.self) else {
                throw r.fail("action", "is required: \"default\", \"ignore\" or \"handle\"")
            }
            var reply: Reply?
            if let value = r.value("reply") {
                var rr = try JSONObjectReader(value, at: r.path.key("reply"), code: .invalidScenario)
                let sig = try rr.requiredSignal("signal")
                let process = try target(&rr)
                try rr.finish()
                guard action == .handle else { throw r.fail("reply", "only a handler can reply: set \"action\": \"handle\"") }
                reply = Reply(signal: sig, process: process)
            }
            let exit = try r.int("exit", in: B.exitStatus)
            if exit != nil && action != .handle { throw r.fail("exit", "only a handler can exit: set \"action\": \"handle\"") }
            return .sigaction(signal: signal, action: action, reply: reply, restart: try r.bool("restart") ?? false, exit: exit)
        case "kill":
            let process = try target(&r)
            return .kill(process: process, signal: try r.requiredSignal("signal"),
                         repeat: try r.int("repeat", in: Scenario.Bounds.repeats) ?? 1)
        case "sigqueue":
            let process = try target(&r)
            let signal = try r.requiredSignal("signal")
            let int = try r.int("value", in: B.value)
            let text = try r.string("pointer")
            let buffer = try r.choice("buffer", PointerBuffer.self)
            if buffer != nil && text == nil { throw r.fail("buffer", "goes with \"pointer\": it says where the pointed-to text lives") }
            let count = try r.int("repeat", in: Scenario.Bounds.repeats) ?? 1
            let value: Value
            switch (int, text) {
            case (_, nil):
                let v = int ?? 0
                guard B.value.contains(v + count - 1) else {
                    throw r.fail("repeat", "the last send would carry \(v + count - 1), beyond sival_int's \(B.value.upperBound)")
                }
                value = .int(v)
            case (nil, let t?):
                guard B.pointerText.contains(t.utf8.count) else {
                    throw r.fail("pointer", "must be 1…\(B.pointerText.upperBound) bytes of UTF-8: the text put in the buffer whose address is sent")
                }
                guard count == 1 else { throw r.fail("repeat", "a pointer is sent once") }
                value = buffer == .static ? .staticPointer(t) : .pointer(t)
            default:
                throw r.fail("pointer", "give either \"value\" (sival_int) or \"pointer\" (sival_ptr), not both")
            }
            return .sigqueue(process: process, signal: signal, value: value, repeat: count)
        case "sigprocmask":
            guard let how = try r.choice("how", MaskHow.self) else {
                throw r.fail("how", "is required: \"block\", \"unblock\" or \"setmask\"")
            }
            guard let items = try r.array("signals") else { throw r.fail("signals", "is required: a list of signals (may be empty)") }
            guard B.maskSignals.contains(items.count) else { throw r.fail("signals", "must have at most \(B.maskSignals.upperBound) signals") }
            var signals: [Signal] = []
            for (i, item) in items.enumerated() {
                signals.append(try Signal.decode(item, at: r.path.key("signals").index(i), code: .invalidScenario))
            }
            return .sigprocmask(how: how, signals: signals)
        case "sigpending":
            return .sigpending
        case "wait_signals":
            return .waitSignals(count: try r.int("count", in: B.count) ?? 1, timeoutMs: try r.int("timeout_ms", in: B.timeoutMs) ?? 1000)
        case "read_pointer":
            let own = try r.string("own")
            if let own, !B.pointerText.contains(own.utf8.count) {
                throw r.fail("own", "must be 1…\(B.pointerText.upperBound) bytes of UTF-8: the text put in this process's copy of the static buffer")
            }
            return .readPointer(size: try r.int("size", in: B.readSize) ?? 32, own: own)
        case "fault":
            guard let kind = try r.choice("kind", Fault.self) else { throw r.fail("kind", "is required: \"segv\" or \"fpe\"") }
            return .fault(kind)
        case "setpgid":
            let process = try target(&r)
            return .setpgid(process: process, group: try r.requiredString("group"))
        case "kill_group":
            return .killGroup(group: try r.requiredString("group"), signal: try r.requiredSignal("signal"))
        case "setresgid":
            guard let gid = try r.int("gid", in: B.id) else { throw r.fail("gid", "is required: the group id to take (0…2 are mapped)") }
            return .setresgid(gid: gid)
        case "setresuid":
            guard let uid = try r.int("uid", in: B.id) else { throw r.fail("uid", "is required: the user id to take (0…2 are mapped)") }
            return .setresuid(uid: uid)
        default:
            return .procStat(process: try target(&r))
        }
    }

    /// Reads the `process` a signal goes to. A `pid` is refused by name: there is no way to
    /// aim a signal at a number, so nothing outside the run can be named.
    private static func target(_ r: inout JSONObjectReader) throws(LabError) -> String {
        if r.has("pid") {
            _ = r.value("pid")
            throw r.fail("pid", "there is no pid field: a signal goes to a named process of this run (\"process\": NAME); "
                + "pids such as 1, -1, the server's or the host's cannot be targeted")
        }
        if let value = r.value("process") {
            guard case .string = value else {
                throw r.fail("process", "must be the name of a process of this run, not \(value.typeName)")
            }
        }
        return try r.requiredString("process")
    }

    public var op: String {
        switch self {
        case .sigaction: "sigaction"
        case .kill: "kill"
        case .sigqueue: "sigqueue"
        case .sigprocmask: "sigprocmask"
        case .sigpending: "sigpending"
        case .waitSignals: "wait_signals"
        case .readPointer: "read_pointer"
        case .fault: "fault"
        case .procStat: "proc_stat"
        case .setpgid: "setpgid"
        case .killGroup: "kill_group"
        case .setresgid: "setresgid"
        case .setresuid: "setresuid"
        }
    }

    public var channel: String? { nil }

    /// The processes the step names (signal targets and repliers), for validation.
    public var processes: [String] {
        switch self {
        case let .kill(p, _, _), let .sigqueue(p, _, _, _), let .procStat(p): [p]
        case let .sigaction(_, _, reply?, _, _): [reply.process]
        case let .setpgid(p, g): [p, g]
        case let .killGroup(g, _): [g]
        default: []
        }
    }

    public var fields: [String: JSONValue] {
        func int(_ n: Int) -> JSONValue { .integer(Int64(n)) }
        switch self {
        case let .sigaction(signal, action, reply, restart, exit):
            var o: [String: JSONValue] = ["signal": signal.json, "action": .string(action.rawValue)]
            if let reply { o["reply"] = ["signal": reply.signal.json, "process": .string(reply.process)] }
            if restart { o["restart"] = true }
            if let exit { o["exit"] = int(exit) }
            return o
        case let .kill(process, signal, count):
            var o: [String: JSONValue] = ["process": .string(process), "signal": signal.json]
            if count != 1 { o["repeat"] = int(count) }
            return o
        case let .sigqueue(process, signal, value, count):
            var o: [String: JSONValue] = ["process": .string(process), "signal": signal.json]
            switch value {
            case .int(let v): o["value"] = int(v)
            case .pointer(let t): o["pointer"] = .string(t)
            case .staticPointer(let t): o["pointer"] = .string(t); o["buffer"] = .string(PointerBuffer.static.rawValue)
            }
            if count != 1 { o["repeat"] = int(count) }
            return o
        case let .sigprocmask(how, signals):
            return ["how": .string(how.rawValue), "signals": .array(signals.map(\.json))]
        case .sigpending:
            return [:]
        case let .waitSignals(count, timeout):
            return ["count": int(count), "timeout_ms": int(timeout)]
        case let .readPointer(size, own):
            var o: [String: JSONValue] = ["size": int(size)]
            if let own { o["own"] = .string(own) }
            return o
        case let .fault(kind):
            return ["kind": .string(kind.rawValue)]
        case let .procStat(process):
            return ["process": .string(process)]
        case let .setpgid(process, group):
            return ["process": .string(process), "group": .string(group)]
        case let .killGroup(group, signal):
            return ["group": .string(group), "signal": signal.json]
        case let .setresgid(gid):
            return ["gid": int(gid)]
        case let .setresuid(uid):
            return ["uid": int(uid)]
        }
    }

    public func check(in scenario: Scenario, process: Int, at path: JSONPath) throws(LabError) {
        for name in processes where scenario.processIndex(named: name) == nil {
            let at: JSONPath = switch self {
            case .sigaction: path.key("reply").key("process")
            case .killGroup: path.key("group")
            case .setpgid(let p, _) where p != name: path.key("group")
            default: path.key("process")
            }
            let known = scenario.processes.map(\.name).joined(separator: ", ")
            throw LabError(.invalidScenario,
                           "no process named \"\(name)\" in this run (processes: \(known)); signals go only to the run's own processes",
                           path: at.description)
        }
    }
}

extension Step {
    public static func sigaction(_ signal: Signal, _ action: SignalStep.Action, reply: SignalStep.Reply? = nil,
                                 restart: Bool = false, exit: Int? = nil) -> Step {
        .signal(.sigaction(signal: signal, action: action, reply: reply, restart: restart, exit: exit))
    }
    public static func kill(_ process: String, _ signal: Signal, repeat count: Int = 1) -> Step {
        .signal(.kill(process: process, signal: signal, repeat: count))
    }
    public static func sigqueue(_ process: String, _ signal: Signal, value: SignalStep.Value, repeat count: Int = 1) -> Step {
        .signal(.sigqueue(process: process, signal: signal, value: value, repeat: count))
    }
    public static func sigprocmask(_ how: SignalStep.MaskHow, _ signals: [Signal]) -> Step {
        .signal(.sigprocmask(how: how, signals: signals))
    }
    public static var sigpending: Step { .signal(.sigpending) }
    public static func waitSignals(count: Int, timeoutMs: Int) -> Step { .signal(.waitSignals(count: count, timeoutMs: timeoutMs)) }
    public static func readPointer(size: Int, own: String? = nil) -> Step { .signal(.readPointer(size: size, own: own)) }
    public static func fault(_ kind: SignalStep.Fault) -> Step { .signal(.fault(kind)) }
    public static func procStat(_ process: String) -> Step { .signal(.procStat(process: process)) }
    public static func setpgid(_ process: String, group: String) -> Step { .signal(.setpgid(process: process, group: group)) }
    public static func killGroup(_ group: String, _ signal: Signal) -> Step { .signal(.killGroup(group: group, signal: signal)) }
    public static func setresgid(_ gid: Int) -> Step { .signal(.setresgid(gid: gid)) }
    public static func setresuid(_ uid: Int) -> Step { .signal(.setresuid(uid: uid)) }
}
