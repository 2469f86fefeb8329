import IPCLabCore

/// Signal and sandbox-probe ops read back by hand (ipclab_plan.h's offsets), with the fields each op
/// does not use checked empty, as the C validator's rules and `valid_signal_step` expect.
extension FlatPlanDecoder {
    // swiftlint:disable:next cyclomatic_complexity function_body_length
    func signalStep(_ at: Int, processes: [String], string: (Int) throws(Failure) -> String) throws(Failure) -> Step {
        let op = u16(at), flags = u16(at + 2), p = Int(i16(at + 6)), p2 = Int(i16(at + 8)), sig = Int(i32(at + 12))
        let n = [i64(at + 24), i64(at + 32), i64(at + 40), i64(at + 48)].map(Int.init)
        let hasText = u32(at + 60) != 0
        guard i16(at + 4) == -1, i16(at + 10) == -1, i32(at + 16) == 0, i32(at + 20) == 0, n[3] == 0 else {
            throw Failure(description: "op \(op): channel, end, reserved or n[3] set")
        }
        func fail(_ why: String) -> Failure { Failure(description: "op \(op): \(why)") }
        func process(_ i: Int) throws(Failure) -> String {
            guard processes.indices.contains(i) else { throw fail("process \(i)") }
            return processes[i]
        }
        func signal() throws(Failure) -> Signal {
            guard let s = Signal(number: sig) else { throw fail("signal \(sig)") }
            return s
        }
        /// Which fields the op uses: the others must be empty.
        func only(process usesProcess: Bool = false, group: Bool = false, signal usesSignal: Bool = false,
                  numbers: Int = 0, text: Bool = false, flags allowed: UInt16 = 0) throws(Failure) {
            guard usesProcess || p == -1, group || p2 == -1, usesSignal || sig == 0, text || !hasText, flags & ~allowed == 0,
                  n[numbers...].allSatisfy({ $0 == 0 }) else { throw fail("a field it does not use is set") }
        }
        switch op {
        case 0x0301:
            try only(process: true, signal: true, numbers: 3, flags: 4)
            let actions: [SignalStep.Action] = [.default, .ignore, .handle]
            guard actions.indices.contains(n[0]), (-1...255).contains(n[2]) else { throw fail("action \(n[0]) exit \(n[2])") }
            var reply: SignalStep.Reply?
            if n[1] != 0 {
                guard let s = Signal(number: n[1]) else { throw fail("reply signal \(n[1])") }
                reply = SignalStep.Reply(signal: s, process: try process(p))
            } else if p != -1 {
                throw fail("a reply's process without its signal")
            }
            return .sigaction(try signal(), actions[n[0]], reply: reply, restart: flags == 4, exit: n[2] == -1 ? nil : n[2])
        case 0x0302:
            try only(process: true, signal: true, numbers: 1)
            return .kill(try process(p), try signal(), repeat: n[0])
        case 0x0303:
            try only(process: true, signal: true, numbers: 3, text: true)
            let value: SignalStep.Value
            switch n[1] {
            case 0 where !hasText: value = .int(n[2])
            case 1 where n[2] == 0: value = .pointer(try string(at + 56))
            case 2 where n[2] == 0: value = .staticPointer(try string(at + 56))
            default: throw fail("value kind \(n[1]) with value \(n[2])")
            }
            return .sigqueue(try process(p), try signal(), value: value, repeat: n[0])
        case 0x0304:
            try only(numbers: 2)
            let hows: [SignalStep.MaskHow] = [.block, .unblock, .setmask]
            guard hows.indices.contains(n[0]) else { throw fail("how \(n[0])") }
            let bits = UInt64(bitPattern: Int64(n[1]))
            let signals = (1...64).filter { bits >> UInt64($0 - 1) & 1 == 1 }.compactMap(Signal.init(number:))
            guard signals.count == bits.nonzeroBitCount else { throw fail("set \(bits) names no signal") }
            return .sigprocmask(hows[n[0]], signals)
        case 0x0305:
            try only()
            return .signal(.sigpending)
        case 0x0306:
            try only(numbers: 2)
            return .waitSignals(count: n[0], timeoutMs: n[1])
        case 0x0307:
            try only(numbers: 1, text: true)
            return .readPointer(size: n[0], own: hasText ? try string(at + 56) : nil)
        case 0x0308:
            try only(numbers: 1)
            guard n[0] == 0 || n[0] == 1 else { throw fail("fault kind \(n[0])") }
            return .fault(n[0] == 0 ? .segv : .fpe)
        case 0x0309:
            try only(process: true)
            return .procStat(try process(p))
        case 0x030A:
            try only(process: true, group: true)
            return .setpgid(try process(p), group: try process(p2))
        case 0x030B:
            try only(group: true, signal: true)
            return .killGroup(try process(p2), try signal())
        case 0x030C:
            try only(numbers: 1)
            return .setresgid(n[0])
        case 0x030D:
            try only(numbers: 1)
            return .setresuid(n[0])
        case 0x0901:
            try only(text: true)
            return .trySyscall(try string(at + 56))
        default:
            throw fail("unknown")
        }
    }
}

extension FlatPlanDecoder {
    /// A step as the plan carries it: a sigprocmask's signals as a set (bits), in order and once each.
    static func carried(_ step: Step) -> Step {
        guard case let .signal(.sigprocmask(how, signals)) = step else { return step }
        return .sigprocmask(how, Array(Set(signals)).sorted())
    }
}

extension FlatPlanDecoder {
    /// A measurement op (0x0Axx): the sync channel, mechanism, CPU, data and reply channels (reserved[0], [1]).
    func benchStep(_ at: Int, channels: [Channel]) throws(Failure) -> Step {
        let op = u16(at), c = Int(i16(at + 4))
        func fail(_ why: String) -> Failure { Failure(description: "op \(op): \(why)") }
        guard u16(at + 2) == 0, i16(at + 6) == -1, i16(at + 8) == -1, i16(at + 10) == -1, i32(at + 12) == 0, u32(at + 60) == 0 else {
            throw fail("a field it does not use is set")
        }
        func name(_ i: Int) throws(Failure) -> String? {
            if i == -1 { return nil }
            guard channels.indices.contains(i) else { throw fail("channel \(i)") }
            return channels[i].name
        }
        guard let sync = try name(c) else { throw fail("no sync channel") }
        let n0 = Int(i64(at + 24)), n1 = Int(i64(at + 32)), m = Int(i64(at + 40)), cpu = Int(i64(at + 48))
        guard BenchMechanism.allCases.indices.contains(m), cpu >= -1 else { throw fail("mechanism \(m) cpu \(cpu)") }
        let mechanism = BenchMechanism.allCases[m]
        let channel = try name(Int(i32(at + 16))), reply = try name(Int(i32(at + 20)))
        switch op {
        case 0x0A01, 0x0A02:
            guard reply == nil else { throw fail("a reply") }
            let t = BenchStep.Transfer(mechanism: mechanism, channel: channel, sync: sync, totalBytes: n0, chunkBytes: n1, cpu: cpu == -1 ? nil : cpu)
            return op == 0x0A01 ? .benchSend(t) : .benchReceive(t)
        case 0x0A03, 0x0A04:
            guard n1 == 0 else { throw fail("n[1] \(n1)") }
            let t = BenchStep.RoundTrips(mechanism: mechanism, channel: channel, reply: reply, sync: sync, roundTrips: n0, cpu: cpu == -1 ? nil : cpu)
            return op == 0x0A03 ? .benchPing(t) : .benchPong(t)
        default:
            throw fail("unknown")
        }
    }
}
