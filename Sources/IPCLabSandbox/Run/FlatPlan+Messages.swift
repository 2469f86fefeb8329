import CIPCLab
import IPCLabCore

/// Message-queue and socket channels, and the `send`, message-queue and socket steps, as the flat plan
/// carries them (`ipclab_plan.h`, the message block): each field the Swift participant reads
/// (Participant+Send.swift, +MessageQueues.swift, +Sockets.swift), where the header says it goes.
/// What the language leaves optional (a send's `type`, `priority` and `call`, a receive's `type` and
/// `size`) stays distinguishable from its default, so that the plan reads back as the scenario.
extension FlatPlan.Writer {
    mutating func compile(_ spec: MessageQueueChannel, into c: inout ipclab_plan_channel) {
        c.kind = UInt8(IPCLAB_PLAN_CHANNEL_MESSAGE_QUEUE.rawValue)
        switch spec {
        case .sysv(let key):
            c.sub = UInt8(IPCLAB_PLAN_MQ_SYSV.rawValue)
            c.a = Int64(key)
        case let .posix(name, maxMessages, messageSize, raise):
            c.sub = UInt8(IPCLAB_PLAN_MQ_POSIX.rawValue)
            c.path = pool.add(name)
            c.a = Int64(maxMessages)
            c.b = Int64(messageSize)
            c.flags = raise ? UInt8(IPCLAB_PLAN_MQ_RAISE_MSG_MAX) : 0
        }
    }

    mutating func compile(_ spec: SocketChannel, into c: inout ipclab_plan_channel) {
        c.kind = UInt8(IPCLAB_PLAN_CHANNEL_SOCKET.rawValue)
        let sub: ipclab_plan_socket
        switch spec {
        case let .tcp(address, port), let .udp(address, port):
            sub = spec.kind == "tcp" ? IPCLAB_PLAN_SOCKET_TCP : IPCLAB_PLAN_SOCKET_UDP
            c.a = Int64(address.value)
            c.b = Int64(port)
        case .unixStream(let path):
            sub = IPCLAB_PLAN_SOCKET_UNIX_STREAM
            c.path = pool.add(path)
        case .unixDgram(let path):
            sub = IPCLAB_PLAN_SOCKET_UNIX_DGRAM
            c.path = pool.add(path)
        case .socketpair(.stream): sub = IPCLAB_PLAN_SOCKET_PAIR_STREAM
        case .socketpair(.dgram): sub = IPCLAB_PLAN_SOCKET_PAIR_DGRAM
        case .socketpair(.seqpacket): sub = IPCLAB_PLAN_SOCKET_PAIR_SEQPACKET
        }
        c.sub = UInt8(sub.rawValue)
    }

    mutating func compile(_ step: SendStep) -> ipclab_plan_step {
        var s = Self.op(IPCLAB_OP_SEND)
        var flags: UInt32 = step.nonblocking ? UInt32(IPCLAB_PLAN_STEP_NONBLOCKING) : 0
        switch step.data {
        case .text(let text):
            s.text = pool.add(text)
        case .size(let n):
            // The runner makes the bytes ('a' + i % 26, PipeStep.Data.bytes): they are not carried.
            s.n.0 = Int64(n)
            flags |= UInt32(IPCLAB_PLAN_STEP_DATA_SIZE)
        }
        s.n.1 = Int64(step.count)
        s.n.2 = Int64(step.type ?? 0)        // 0: none given (1 is sent)
        s.n.3 = Int64(step.priority ?? -1)   // -1: none given (0 is sent)
        switch step.call {
        case .send?: flags |= UInt32(IPCLAB_PLAN_SEND_CALL_SEND)
        case .write?: flags |= UInt32(IPCLAB_PLAN_SEND_CALL_WRITE)
        case nil: break
        }
        s.flags = UInt16(flags)
        s.channel = channelIndex(step.channelName)
        return s
    }

