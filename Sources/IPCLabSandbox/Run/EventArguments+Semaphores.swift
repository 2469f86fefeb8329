import CIPCLab
import Glibc
import IPCLabCore

/// Argument names of the semaphore calls, and a semaphore's state: its value and who is waiting.
extension EventArguments {
    /// `sem_wait` sleeps while the value is 0; `semop` may (sem_op −1 or 0).
    static let semaphoreBlocking: Set<String> = ["sem_wait", "semop"]

    func describeSemaphoreCall(_ r: RawRecord) -> [(String, JSONValue)]? {
        let a = r.args
        switch r.call {
        case "sem_open":
            var out: [(String, JSONValue)] = [("name", semName(a[0])), ("oflag", a[1] & Int64(O_CREAT) != 0 ? "O_CREAT" : "0"),
                                              ("mode", .string(String(a[2], radix: 8).leftPadded(4))), ("value", .integer(a[3])),
                                              ("channel", channel(a[0]))]
            if r.done && r.result > 0 { out.append(("sem", Self.addressText(r.result))) }
            return out
        case "sem_init":
            return [("sem", Self.addressText(a[1])), ("pshared", .integer(a[2])), ("value", .integer(a[3])), ("channel", channel(a[0]))]
        case "semget":
            return [("key", Self.addressText(a[0])), ("nsems", .integer(a[1])), ("semflg", .string(Self.ipcFlags(Int32(truncatingIfNeeded: a[2])))), ("channel", channel(a[3]))]
        case "semctl":
            let cmd = Int32(truncatingIfNeeded: a[2])
            var out: [(String, JSONValue)] = [("semid", .integer(a[0])), ("semnum", .integer(a[1])), ("cmd", .string(Self.semctlName(cmd)))]
            if cmd == ipclab_SETVAL { out.append(("value", .integer(a[3]))) }
            out.append(("channel", channel(a[4])))
            return out
        case "sem_wait", "sem_trywait", "sem_post":
            return [("sem", Self.addressText(a[1])), ("value_before", .integer(a[2])), ("channel", channel(a[0]))]
        case "semop":
            let flags = a[3] & Int64(IPC_NOWAIT) != 0 ? "IPC_NOWAIT" : "0"
            return [("semid", .integer(a[1])), ("sem_num", 0), ("sem_op", .integer(a[2])), ("sem_flg", .string(flags)),
                    ("value_before", .integer(a[4])), ("channel", channel(a[0]))]
        case "sem_close", "sem_destroy":
            return [("sem", Self.addressText(a[1])), ("channel", channel(a[0]))]
        case "sem_unlink":
            return [("name", semName(a[0])), ("channel", channel(a[0]))]
        default:
            return nil
        }
    }

    /// State of a semaphore, from a `semaphore` object record [channel, value, waiting mask, after, ncnt, zcnt, pid, errno]:
    /// its value; `waiting`, how many participants are inside a wait on it at that moment, and the `waiters` label
    /// naming them; for SysV also what `semctl` counts (GETNCNT, GETZCNT, GETPID). `exists` 0 after IPC_RMID.
    func semaphoreObjectState(_ r: RawRecord) -> (state: [(String, Int64)], labels: [(String, String)])? {
        guard r.call == "semaphore" else { return nil }
        let a = r.args
        let waiters = scenario.processes.indices.filter { $0 < 32 && a[2] & (Int64(1) << Int64($0)) != 0 }.map { scenario.processes[$0].name }
        let labels = [("waiters", waiters.joined(separator: ","))]
        if a[7] != 0 {
            return ([("exists", 0), ("waiting", Int64(waiters.count))], labels + [("errno", ErrnoName.of(Int32(truncatingIfNeeded: a[7])) ?? "E\(a[7])")])
        }
        var state: [(String, Int64)] = [("value", a[1]), ("waiting", Int64(waiters.count))]
        if scenario.channels.indices.contains(Int(a[0])), case .semaphore(let spec) = scenario.channels[Int(a[0])].spec, spec.type == .sysv {
            state += [("ncnt", a[4]), ("zcnt", a[5]), ("last_pid", a[6])]
        }
        return (state, labels)
    }

    private func semName(_ c: Int64) -> JSONValue {
        guard scenario.channels.indices.contains(Int(c)), case .semaphore(let s) = scenario.channels[Int(c)].spec else { return .null }
        return s.semName.map(JSONValue.string) ?? .null
    }

    static func semctlName(_ cmd: Int32) -> String {
        switch cmd {
        case ipclab_SETVAL: "SETVAL"
        case ipclab_GETVAL: "GETVAL"
        case ipclab_GETNCNT: "GETNCNT"
        case ipclab_GETZCNT: "GETZCNT"
        case ipclab_GETPID: "GETPID"
        case IPC_RMID: "IPC_RMID"
        default: "\(cmd)"
        }
    }
}
