import CIPCLab
import Glibc
import IPCLabCore

/// Message-queue steps. Per process, a queue's `ChannelEnds.handle` is its System V id or
/// POSIX descriptor, and `size` the descriptor's `O_NONBLOCK` flag as last set.
extension Participant {
    /// `msgget(2)` or `mq_open(3)`, before anyone forks. A POSIX queue larger than the IPC
    /// namespace's `fs.mqueue.msg_max` first raises that limit, in the run's own namespace.
    mutating func createMessageQueueChannel(_ i: Int, _ spec: MessageQueueChannel) {
        switch spec {
        case .sysv(let key):
            let flags = 0o666 | ipclab_IPC_CREAT
            let idCall = Recorder.returned(.messageQueues(.msgget), step: nil, args: [Int64(key), Int64(flags), Int64(i)]) { Int(ipclab_msgget(Int32(key), flags)) }
            let id = Int32(truncatingIfNeeded: idCall.result)
            let slot = idCall.slot
            if id >= 0 { ends[i].handle = Int64(id) }
            queueSnapshot(i, after: slot)
        case let .posix(name, maxMessages, messageSize, raise):
            if raise { raiseMsgMax(to: maxMessages, channel: i) }
            let oflag = O_CREAT | O_RDWR
            let qCall = Recorder.returned(.messageQueues(.mqOpen), step: nil, args: [Int64(oflag), Int64(maxMessages), Int64(messageSize), Int64(i)]) { Int(ipclab_mq_open(name, oflag, maxMessages, messageSize)) }
            let q = Int32(truncatingIfNeeded: qCall.result)
            let slot = qCall.slot
            if q >= 0 { ends[i].handle = Int64(q) }
            queueSnapshot(i, after: slot)
        }
    }

    /// Writes `fs.mqueue.msg_max` when `wanted` is above it. The file belongs to the run's IPC
    /// namespace (its /proc is the run's own), whose owner is the run's user namespace.
    private func raiseMsgMax(to wanted: Int, channel i: Int) {
        let path = "/proc/sys/fs/mqueue/msg_max"
        let current = Self.readNumber(path)
        guard current >= 0, wanted > current else { return }
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        var r = -1
        var err: Int32 = 0
        if fd >= 0 {
            let text = Array("\(wanted)\n".utf8)
            r = Glibc.write(fd, text, text.count)
            err = r < 0 ? errno : 0
            Glibc.close(fd)
        } else {
            err = errno
        }
        Recorder.instant(.messageQueues(.sysctl), step: nil, args: [Int64(current), Int64(wanted), Int64(i), Int64(Self.readNumber(path))],
                         result: r, errno: err)
    }

