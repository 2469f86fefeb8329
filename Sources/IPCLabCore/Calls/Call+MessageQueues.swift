/// Message queues: System V (`msgget`…) and POSIX (`mq_open`…).
public enum MessageQueueCall: String, CallTable {
    case msgget, msgsnd, msgrcv, msgctl
    case mqOpen = "mq_open", mqSend = "mq_send", mqReceive = "mq_receive", mqSetattr = "mq_setattr"
    case mqNotify = "mq_notify", mqUnlink = "mq_unlink", sysctl

    public var spec: CallSpec {
        let f = CallFamily.messageQueues
        return switch self {
        case .msgget: call(f, [.integer(.key), .flags(.msgflg), .channel], "msgget(2): finds or makes the System V queue of a key.")
        case .msgsnd:
            call(f, [.integer(.msqid), .integer(.msgsz), .integer(.mtype), .flags(.msgflg), .channel], blocks: true, moves: .sends,
                 "msgsnd(2): puts one message of type mtype in the queue; blocks while it is full unless IPC_NOWAIT.")
        case .msgrcv:
            call(f, [.integer(.msqid), .integer(.msgsz), .integer(.msgtyp), .flags(.msgflg), .channel,
                     .integer(.mtype, .nullable("msgrcv failed or has not returned"))], blocks: true, moves: .receives,
                 "msgrcv(2): takes one whole message out, chosen by msgtyp; mtype is the type of the one it got.")
        case .msgctl: call(f, [.integer(.msqid), .flags(.cmd), .channel], "msgctl(2) IPC_RMID: removes the queue.")
        case .mqOpen:
            call(f, [.string(.name), .flags(.oflag), .init(.mode, .flags, .nullable("the queue is opened, not made")),
                     .init(.attr, .object, .nullable("the queue is opened, not made")), .channel],
                 "mq_open(3): opens (or makes, with mq_maxmsg and mq_msgsize) a POSIX queue by name.")
        case .mqSend:
            call(f, [.integer(.mqdes), .integer(.msgLen), .integer(.msgPrio), .channel], blocks: true, moves: .sends,
                 "mq_send(3): puts one message of priority msg_prio in the queue; blocks while it is full unless O_NONBLOCK.")
        case .mqReceive:
            call(f, [.integer(.mqdes), .integer(.msgLen), .channel, .integer(.msgPrio, .nullable("mq_receive failed or has not returned"))],
                 blocks: true, moves: .receives, "mq_receive(3): takes the oldest message of the highest priority out.")
        case .mqSetattr: call(f, [.integer(.mqdes), .flags(.mqFlags), .channel], "mq_setattr(3): sets or clears O_NONBLOCK on a descriptor.")
        case .mqNotify:
            call(f, [.integer(.mqdes), .string(.sigevNotify), .signal(.sigevSigno), .channel],
                 "mq_notify(3): asks for a signal when a message arrives in the empty queue.")
        case .mqUnlink: call(f, [.string(.name), .channel], "mq_unlink(3): removes a POSIX queue's name.")
        case .sysctl:
            call(f, [.string(.name), .string(.path), .integer(.old), .integer(.new), .integer(.now), .channel],
                 "Writes fs.mqueue.msg_max of the run's IPC namespace, so a larger queue can be made.")
        }
    }
}
