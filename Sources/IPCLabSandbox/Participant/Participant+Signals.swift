import CIPCLab
import Glibc
import IPCLabCore

/// Signal steps. Handlers are C (`signals.c`): they record each delivery from inside
/// themselves; here are only the calls a step makes.
extension Participant {
    mutating func runSignalStep(_ step: SignalStep, at i: Int) {
        switch step {
        case let .sigaction(signal, action, reply, restart, exit):
            sigaction(signal, action, reply: reply, restart: restart, exit: exit, step: i)
        case let .kill(process, signal, count):
            for _ in 0..<count where kill(process, signal, step: i) < 0 { break }
        case let .sigqueue(process, signal, value, count):
            for k in 0..<count where sigqueue(process, signal, value, offset: k, step: i) < 0 { break }
        case let .sigprocmask(how, signals):
            sigprocmask(how, signals, step: i)
        case .sigpending:
            var set: UInt64 = 0
            let r = ipclab_sigpending_bits(&set)
            Recorder.instant("sigpending", step: i, args: [Int64(bitPattern: set)], result: Int(r), errno: r == 0 ? 0 : errno)
        case let .waitSignals(count, timeoutMs):
            _ = ipclab_wait_signals(Int64(count), Int64(timeoutMs) * 1_000_000, Int32(i))
        case let .readPointer(size):
            readPointer(size, step: i)
        case let .fault(kind):
            fault(kind, step: i)
        case let .procStat(process):
            procStat(process, step: i)
        case let .setpgid(process, group):
            let (pid, index) = target(process)
            let (pgid, groupIndex) = target(group)
            let r: Int32 = pid > 1 && pgid > 1 ? Glibc.setpgid(pid, pgid) : -1
            Recorder.instant("setpgid", step: i, args: [Int64(pid), Int64(pgid), Int64(index), Int64(groupIndex)], result: Int(r),
                             errno: pid > 1 && pgid > 1 ? (r == 0 ? 0 : errno) : ESRCH)
        case let .killGroup(group, signal):
            // Only a group named by a participant's pid: never 0 (the caller's own group) or -1 (everyone).
            let (pgid, index) = target(group)
            let slot = Recorder.begin("kill", step: i, args: [Int64(-pgid), Int64(signal.number), Int64(index), 0, Int64(getuid())])
            let r: Int32 = pgid > 1 ? Glibc.kill(-pgid, Int32(signal.number)) : -1
            Recorder.end(slot, result: Int(r), errno: pgid > 1 ? (r == 0 ? 0 : errno) : ESRCH)
        }
    }

    /// The pid of a signal's target. Names are checked at validation; this refuses anything
    /// that is not a participant's pid (never -1, 0 or the run's init), whatever happens.
    private func target(_ process: String) -> (pid: pid_t, index: Int) {
        let index = scenario.processIndex(named: process) ?? -1
        let pid = pid(of: process)
        return (pid > 1 ? pid : -1, index)
    }

    private func sigaction(_ signal: Signal, _ action: SignalStep.Action, reply: SignalStep.Reply?, restart: Bool, exit: Int?, step: Int) {
        let disposition: ipclab_disposition = switch action {
        case .default: IPCLAB_DISPOSITION_DEFAULT
        case .ignore: IPCLAB_DISPOSITION_IGNORE
        case .handle: IPCLAB_DISPOSITION_HANDLE
        }
        let answer = reply.map { (target($0.process), $0.signal.number) }
        ipclab_handler_exits(Int32(signal.number), Int32(exit ?? -1))
        let r = ipclab_sigaction(Int32(signal.number), Int32(disposition.rawValue), restart ? 1 : 0,
                                 Int32(answer?.1 ?? 0), answer?.0.pid ?? 0, Int32(answer?.0.index ?? -1), Int32(step))
        Recorder.instant("sigaction", step: step,
                         args: [Int64(signal.number), Int64(disposition.rawValue), restart ? 1 : 0,
                                Int64(answer?.1 ?? 0), Int64(answer?.0.index ?? -1), Int64(exit ?? -1)],
                         result: Int(r), errno: r == 0 ? 0 : errno)
    }

    /// `kill(2)`; begun before the call, so a signal to itself, delivered before kill returns,
    /// is recorded after it.
    private func kill(_ process: String, _ signal: Signal, step: Int) -> Int32 {
        let (pid, index) = target(process)
        let slot = Recorder.begin("kill", step: step, args: [Int64(pid), Int64(signal.number), Int64(index), 0, Int64(getuid())])
        let r: Int32 = pid > 1 ? Glibc.kill(pid, Int32(signal.number)) : -1
        Recorder.end(slot, result: Int(r), errno: pid > 1 ? (r == 0 ? 0 : errno) : ESRCH)
        return r
    }

