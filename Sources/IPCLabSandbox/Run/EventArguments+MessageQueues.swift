import CIPCLab
import Glibc
import IPCLabCore

/// Argument names of the message-queue calls, and the state of a queue's snapshots.
extension EventArguments {
    static let messageQueueBlocking: Set<String> = ["msgsnd", "msgrcv", "mq_send", "mq_receive"]
    static let messageQueueMovesBytes: Set<String> = ["msgsnd", "msgrcv", "mq_send", "mq_receive"]

    func describeMessageQueueCall(_ r: RawRecord) -> [(String, JSONValue)]? {
        let a = r.args
        func int(_ v: Int64) -> JSONValue { .integer(v) }
        switch r.call {
        case "msgget":
            return [("key", int(a[0])), ("msgflg", .string(ipcFlags(a[1]))), ("channel", channel(a[2]))]
        case "msgsnd":
            return [("msqid", int(a[0])), ("msgsz", int(a[1])), ("mtype", int(a[2])), ("msgflg", .string(ipcFlags(a[3]))),
                    ("channel", channel(a[4]))]
        case "msgrcv":
            return [("msqid", int(a[0])), ("msgsz", int(a[1])), ("msgtyp", int(a[2])), ("msgflg", .string(ipcFlags(a[3]))),
                    ("channel", channel(a[4])), ("mtype", r.done && r.result >= 0 ? int(a[5]) : .null)]
        case "msgctl":
            return [("msqid", int(a[0])), ("cmd", a[1] == Int64(IPC_RMID) ? "IPC_RMID" : int(a[1])), ("channel", channel(a[2]))]
        case "mq_open":
            let attr: JSONValue = a[1] > 0 ? ["mq_maxmsg": int(a[1]), "mq_msgsize": int(a[2])] : .null
            return [("name", queueName(a[3])), ("oflag", .string(openFlags(Int32(truncatingIfNeeded: a[0])) + (Int32(truncatingIfNeeded: a[0]) & O_CREAT != 0 ? "|O_CREAT" : ""))),
                    ("mode", a[1] > 0 ? "0600" : .null), ("attr", attr), ("channel", channel(a[3]))]
        case "mq_send":
            return [("mqdes", int(a[0])), ("msg_len", int(a[1])), ("msg_prio", int(a[2])), ("channel", channel(a[3]))]
        case "mq_receive":
            return [("mqdes", int(a[0])), ("msg_len", int(a[1])), ("channel", channel(a[2])),
                    ("msg_prio", r.done && r.result >= 0 ? int(a[3]) : .null)]
        case "mq_setattr":
            return [("mqdes", int(a[0])), ("mq_flags", a[1] != 0 ? "O_NONBLOCK" : "0"), ("channel", channel(a[2]))]
        case "mq_notify":
            return [("mqdes", int(a[0])), ("sigev_notify", "SIGEV_SIGNAL"), ("sigev_signo", .string(SignalName.of(Int32(truncatingIfNeeded: a[1])))),
                    ("channel", channel(a[2]))]
        case "mq_unlink":
            return [("name", queueName(a[0])), ("channel", channel(a[0]))]
        case "sysctl":
            return [("name", "fs.mqueue.msg_max"), ("path", "/proc/sys/fs/mqueue/msg_max"), ("old", int(a[0])), ("new", int(a[1])),
                    ("now", int(a[3])), ("channel", channel(a[2]))]
        default:
            return nil
        }
    }

    /// A queue's depth: `msg_qnum`, `msg_qbytes`, … (IPC_STAT) or `mq_curmsgs`, `mq_maxmsg`, … (mq_getattr).
    func messageQueueObjectState(_ r: RawRecord) -> (state: [(String, Int64)], labels: [(String, String)])? {
        guard r.call == "message_queue" else { return nil }
        let a = r.args
        if a[7] != 0 {
            return ([("exists", 0)], [("errno", ErrnoName.of(Int32(truncatingIfNeeded: a[7])) ?? "E\(a[7])")])
        }
        if scenario.channels.indices.contains(Int(a[0])), case .messageQueue(.posix) = scenario.channels[Int(a[0])].spec {
            return ([("mq_curmsgs", a[1]), ("mq_maxmsg", a[2]), ("mq_msgsize", a[4])],
                    [("mq_flags", a[5] != 0 ? "O_NONBLOCK" : "0")])
        }
        return ([("msg_qnum", a[1]), ("msg_qbytes", a[2]), ("msg_cbytes", a[4]), ("msg_lspid", a[5]), ("msg_lrpid", a[6])], [])
    }

    /// The POSIX name of queue channel `c`.
    private func queueName(_ c: Int64) -> JSONValue {
        guard scenario.channels.indices.contains(Int(c)), case .messageQueue(.posix(let name, _, _, _)) = scenario.channels[Int(c)].spec else {
            return .null
        }
        return .string(name)
    }

    /// `0666|IPC_CREAT`, `IPC_NOWAIT|MSG_NOERROR`, `0`.
    private func ipcFlags(_ f: Int64) -> String {
        let flags = Int32(truncatingIfNeeded: f)
        var parts: [String] = []
        if flags & 0o777 != 0 { parts.append("0" + String(flags & 0o777, radix: 8)) }
        if flags & ipclab_IPC_CREAT != 0 { parts.append("IPC_CREAT") }
        if flags & ipclab_IPC_NOWAIT != 0 { parts.append("IPC_NOWAIT") }
        if flags & ipclab_MSG_NOERROR != 0 { parts.append("MSG_NOERROR") }
        return parts.isEmpty ? "0" : parts.joined(separator: "|")
    }
}
