import IPCLabCore

/// Reads a flat plan back (tests only), by hand at the offsets `ipclab_plan.h` states, not through the
/// C structs ``FlatPlan`` writes with: a layout the two disagree on fails the round trip. Also checks
/// what the C runner's validator will: every section inside the plan and 8-aligned, every string
/// inside the pool with its NUL, every index in range, the fields an op does not use left empty.
struct FlatPlanDecoder {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Plan {
        var scenario: Scenario
        var flags: UInt16
        var seed: Int64
        var jitterUs: UInt32
        var cpus: UInt8
        var stringsLength: Int
    }

    let bytes: [UInt8]

    func u8(_ at: Int) -> UInt8 { bytes[at] }
    func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    func i16(_ at: Int) -> Int16 { Int16(bitPattern: u16(at)) }
    func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
    func i32(_ at: Int) -> Int32 { Int32(bitPattern: u32(at)) }
    func i64(_ at: Int) -> Int64 { Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) }) }

    static func decode(_ bytes: [UInt8]) throws(Failure) -> Plan {
        try FlatPlanDecoder(bytes: bytes).plan()
    }

    private func fail(_ why: String) -> Failure { Failure(description: why) }

    func plan() throws(Failure) -> Plan {
        guard bytes.count >= 64 else { throw fail("shorter than a header") }
        guard u32(0) == 0x5043_5049 else { throw fail("magic \(u32(0))") }
        guard u16(4) == 1 else { throw fail("version \(u16(4))") }
        guard Int(u32(8)) == bytes.count else { throw fail("length \(u32(8)) for \(bytes.count) bytes") }
        let nprocesses = Int(u16(12)), nchannels = Int(u16(14))
        let offChannels = Int(u32(16)), offProcesses = Int(u32(20)), offSteps = Int(u32(24)), nsteps = Int(u32(28))
        let offStrings = Int(u32(32)), stringsLength = Int(u32(36))
        guard (1...16).contains(nprocesses), nchannels <= 64, nsteps <= 16 * 65536 else { throw fail("counts") }
        guard bytes[53..<64].allSatisfy({ $0 == 0 }) else { throw fail("reserved header bytes set") }
        for (offset, count, size) in [(offChannels, nchannels, 56), (offProcesses, nprocesses, 16), (offSteps, nsteps, 64), (offStrings, stringsLength, 1)] {
            guard offset % 8 == 0, offset >= 64, offset + count * size <= bytes.count else { throw fail("section at \(offset)") }
        }
        guard offStrings + stringsLength == bytes.count else { throw fail("the pool does not end the plan") }

        func pool(_ offset: Int, _ length: Int) throws(Failure) -> String {
            guard offset >= 0, length >= 0, offset + length < stringsLength, bytes[offStrings + offset + length] == 0 else {
                throw fail("string \(offset)+\(length)")
            }
            return String(decoding: bytes[(offStrings + offset)..<(offStrings + offset + length)], as: UTF8.self)
        }
        func string(_ at: Int) throws(Failure) -> String {
            try pool(Int(u32(at)), Int(u32(at + 4)))
        }

        var channels: [Channel] = []
        for i in 0..<nchannels {
            let at = offChannels + i * 56
            let name = try string(at + 8)
            // send, message queues and sockets (cmsg)
            if let c = try messageChannel(at, i, name: name, string: string) {
                channels.append(c)
                continue
            }
            if u8(at) == 3 || u8(at) == 4 {
                channels.append(try regionChannel(at, name: name, string: string))
                continue
            }
            guard u8(at + 1) == 0, u8(at + 3) == 0, u32(at + 4) == 0, u32(at + 28) == 0,
                  i64(at + 32) == 0, i64(at + 40) == 0, i64(at + 48) == 0 else { throw fail("channel \(i): unused fields set") }
            switch u8(at) {
            case 1:
                guard u8(at + 2) == 0, u32(at + 20) == 0 else { throw fail("pipe \(i) with flags or a path") }
                channels.append(.pipe(name))
            case 2:
                guard u8(at + 2) & ~1 == 0 else { throw fail("fifo \(i) flags") }
                channels.append(.fifo(name, path: try string(at + 16), beforeFork: u8(at + 2) & 1 != 0))
            case let k:
                throw fail("channel \(i) kind \(k)")
            }
        }
        var names: [String] = []
        var ranges: [Range<Int>] = []
        for i in 0..<nprocesses {
            let at = offProcesses + i * 16
            names.append(try string(at))
            let first = Int(u32(at + 8)), n = Int(u32(at + 12))
            // Each process's steps follow the previous one's: the expanded lists in order.
            guard first == (ranges.last?.upperBound ?? 0), first + n <= nsteps else { throw fail("process \(i) steps \(first)+\(n)") }
            ranges.append(first..<(first + n))
        }
        guard (ranges.last?.upperBound ?? 0) == nsteps else { throw fail("steps belong to no process") }
        var processes: [ProcessSpec] = []
        for (i, range) in ranges.enumerated() {
            var steps: [Step] = []
            for k in range {
                let at = offSteps + k * 64
                // send, message queues and sockets (cmsg)
                if (6...8).contains(u16(at) >> 8) {
                    steps.append(try messageStep(at, channels: channels, string: string, pool: pool))
                    continue
                }
                steps.append(try step(at, channels: channels, processes: names, string: string))
            }
            processes.append(ProcessSpec(name: names[i], steps: steps))
        }
        return Plan(scenario: Scenario(channels: channels, processes: processes), flags: u16(6), seed: i64(40),
                    jitterUs: u32(48), cpus: u8(52), stringsLength: stringsLength)
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private func step(_ at: Int, channels: [Channel], processes: [String],
                      string: (Int) throws(Failure) -> String) throws(Failure) -> Step {
        let op = u16(at), flags = u16(at + 2), c = Int(i16(at + 4)), p = Int(i16(at + 6)), e = i16(at + 10)
        let n0 = Int(i64(at + 24)), n1 = Int(i64(at + 32))
        // signals, sandbox probes, measurements (csignals): FlatPlanDecoder+Signals.swift
        if [0x03, 0x09].contains(op >> 8) { return try signalStep(at, processes: processes, string: string) }
        if op >> 8 == 0x0A { return try benchStep(at, channels: channels) }
        if op >> 8 == 4 || op >> 8 == 5 { return try regionStep(at, channels: channels, string: string) }
        guard i16(at + 8) == -1, i32(at + 12) == 0, i32(at + 16) == 0, i32(at + 20) == 0, i64(at + 40) == 0, i64(at + 48) == 0 else {
            throw fail("step at \(at): process2, sig, reserved or n[2...] set")
        }
        let hasText = u32(at + 60) != 0
        if op >> 8 == 1 {
            guard c == -1, e == -1, flags == 0 else { throw fail("process op \(op) with a channel, end or flags") }
            guard op == 0x0102 || p == -1 else { throw fail("op \(op) with a process") }
            guard op == 0x0108 || !hasText else { throw fail("op \(op) with a text") }
            guard [0x0106, 0x0108].contains(op) || n1 == 0 else { throw fail("op \(op) with n[1]") }
            switch op {
            case 0x0101: return .sleep(ms: n0)
            case 0x0102:
                guard processes.indices.contains(p), n0 == 0 else { throw fail("wait for process \(p)") }
                return .wait(process: processes[p])
            case 0x0103: return .exit(code: n0)
            case 0x0104: return .spin(ms: n0)
            case 0x0105: return .allocate(bytes: n0)
            case 0x0106: return .forkChildren(count: n0, sleepMs: n1)
            case 0x0107: return .openFiles(count: n0)
            case 0x0108: return .writeFile(name: try string(at + 56), bytes: n0)
            default: throw fail("op \(op)")
            }
        }
        guard op >> 8 == 2, p == -1 else { throw fail("op \(op) (process \(p))") }
        if op == 0x020D {
            guard c == -1, e == -1, flags == 0, !hasText else { throw fail("stage with a channel, end, flags or text") }
            switch n0 {
            case 0: return .stage(.random(bytes: n1))
            case 1 where n1 == 0: return .stage(.alnum)
            case 2: return .stage(.take(count: n1))
            default: throw fail("stage program \(n0) count \(n1)")
            }
        }
        guard channels.indices.contains(c) else { throw fail("op \(op) on channel \(c)") }
        let channel = channels[c].name
        let usesEnd: Set<UInt16> = [0x0205, 0x0206, 0x0208, 0x0209, 0x020C]
        guard usesEnd.contains(op) ? (e == 0 || e == 1) : e == -1 else { throw fail("op \(op) end \(e)") }
        let end: PipeEnd = e == 0 ? .read : .write
        guard op == 0x0201 || !hasText else { throw fail("op \(op) with a text") }
        guard op == 0x0201 || op == 0x0202 || n1 == 0 else { throw fail("op \(op) with n[1]") }
        guard op == 0x0201 || op == 0x0208 || flags == 0 else { throw fail("op \(op) flags \(flags)") }
        let noNumbers: Set<UInt16> = [0x0205, 0x0206, 0x0207, 0x0208, 0x020B]
        guard !noNumbers.contains(op) || n0 == 0 else { throw fail("op \(op) with n[0]") }
        switch op {
        case 0x0201:
            if flags == 2 {
                guard !hasText else { throw fail("a sized write with a text") }
                return .write(channel: channel, data: .size(n0), repeat: n1)
            }
            guard flags == 0, n0 == 0 else { throw fail("write flags \(flags) n[0] \(n0)") }
            return .write(channel: channel, data: .text(try string(at + 56)), repeat: n1)
        case 0x0202: return .read(channel: channel, size: n0, repeat: n1)
        case 0x0203: return .readAll(channel: channel, size: n0)
        case 0x0204: return .fill(channel: channel, size: n0)
        case 0x0205: return .close(channel: channel, end: end)
        case 0x0206: return .fstat(channel: channel, end: end)
        case 0x0207: return .mkfifo(channel: channel)
        case 0x0208:
            guard flags & ~1 == 0 else { throw fail("open flags \(flags)") }
            return .open(channel: channel, end: end, nonblocking: flags == 1)
        case 0x0209:
            guard n0 == 0 || n0 == 1 else { throw fail("set_nonblocking \(n0)") }
            return .setNonblocking(channel: channel, end: end, enabled: n0 == 1)
        case 0x020A: return .setPipeSize(channel: channel, size: n0)
        case 0x020B: return .getPipeSize(channel: channel)
        case 0x020C: return .dup2(channel: channel, end: end, fd: n0)
        default: throw fail("op \(op)")
        }
    }
}