    static func readNumber(_ path: String) -> Int {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return -1 }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = Glibc.read(fd, &buffer, buffer.count)
        guard n > 0 else { return -1 }
        let digits = buffer[0..<n].prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return Int(String(decoding: digits, as: UTF8.self)) ?? -1
    }

    mutating func runMessageQueueStep(_ step: MessageQueueStep, at i: Int) {
        switch step {
        case let .receive(channel, size, type, count, until, nonblocking, truncate):
            let c = channelIndex(channel)
            guard case .messageQueue(let spec) = scenario.channels[c].spec else { return }
            let cap: Int
            switch spec {
            case .sysv: cap = size ?? MessageQueueStep.Bounds.defaultSysVSize
            case .posix(_, _, let messageSize, _): cap = size ?? messageSize
            }
            let limit = until == nil ? count : MessageQueueStep.Bounds.untilLimit
            for _ in 0..<limit {
                guard let text = receiveMessage(c, spec, cap: cap, msgtyp: type ?? 0, nonblocking: nonblocking,
                                                truncate: truncate, step: i) else { return }
                if let until, text.starts(with: Array(until.utf8)) { return }
            }
        case let .notify(channel, signal):
            let c = channelIndex(channel)
            let q = Int32(truncatingIfNeeded: ends[c].handle)
            Recorder.returned(.messageQueues(.mqNotify), step: i, args: [Int64(q), Int64(signal.number), Int64(c)]) { Int(ipclab_mq_notify_signal(q, Int32(signal.number), 0)) }
        case let .openQueue(channel):
            let c = channelIndex(channel)
            switch scenario.channels[c].spec {
            case .messageQueue(.sysv(let key)):
                let flags = 0o666 | ipclab_IPC_CREAT
                let idCall = Recorder.returned(.messageQueues(.msgget), step: i, args: [Int64(key), Int64(flags), Int64(c)]) { Int(ipclab_msgget(Int32(key), flags)) }
                let id = Int32(truncatingIfNeeded: idCall.result)
                if id >= 0 { ends[c].handle = Int64(id) }
            case .messageQueue(.posix(let name, _, _, _)):
                let oflag = O_RDWR
                let qCall = Recorder.returned(.messageQueues(.mqOpen), step: i, args: [Int64(oflag), 0, 0, Int64(c)]) { Int(ipclab_mq_open(name, oflag, 0, 0)) }
                let q = Int32(truncatingIfNeeded: qCall.result)
                if q >= 0 { ends[c].handle = Int64(q); ends[c].size = 0 }
            default:
                break
            }
        case let .removeQueue(channel):
            let c = channelIndex(channel)
            switch scenario.channels[c].spec {
            case .messageQueue(.sysv):
                let id = Int32(truncatingIfNeeded: ends[c].handle)
                Recorder.returned(.messageQueues(.msgctl), step: i, args: [Int64(id), Int64(IPC_RMID), Int64(c)]) { Int(ipclab_msgctl_rmid(id)) }
            case .messageQueue(.posix(let name, _, _, _)):
                Recorder.returned(.messageQueues(.mqUnlink), step: i, args: [Int64(c)]) { Int(ipclab_mq_unlink(name)) }
            default:
                break
            }
        }
    }

    /// `send` on a queue: `msgsnd(2)` or `mq_send(3)`, `count` times (stopping at an error).
    mutating func sendToQueue(_ step: SendStep, _ c: Int, _ spec: MessageQueueChannel, at i: Int) {
        let bytes = step.data.bytes
        switch spec {
        case .sysv:
            let id = Int32(truncatingIfNeeded: ends[c].handle)
            let type = step.type ?? 1
            let flags = step.nonblocking ? ipclab_IPC_NOWAIT : 0
            for _ in 0..<step.count {
                // A send returns 0, not a count: its payload is the whole message when it succeeded.
                let sent = bytes.withUnsafeBytes { buf in
                    Recorder.call(.messageQueues(.msgsnd), step: i, args: [Int64(id), Int64(bytes.count), Int64(type), Int64(flags), Int64(c)],
                                  payload: buf, moved: { $0 == 0 ? buf.count : 0 }) {
                        Int(ipclab_msgsnd(id, Int64(type), buf.baseAddress, buf.count, flags))
                    }
                }
                queueSnapshot(c, after: sent.slot)
                if sent.result < 0 { return }
            }
        case .posix:
            let q = Int32(truncatingIfNeeded: ends[c].handle)
            setQueueNonblocking(c, step.nonblocking, step: i)
            let priority = step.priority ?? 0
            for _ in 0..<step.count {
                let sent = bytes.withUnsafeBytes { buf in
                    Recorder.call(.messageQueues(.mqSend), step: i, args: [Int64(q), Int64(bytes.count), Int64(priority), Int64(c)],
                                  payload: buf, moved: { $0 == 0 ? buf.count : 0 }) {
                        Int(ipclab_mq_send(q, buf.baseAddress, buf.count, UInt32(priority)))
                    }
                }
                queueSnapshot(c, after: sent.slot)
                if sent.result < 0 { return }
            }
        }
    }

    /// One `msgrcv(2)` or `mq_receive(3)`; the message's text, or nil when the call failed.
    private mutating func receiveMessage(_ c: Int, _ spec: MessageQueueChannel, cap: Int, msgtyp: Int, nonblocking: Bool,
                                         truncate: Bool, step: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: cap)
        let got: Recorder.Outcome
        switch spec {
        case .sysv:
            let id = Int32(truncatingIfNeeded: ends[c].handle)
            let flags = (nonblocking ? ipclab_IPC_NOWAIT : 0) | (truncate ? ipclab_MSG_NOERROR : 0)
            // args[5] gets the type of the message received, once it is known.
            var type: Int64 = 0
            got = buffer.withUnsafeMutableBytes { buf in
                Recorder.call(.messageQueues(.msgrcv), step: step, args: [Int64(id), Int64(cap), Int64(msgtyp), Int64(flags), Int64(c), 0],
                              payload: UnsafeRawBufferPointer(buf), amend: { $0.pointee.args.5 = type }) {
                    ipclab_msgrcv(id, Int64(msgtyp), flags, buf.baseAddress, cap, &type)
                }
            }
        case .posix:
            let q = Int32(truncatingIfNeeded: ends[c].handle)
            setQueueNonblocking(c, nonblocking, step: step)
            // args[3] gets the priority of the message received.
            var priority: UInt32 = 0
            got = buffer.withUnsafeMutableBytes { buf in
                Recorder.call(.messageQueues(.mqReceive), step: step, args: [Int64(q), Int64(cap), Int64(c), 0],
                              payload: UnsafeRawBufferPointer(buf), amend: { $0.pointee.args.3 = Int64(priority) }) {
                    ipclab_mq_receive(q, buf.baseAddress, cap, &priority)
                }
            }
        }
        queueSnapshot(c, after: got.slot)
        return got.result >= 0 ? Array(buffer[0..<got.result]) : nil
    }

    /// `mq_setattr(3)` when this descriptor's `O_NONBLOCK` must change.
    private mutating func setQueueNonblocking(_ c: Int, _ nonblocking: Bool, step: Int) {
        let want = nonblocking ? Int(ipclab_O_NONBLOCK) : 0
        guard ends[c].size != want else { return }
        let q = Int32(truncatingIfNeeded: ends[c].handle)
        let rCall = Recorder.returned(.messageQueues(.mqSetattr), step: step, args: [Int64(q), Int64(want), Int64(c)]) { Int(ipclab_mq_set_nonblocking(q, nonblocking ? 1 : 0)) }
        let r = Int32(truncatingIfNeeded: rCall.result)
        if r == 0 { ends[c].size = want }
    }

    /// Records the queue's depth after the record `after`: `msgctl(IPC_STAT)` or `mq_getattr(3)`.
    /// When the kernel answers an error (the queue was removed meanwhile), args[7] keeps its errno.
    func queueSnapshot(_ c: Int, after slot: UInt32) {
        guard ends[c].handle >= 0, case .messageQueue(let spec) = scenario.channels[c].spec else { return }
        let after = Int64(slot == Recorder.none ? -1 : Int64(slot))
        let args: [Int64]
        switch spec {
        case .sysv:
            var st = ipclab_msq_status()
            let r = ipclab_msgctl_stat(Int32(truncatingIfNeeded: ends[c].handle), &st)
            args = [Int64(c), st.qnum, st.qbytes, after, st.cbytes, st.lspid, st.lrpid, r == 0 ? 0 : Int64(errno)]
        case .posix:
            var st = ipclab_mq_status()
            let r = ipclab_mq_getattr(Int32(truncatingIfNeeded: ends[c].handle), &st)
            args = [Int64(c), st.curmsgs, st.maxmsg, after, st.msgsize, st.flags, 0, r == 0 ? 0 : Int64(errno)]
        }
        Recorder.record(IPCLAB_REC_OBJECT, "message_queue", step: nil, args: args, result: 0)
    }
}