    /// `sigqueue(3)` with an int (plus `offset`), or with the address of a fresh buffer holding the text.
    private func sigqueue(_ process: String, _ signal: Signal, _ value: SignalStep.Value, offset: Int, step: Int) -> Int32 {
        let (pid, index) = target(process)
        let uid = Int64(getuid())
        switch value {
        case .int(let v):
            let sent = v + offset
            let slot = Recorder.begin("sigqueue", step: step, args: [Int64(pid), Int64(signal.number), Int64(sent), Int64(index), uid, 0])
            let r: Int32 = pid > 1 ? ipclab_sigqueue_int(pid, Int32(signal.number), Int32(sent)) : -1
            Recorder.end(slot, result: Int(r), errno: pid > 1 ? (r == 0 ? 0 : errno) : ESRCH)
            return r
        case .pointer(let text):
            // A buffer of this process only, made after fork: its address is all that travels.
            let length = 4096
            let buffer = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            let mapped = buffer != nil && buffer != MAP_FAILED
            Recorder.instant("mmap", step: step, args: [Int64(length), Int64(PROT_READ | PROT_WRITE), Int64(MAP_PRIVATE | MAP_ANONYMOUS),
                                                        0, 0, 0, 0, SignalRecord.mark],
                             result: mapped ? Int(bitPattern: buffer) : -1, errno: mapped ? 0 : errno)
            guard mapped, let buffer else { return -1 }
            let bytes = Array(text.utf8) + [0]
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let address = Int64(Int(bitPattern: buffer))
            let slot = Recorder.begin("sigqueue", step: step, args: [Int64(pid), Int64(signal.number), address, Int64(index), uid, 1])
            let r: Int32 = pid > 1 ? ipclab_sigqueue_ptr(pid, Int32(signal.number), buffer) : -1
            let err = pid > 1 ? (r == 0 ? 0 : errno) : ESRCH
            bytes.withUnsafeBytes { Recorder.end(slot, result: Int(r), errno: err, payload: $0) }
            return r
        }
    }

    private func sigprocmask(_ how: SignalStep.MaskHow, _ signals: [Signal], step: Int) {
        let code: Int32 = switch how {
        case .block: 0
        case .unblock: 1
        case .setmask: 2
        }
        let set = signals.reduce(UInt64(0)) { $0 | (1 << UInt64($1.number - 1)) }
        var old: UInt64 = 0
        // Begun before the call: signals it unblocks are delivered before it returns, and show after it.
        let slot = Recorder.begin("sigprocmask", step: step, args: [Int64(code), Int64(bitPattern: set), 0])
        let r = ipclab_sigprocmask_bits(code, set, &old)
        let err = r == 0 ? 0 : errno
        if slot != Recorder.none { ipclab_ring_record(ringBase, slot).pointee.args.2 = Int64(bitPattern: old) }
        Recorder.end(slot, result: Int(r), errno: err)
    }

    /// Reads this process's own memory at the address the last handled signal carried.
    private func readPointer(_ size: Int, step: Int) {
        let address = UInt64(UInt(bitPattern: ipclab_last_sival_ptr()))
        var buffer = [UInt8](repeating: 0, count: size)
        let r = buffer.withUnsafeMutableBytes { ipclab_read_own_memory(address, $0.baseAddress, size) }
        let err = r < 0 ? errno : 0
        buffer.withUnsafeBytes { buf in
            _ = Recorder.instant("process_vm_readv", step: step,
                                 args: [Int64(getpid()), Int64(bitPattern: address), Int64(size), 0, 0, 0, 0, SignalRecord.mark],
                             result: r, errno: err, payload: UnsafeRawBufferPointer(rebasing: buf[0..<max(0, r)]))
        }
    }

    /// A real fault. Without a handler the process dies here and the record stays unfinished.
    private func fault(_ kind: SignalStep.Fault, step: Int) {
        let code: ipclab_fault_kind = kind == .segv ? IPCLAB_FAULT_SEGV : IPCLAB_FAULT_FPE
        let address = kind == .segv ? Int64(bitPattern: ipclab_fault_address()) : 0
        let slot = Recorder.begin("fault", step: step, args: [Int64(code.rawValue), address, ipclab_core_limit()])
        let r = ipclab_fault(Int32(code.rawValue))
        Recorder.end(slot, result: Int(r), errno: 0)
    }

    /// Reads `/proc/PID/stat` of a process of the run and records its state as an object snapshot.
    private func procStat(_ process: String, step: Int) {
        let (pid, index) = target(process)
        let path = "/proc/\(pid)/stat"
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let err = errno
            let slot = Recorder.instant("open", step: step,
                                        args: [Int64(O_RDONLY), -1, 0, ProcStat.mark, Int64(index), Int64(pid)],
                                        result: -1, errno: err)
            Recorder.record(IPCLAB_REC_OBJECT, "process", step: nil,
                            args: [Int64(index), 0, Int64(pid), Int64(slot == Recorder.none ? -1 : Int64(slot)), Int64(err)], result: 0)
            return
        }
        var buffer = [UInt8](repeating: 0, count: 512)
        let r = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        let err = r < 0 ? errno : 0
        Glibc.close(fd)
        let slot = buffer.withUnsafeBytes { buf in
            Recorder.instant("read", step: step, args: [Int64(fd), 512, -1, ProcStat.mark, Int64(index), Int64(pid)],
                             result: r, errno: err, payload: UnsafeRawBufferPointer(rebasing: buf[0..<max(0, r)]))
        }
        let state = r > 0 ? ProcStat.state(Array(buffer[0..<r])) : 0
        Recorder.record(IPCLAB_REC_OBJECT, "process", step: nil,
                        args: [Int64(index), Int64(state), Int64(pid), Int64(slot == Recorder.none ? -1 : Int64(slot)), Int64(err)],
                        result: 0)
    }
}

/// Marks (in args[7]) the records of signal steps whose call names other families use too
/// (`mmap`, `process_vm_readv`), so that each family names only its own.
enum SignalRecord {
    static let mark: Int64 = 0x7369_676e // "sign"
}

/// `/proc/PID/stat`: `pid (comm) S ppid …`.
enum ProcStat {
    /// Marks the `open`/`read` records of `proc_stat` (args[3]), which otherwise look like a pipe's.
    static let mark: Int64 = 0x7072_6f63 // "proc"

    /// The state letter, the field after the command name's closing parenthesis.
    static func state(_ line: [UInt8]) -> UInt8 {
        guard let close = line.lastIndex(of: UInt8(ascii: ")")), close + 2 < line.count else { return 0 }
        return line[close + 2]
    }
}
