import IPCLabCore

/// Message-queue and socket channels and the send, message-queue and socket ops (ipclab_plan.h's cmsg
/// block), read back by hand at the header's offsets, every field an op does not use checked empty.
extension FlatPlanDecoder {
    /// A message-queue (kind 5) or socket (kind 6) channel at `at`; nil for another kind.
    func messageChannel(_ at: Int, _ i: Int, name: String, string: (Int) throws(Failure) -> String) throws(Failure) -> Channel? {
        let kind = u8(at), sub = u8(at + 1), flags = u8(at + 2), a = i64(at + 32), b = i64(at + 40)
        guard kind == 5 || kind == 6 else { return nil }
        guard u8(at + 3) == 0, u32(at + 4) == 0, u32(at + 28) == 0, i64(at + 48) == 0 else { throw Failure(description: "channel \(i): unused fields set") }
        let hasPath = u32(at + 20) != 0
        if kind == 5 {
            switch sub {
            case 0:
                guard flags == 0, !hasPath, b == 0 else { throw Failure(description: "sysv queue \(i): flags, path or b") }
                return Channel(name: name, spec: .messageQueue(.sysv(key: Int(a))))
            case 1:
                guard flags & ~1 == 0 else { throw Failure(description: "posix queue \(i) flags \(flags)") }
                return Channel(name: name, spec: .messageQueue(.posix(name: try string(at + 16), maxMessages: Int(a), messageSize: Int(b),
                                                                      raiseMsgMax: flags == 1)))
            default:
                throw Failure(description: "queue \(i) sub \(sub)")
            }
        }
        guard flags == 0 else { throw Failure(description: "socket \(i) flags \(flags)") }
        switch sub {
        case 0, 1:
            guard !hasPath, (0...Int64(UInt32.max)).contains(a) else { throw Failure(description: "inet socket \(i)") }
            let address = IPv4Address(value: UInt32(a))
            return Channel(name: name, spec: .socket(sub == 0 ? .tcp(address: address, port: Int(b)) : .udp(address: address, port: Int(b))))
        case 2, 3:
            guard a == 0, b == 0 else { throw Failure(description: "unix socket \(i) with numbers") }
            let path = try string(at + 16)
            return Channel(name: name, spec: .socket(sub == 2 ? .unixStream(path: path) : .unixDgram(path: path)))
        case 4, 5, 6:
            guard a == 0, b == 0, !hasPath else { throw Failure(description: "socketpair \(i) with numbers or a path") }
            let type: SocketChannel.PairType = sub == 4 ? .stream : sub == 5 ? .dgram : .seqpacket
            return Channel(name: name, spec: .socket(.socketpair(type: type)))
        default:
            throw Failure(description: "socket \(i) sub \(sub)")
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    func messageStep(_ at: Int, channels: [Channel], string: (Int) throws(Failure) -> String,
                     pool: (Int, Int) throws(Failure) -> String) throws(Failure) -> Step {
        let op = u16(at), flags = u16(at + 2), c = Int(i16(at + 4))
        let n0 = Int(i64(at + 24)), n1 = Int(i64(at + 32)), n2 = Int(i64(at + 40)), n3 = Int(i64(at + 48))
        func fail(_ why: String) -> Failure { Failure(description: "op \(op) at \(at): \(why)") }
        guard i16(at + 6) == -1, i16(at + 8) == -1, i16(at + 10) == -1, i32(at + 16) == 0, i32(at + 20) == 0 else {
            throw fail("process, process2, end or reserved set")
        }
        guard op == 0x0702 || i32(at + 12) == 0 else { throw fail("a signal") }
        guard channels.indices.contains(c) else { throw fail("channel \(c)") }
        let channel = channels[c].name
        let hasText = u32(at + 60) != 0
        /// The numbers from `from` on are zero, and only `allowed` flags are set.
        func unused(numbersFrom from: Int, flags allowed: UInt16 = 0, text: Bool = false) throws(Failure) {
            let n = [n0, n1, n2, n3]
            guard n[from...].allSatisfy({ $0 == 0 }) else { throw fail("numbers from n[\(from)] set") }
            guard flags & ~allowed == 0 else { throw fail("flags \(flags)") }
            guard text || !hasText else { throw fail("a text") }
        }
        switch op {
        case 0x0601:
            guard flags & ~0xF == 0, flags & 0xC != 0xC else { throw fail("send flags \(flags)") }
            let data: PipeStep.Data
            if flags & 2 != 0 {
                guard !hasText else { throw fail("a sized send with a text") }
                data = .size(n0)
            } else {
                guard n0 == 0 else { throw fail("a text send with n[0]") }
                data = .text(try string(at + 56))
            }
            let call: SocketStep.SendCall? = flags & 4 != 0 ? .send : flags & 8 != 0 ? .write : nil
            return .send(channel: channel, data: data, repeat: n1, type: n2 == 0 ? nil : n2, priority: n3 == -1 ? nil : n3,
                         nonblocking: flags & 1 != 0, call: call)
        case 0x0701:
            try unused(numbersFrom: 3, flags: 0xD, text: true)
            guard flags & 8 != 0 || n2 == 0 else { throw fail("a msgtyp without its flag") }
            return .receive(channel: channel, size: n0 == 0 ? nil : n0, type: flags & 8 != 0 ? n2 : nil, repeat: n1,
                            until: hasText ? try string(at + 56) : nil, nonblocking: flags & 1 != 0, truncate: flags & 4 != 0)
        case 0x0702:
            try unused(numbersFrom: 0)
            guard let signal = Signal(number: Int(i32(at + 12))) else { throw fail("signal \(i32(at + 12))") }
            return .mqNotify(channel: channel, signal: signal)
        case 0x0703:
            try unused(numbersFrom: 0)
            return .openQueue(channel: channel)
        case 0x0704:
            try unused(numbersFrom: 0)
            return .removeQueue(channel: channel)
        case 0x0801, 0x0804, 0x0806, 0x0807, 0x0808:
            try unused(numbersFrom: 0)
            return [0x0801: Step.socket(channel: channel), 0x0804: .bind(channel: channel), 0x0806: .accept(channel: channel),
                    0x0807: .connect(channel: channel), 0x0808: .waitReady(channel: channel)][op]!
        case 0x0802, 0x0803:
            try unused(numbersFrom: op == 0x0802 ? 2 : 1)
            guard SocketStep.Option.allCases.indices.contains(n0) else { throw fail("option \(n0)") }
            // Participant.optionIndex numbers the options in the order the language lists them.
            let option = SocketStep.Option.allCases[n0]
            return op == 0x0802 ? .setsockopt(channel: channel, option, value: n1) : .getsockopt(channel: channel, option)
        case 0x0805:
            try unused(numbersFrom: 1)
            return .listen(channel: channel, backlog: n0)
        case 0x0809:
            try unused(numbersFrom: 2, flags: 0xD)
            return .recv(channel: channel, size: n0, repeat: n1, untilEOF: flags & 4 != 0, nonblocking: flags & 1 != 0,
                         call: flags & 8 != 0 ? .read : .recv)
        case 0x080A:
            try unused(numbersFrom: 1)
            let how: [SocketStep.How] = [.read, .write, .both]
            guard how.indices.contains(n0) else { throw fail("how \(n0)") }
            return .shutdown(channel: channel, how[n0])
        case 0x080B:
            try unused(numbersFrom: 1, flags: 1)
            return .sendUntilFull(channel: channel, size: n0, nonblocking: flags == 1)
        case 0x080C:
            guard n0 == 0, n1 == 0, flags & ~0xC == 0 else { throw fail("send_fd numbers or flags") }
            return .sendFD(channel: channel, path: try string(at + 56), data: try pool(n2, n3), attach: flags & 4 != 0, close: flags & 8 != 0)
        case 0x080D:
            try unused(numbersFrom: 1)
            return .recvFD(channel: channel, size: n0)
        default:
            throw fail("unknown")
        }
    }
}
