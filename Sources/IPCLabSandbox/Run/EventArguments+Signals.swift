import CIPCLab
import Glibc
import IPCLabCore

/// Argument names of the signal calls, of the deliveries the handler records, and the
/// process-state snapshots of `proc_stat`.
extension EventArguments {
    func describe(_ call: SignalCall, _ r: RawRecord) -> [(String, JSONValue)] {
        let a = r.args
        switch call {
        case .deliver:
            return describeDelivery(a)
        case .sigaction:
            let handler: JSONValue = switch a[1] {
            case Int64(IPCLAB_DISPOSITION_IGNORE.rawValue): "SIG_IGN"
            case Int64(IPCLAB_DISPOSITION_HANDLE.rawValue): "handler"
            default: "SIG_DFL"
            }
            let flags: JSONValue = a[1] == Int64(IPCLAB_DISPOSITION_HANDLE.rawValue) ? (a[2] != 0 ? "SA_SIGINFO|SA_RESTART" : "SA_SIGINFO") : "0"
            let reply: JSONValue = a[3] > 0 ? ["signal": signal(a[3]), "process": process(a[4])] : .null
            var out: [(String, JSONValue)] = [("signal", signal(a[0])), ("handler", handler), ("flags", flags), ("reply", reply)]
            if a.count > 5 && a[5] >= 0 { out.append(("exit", .integer(a[5]))) }
            return out
        case .setresgid:
            // args[3]: the real gid after the call, as getgid() read it.
            return [("rgid", .integer(a[0])), ("egid", .integer(a[1])), ("sgid", .integer(a[2])), ("gid_now", .integer(a[3]))]
        case .setresuid:
            return [("ruid", .integer(a[0])), ("euid", .integer(a[1])), ("suid", .integer(a[2])), ("uid_now", .integer(a[3]))]
        case .setpgid:
            return [("pid", .integer(a[0])), ("pgid", .integer(a[1])), ("process", process(a[2])), ("group", process(a[3]))]
        case .kill:
            return [("pid", .integer(a[0])), ("signal", signal(a[1])), ("process", process(a[2])), ("from_handler", .bool(a[3] != 0)),
                    ("uid", .integer(a[4]))]
        case .sigqueue:
            let value: JSONValue = a[5] != 0 ? ["sival_ptr": hex(a[2])] : ["sival_int": .integer(a[2])]
            var out: [(String, JSONValue)] = [("pid", .integer(a[0])), ("signal", signal(a[1])), ("value", value), ("process", process(a[3])),
                                              ("uid", .integer(a[4]))]
            // A pointer names its buffer: mmap'ed after fork, or the static one that was there before fork.
            if a[5] != 0 { out.append(("buffer", a[5] == 2 ? "static" : "mmap")) }
            return out
        case .store:
            return [("address", hex(a[0])), ("count", .integer(a[2])), ("buffer", "static")]
        case .sigprocmask:
            let how: JSONValue = ["SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK"].indices.contains(Int(a[0]))
                ? .string(["SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK"][Int(a[0])]) : .integer(a[0])
            return [("how", how), ("set", signalSet(a[1])), ("oldset", r.done ? signalSet(a[2]) : .null)]
        case .sigpending:
            return [("set", signalSet(a[0]))]
        case .ppoll:
            return [("fds", .null), ("nfds", 0), ("timeout_ms", .integer(a[0])), ("sigmask", signalSet(a[3])),
                    ("handled", .integer(a[2])), ("until_handled", .integer(a[1]))]
        case .processVmReadv:
            return [("pid", .integer(a[0])), ("address", hex(a[1])), ("count", .integer(a[2]))]
        case .fault:
            let kind: JSONValue = a[0] == Int64(IPCLAB_FAULT_SEGV.rawValue) ? "segv" : "fpe"
            var out: [(String, JSONValue)] = [("kind", kind)]
            if a[0] == Int64(IPCLAB_FAULT_SEGV.rawValue) {
                out.append(("instruction", "store to NULL")); out.append(("address", hex(a[1])))
            } else {
                out.append(("instruction", "integer division by zero"))
            }
            out.append(("rlimit_core", a[2] == -1 ? "RLIM_INFINITY" : .integer(a[2])))
            return out
        case .mmap:
            return [("length", .integer(a[0])), ("prot", "PROT_READ|PROT_WRITE"), ("flags", "MAP_PRIVATE|MAP_ANONYMOUS")]
        case .procStatOpen:
            return [("path", .string("/proc/\(a[5])/stat")), ("flags", "O_RDONLY|O_CLOEXEC"), ("process", process(a[4]))]
        case .procStatRead:
            return [("fd", .integer(a[0])), ("count", .integer(a[1])), ("path", .string("/proc/\(a[5])/stat")), ("process", process(a[4]))]
        }
    }