    mutating func compile(_ step: MessageQueueStep) -> ipclab_plan_step {
        var s: ipclab_plan_step
        switch step {
        case let .receive(_, size, type, count, until, nonblocking, truncate):
            s = Self.op(IPCLAB_OP_RECEIVE)
            s.n.0 = Int64(size ?? 0)  // 0: the default (8192, or the queue's message size)
            s.n.1 = Int64(count)
            var flags: UInt32 = nonblocking ? UInt32(IPCLAB_PLAN_STEP_NONBLOCKING) : 0
            if truncate { flags |= UInt32(IPCLAB_PLAN_RECEIVE_TRUNCATE) }
            if let type {
                s.n.2 = Int64(type)
                flags |= UInt32(IPCLAB_PLAN_RECEIVE_TYPE)
            }
            s.flags = UInt16(flags)
            if let until { s.text = pool.add(until) }
        case .notify(_, let signal):
            s = Self.op(IPCLAB_OP_MQ_NOTIFY)
            s.sig = Int32(signal.number)
        case .openQueue:
            s = Self.op(IPCLAB_OP_OPEN_QUEUE)
        case .removeQueue:
            s = Self.op(IPCLAB_OP_REMOVE_QUEUE)
        }
        if let channel = step.channel { s.channel = channelIndex(channel) }
        return s
    }

    mutating func compile(_ step: SocketStep) -> ipclab_plan_step {
        var s: ipclab_plan_step
        switch step {
        case .socket: s = Self.op(IPCLAB_OP_SOCKET)
        case let .setsockopt(_, option, value):
            s = Self.op(IPCLAB_OP_SETSOCKOPT)
            s.n.0 = Int64(Participant.optionIndex(option))
            s.n.1 = Int64(value)
        case let .getsockopt(_, option):
            s = Self.op(IPCLAB_OP_GETSOCKOPT)
            s.n.0 = Int64(Participant.optionIndex(option))
        case .bind: s = Self.op(IPCLAB_OP_BIND)
        case .listen(_, let backlog):
            s = Self.op(IPCLAB_OP_LISTEN)
            s.n.0 = Int64(backlog)
        case .accept: s = Self.op(IPCLAB_OP_ACCEPT)
        case .connect: s = Self.op(IPCLAB_OP_CONNECT)
        case .waitReady: s = Self.op(IPCLAB_OP_WAIT_READY)
        case let .recv(_, size, count, untilEOF, nonblocking, call):
            s = Self.op(IPCLAB_OP_RECV)
            s.n.0 = Int64(size)
            s.n.1 = Int64(count)
            var flags: UInt32 = nonblocking ? UInt32(IPCLAB_PLAN_STEP_NONBLOCKING) : 0
            if untilEOF { flags |= UInt32(IPCLAB_PLAN_RECV_UNTIL_EOF) }
            if call == .read { flags |= UInt32(IPCLAB_PLAN_RECV_CALL_READ) }
            s.flags = UInt16(flags)
        case .shutdown(_, let how):
            s = Self.op(IPCLAB_OP_SHUTDOWN)
            s.n.0 = Int64(Self.shutdownHow(how).rawValue)
        case let .sendUntilFull(_, size, nonblocking):
            s = Self.op(IPCLAB_OP_SEND_UNTIL_FULL)
            s.n.0 = Int64(size)
            s.flags = nonblocking ? UInt16(IPCLAB_PLAN_STEP_NONBLOCKING) : 0
        case let .sendFD(_, path, data, attach, close):
            s = Self.op(IPCLAB_OP_SEND_FD)
            s.text = pool.add(path)
            // The data: a second string of the pool, by offset and length.
            let d = pool.add(data)
            s.n.2 = Int64(d.offset)
            s.n.3 = Int64(d.length)
            var flags: UInt32 = 0
            if attach { flags |= UInt32(IPCLAB_PLAN_SEND_FD_ATTACH) }
            if close { flags |= UInt32(IPCLAB_PLAN_SEND_FD_CLOSE) }
            s.flags = UInt16(flags)
        case .recvFD(_, let size):
            s = Self.op(IPCLAB_OP_RECV_FD)
            s.n.0 = Int64(size)
        }
        if let channel = step.channel { s.channel = channelIndex(channel) }
        return s
    }

    static func shutdownHow(_ how: SocketStep.How) -> ipclab_plan_shutdown {
        switch how {
        case .read: IPCLAB_PLAN_SHUT_READ
        case .write: IPCLAB_PLAN_SHUT_WRITE
        case .both: IPCLAB_PLAN_SHUT_BOTH
        }
    }
}