    /// A delivery recorded by the handler: `siginfo_t` with names for the codes, and the
    /// sender's name when it is a process of the run.
    private func describeDelivery(_ a: RecordArgs) -> [(String, JSONValue)] {
        let signo = Int32(truncatingIfNeeded: a[0])
        let code = Int32(truncatingIfNeeded: a[1])
        var out: [(String, JSONValue)] = [("signal", signal(a[0])), ("si_signo", .integer(a[0])),
                                          ("si_code", .string(SigCode.name(code, signal: signo)))]
        let fault = [SIGSEGV, SIGFPE, SIGBUS, SIGILL].contains(signo) && code > 0
        if fault {
            out.append(("si_addr", hex(a[6])))
        } else {
            let pid = Int32(truncatingIfNeeded: a[2])
            out.append(("si_pid", .integer(a[2])))
            out.append(("si_uid", .integer(a[3])))
            out.append(("sender", processNames[pid].map(JSONValue.string) ?? .null))
            if SigCode.carriesValue(code) {
                out.append(("si_value", ["sival_int": .integer(Int64(Int32(truncatingIfNeeded: a[4]))), "sival_ptr": hex(a[5])]))
            } else {
                out.append(("si_value", .null))
            }
            if signo == SIGCHLD {
                out.append(("si_status", .integer(a[6])))
                if code != SigCode.cldExited { out.append(("status_signal", signal(a[6]))) }
            }
        }
        out.append(("handled", .integer(a[7])))
        return out
    }

    /// The state a `proc_stat` step read: `{"pid": 5, "state": "T", "meaning": "stopped"}`, or
    /// `{"pid": 5, "errno": "ENOENT"}` once the process is gone.
    func processObjectState(_ r: RawRecord) -> (state: [(String, Int64)], labels: [(String, String)])? {
        guard r.call == "process" else { return nil }
        let letter = UInt8(truncatingIfNeeded: r.args[1])
        var labels: [(String, String)] = []
        if letter != 0 {
            labels.append(("state", String(UnicodeScalar(letter))))
            labels.append(("meaning", ProcStat.meaning(letter)))
        }
        if let err = ErrnoName.of(Int32(truncatingIfNeeded: r.args[4])) { labels.append(("errno", err)) }
        return ([("pid", r.args[2])], labels)
    }

    /// A `proc_stat` snapshot is of a process (args[0]), not of a channel.
    func processObjectName(_ r: RawRecord) -> String? {
        guard r.call == "process" else { return nil }
        return process(r.args[0]).stringValue ?? "?"
    }

    func signal(_ n: Int64) -> JSONValue { .string(SignalName.of(Int32(truncatingIfNeeded: n))) }

    /// A set of signals (bit sig-1) as names, in order.
    func signalSet(_ bits: Int64) -> JSONValue {
        let set = UInt64(bitPattern: bits)
        return .array((1...64).filter { set & (1 << UInt64($0 - 1)) != 0 }.map { signal(Int64($0)) })
    }

    func hex(_ n: Int64) -> JSONValue { .string("0x" + String(UInt64(bitPattern: n), radix: 16)) }
}

extension JSONValue {
    fileprivate var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

extension ProcStat {
    /// What a state letter of `/proc/PID/stat` means (proc(5)).
    static func meaning(_ letter: UInt8) -> String {
        switch UnicodeScalar(letter) {
        case "R": "running"
        case "S": "sleeping"
        case "D": "waiting (uninterruptible)"
        case "T": "stopped"
        case "t": "tracing stop"
        case "Z": "zombie"
        case "X": "dead"
        case "I": "idle"
        default: "?"
        }
    }
}

/// `si_code` values by name (the kernel's `siginfo.h`), per signal where they overlap.
enum SigCode {
    static let cldExited: Int32 = 1

    static func carriesValue(_ code: Int32) -> Bool { code == -1 || code == -2 || code == -3 }

    static func name(_ code: Int32, signal: Int32) -> String {
        switch code {
        case 0: return "SI_USER"
        case 0x80: return "SI_KERNEL"
        case -1: return "SI_QUEUE"
        case -2: return "SI_TIMER"
        case -3: return "SI_MESGQ"
        case -4: return "SI_ASYNCIO"
        case -5: return "SI_SIGIO"
        case -6: return "SI_TKILL"
        default: break
        }
        let table: [String]
        switch signal {
        case SIGCHLD: table = ["CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"]
        case SIGSEGV: table = ["SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR"]
        case SIGFPE: table = ["FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB"]
        case SIGBUS: table = ["BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"]
        case SIGILL: table = ["ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK"]
        case SIGTRAP: table = ["TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT"]
        case SIGIO: table = ["POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"]
        default: table = []
        }
        return code >= 1 && Int(code) <= table.count ? table[Int(code) - 1] : "\(code)"
    }
}
