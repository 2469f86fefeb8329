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
            Recorder.returned(.signals(.sigpending), step: i, args: [Int64(bitPattern: set)]) { Int(ipclab_sigpending_bits(&set)) }
        case let .waitSignals(count, timeoutMs):
            _ = ipclab_wait_signals(Int64(count), Int64(timeoutMs) * 1_000_000, Int32(i))
        case let .readPointer(size, own):
            readPointer(size, own: own, step: i)
        case let .fault(kind):
            fault(kind, step: i)
        case let .procStat(process):
            procStat(process, step: i)
        case let .setresgid(gid):
            // args[3]: the real gid after the call, read once it returned.
            Recorder.returned(.signals(.setresgid), step: i, args: [Int64(gid), Int64(gid), Int64(gid), Int64(getgid())]) {
                Int(ipclab_setresgid(gid_t(gid)))
            }
        case let .setresuid(uid):
            Recorder.returned(.signals(.setresuid), step: i, args: [Int64(uid), Int64(uid), Int64(uid), Int64(getuid())]) {
                Int(ipclab_setresuid(uid_t(uid)))
            }
        case let .setpgid(process, group):
            let (pid, index) = target(process)
            let (pgid, groupIndex) = target(group)
            Recorder.returned(.signals(.setpgid), step: i, args: [Int64(pid), Int64(pgid), Int64(index), Int64(groupIndex)]) {
                guard pid > 1 && pgid > 1 else { errno = ESRCH; return -1 }
                return Int(Glibc.setpgid(pid, pgid))
            }
        case let .killGroup(group, signal):
            // Only a group named by a participant's pid: never 0 (the caller's own group) or -1 (everyone).
            let (pgid, index) = target(group)
            Recorder.call(.signals(.kill), step: i, args: [Int64(-pgid), Int64(signal.number), Int64(index), 0, Int64(getuid())]) {
                guard pgid > 1 else { errno = ESRCH; return -1 }
                return Int(Glibc.kill(-pgid, Int32(signal.number)))
            }
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
        Recorder.returned(.signals(.sigaction), step: step,
                          args: [Int64(signal.number), Int64(disposition.rawValue), restart ? 1 : 0,
                                 Int64(answer?.1 ?? 0), Int64(answer?.0.index ?? -1), Int64(exit ?? -1)]) {
            Int(ipclab_sigaction(Int32(signal.number), Int32(disposition.rawValue), restart ? 1 : 0,
                                 Int32(answer?.1 ?? 0), answer?.0.pid ?? 0, Int32(answer?.0.index ?? -1), Int32(step)))
        }
    }

    /// `kill(2)`; begun before the call, so a signal to itself, delivered before kill returns,
    /// is recorded after it.
    private func kill(_ process: String, _ signal: Signal, step: Int) -> Int32 {
        let (pid, index) = target(process)
        return Int32(Recorder.call(.signals(.kill), step: step, args: [Int64(pid), Int64(signal.number), Int64(index), 0, Int64(getuid())]) {
            pid > 1 ? Int(Glibc.kill(pid, Int32(signal.number))) : Self.refused()
        }.result)
    }

    /// `sigqueue(3)` with an int (plus `offset`), or with the address of a fresh buffer holding the text.
    private func sigqueue(_ process: String, _ signal: Signal, _ value: SignalStep.Value, offset: Int, step: Int) -> Int32 {
        let (pid, index) = target(process)
        let uid = Int64(getuid())
        switch value {
        case .int(let v):
            let sent = v + offset
            return Int32(Recorder.call(.signals(.sigqueue), step: step, args: [Int64(pid), Int64(signal.number), Int64(sent), Int64(index), uid, 0]) {
                pid > 1 ? Int(ipclab_sigqueue_int(pid, Int32(signal.number), Int32(sent))) : Self.refused()
            }.result)
        case .pointer(let text):
            // A buffer of this process only, made after fork: its address is all that travels.
            let length = 4096
            let address = Recorder.returned(.signals(.mmap), step: step,
                                            args: [Int64(length), Int64(PROT_READ | PROT_WRITE), Int64(MAP_PRIVATE | MAP_ANONYMOUS)],
                                            failed: { $0 == -1 }) {
                let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                return p == nil || p == MAP_FAILED ? -1 : Int(bitPattern: p)
            }.result
            guard address != -1, let buffer = UnsafeMutableRawPointer(bitPattern: address) else { return -1 }
            let bytes = Array(text.utf8) + [0]
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return bytes.withUnsafeBytes { sent in
                Int32(Recorder.call(.signals(.sigqueue), step: step, args: [Int64(pid), Int64(signal.number), Int64(address), Int64(index), uid, 1],
                                    payload: sent, moved: { $0 == 0 ? sent.count : 0 }) {
                    pid > 1 ? Int(ipclab_sigqueue_ptr(pid, Int32(signal.number), buffer)) : Self.refused()
                }.result)
            }
        case .staticPointer(let text):
            // The program's static buffer: there before fork, so the receiver has its own copy at this address.
            let buffer = ipclab_static_buffer()!
            let bytes = Array(text.utf8) + [0]
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let address = Int64(Int(bitPattern: buffer))
            return bytes.withUnsafeBytes { sent in
                Int32(Recorder.call(.signals(.sigqueue), step: step, args: [Int64(pid), Int64(signal.number), address, Int64(index), uid, 2],
                                    payload: sent, moved: { $0 == 0 ? sent.count : 0 }) {
                    pid > 1 ? Int(ipclab_sigqueue_ptr(pid, Int32(signal.number), buffer)) : Self.refused()
                }.result)
            }
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
        Recorder.call(.signals(.sigprocmask), step: step, args: [Int64(code), Int64(bitPattern: set), 0],
                      amend: { $0.pointee.args.2 = Int64(bitPattern: old) }) { Int(ipclab_sigprocmask_bits(code, set, &old)) }
    }

    /// What a send to something that is not a participant answers: -1 with ESRCH, as kill(2) would.
    private static func refused() -> Int {
        errno = ESRCH
        return -1
    }

    /// Reads this process's own memory at the address the last handled signal carried.
    private func readPointer(_ size: Int, own: String?, step: Int) {
        if let own {
            // This process's own bytes in its copy of the static buffer, recorded as a store there.
            let buffer = ipclab_static_buffer()!
            let bytes = Array(own.utf8) + [0]
            bytes.withUnsafeBytes { src in
                buffer.copyMemory(from: src.baseAddress!, byteCount: src.count)
                Recorder.instant(.signals(.store), step: step, args: [Int64(Int(bitPattern: buffer)), 0, Int64(src.count)],
                                 result: src.count, errno: 0, payload: src)
            }
        }
        let address = UInt64(UInt(bitPattern: ipclab_last_sival_ptr()))
        var buffer = [UInt8](repeating: 0, count: size)
        _ = buffer.withUnsafeMutableBytes { buf in
            Recorder.returned(.signals(.processVmReadv), step: step, args: [Int64(getpid()), Int64(bitPattern: address), Int64(size)],
                              payload: UnsafeRawBufferPointer(buf)) { ipclab_read_own_memory(address, buf.baseAddress, size) }
        }
    }

    /// A real fault. Without a handler the process dies here and the record stays unfinished.
    private func fault(_ kind: SignalStep.Fault, step: Int) {
        let code: ipclab_fault_kind = kind == .segv ? IPCLAB_FAULT_SEGV : IPCLAB_FAULT_FPE
        let address = kind == .segv ? Int64(bitPattern: ipclab_fault_address()) : 0
        let slot = Recorder.begin(.signals(.fault), step: step, args: [Int64(code.rawValue), address, ipclab_core_limit()])
        let r = ipclab_fault(Int32(code.rawValue))
        Recorder.end(slot, result: Int(r), errno: 0)
    }

    /// Reads `/proc/PID/stat` of a process of the run and records its state as an object snapshot.
    private func procStat(_ process: String, step: Int) {
        let (pid, index) = target(process)
        let path = "/proc/\(pid)/stat"
        var buffer = [UInt8](repeating: 0, count: 512)
        // A failed open is recorded; a successful one is shown by the read that follows it.
        var fd: Int32 = -1
        var read = Recorder.returned(.signals(.procStatOpen), step: step, args: [Int64(O_RDONLY), -1, 0, 0, Int64(index), Int64(pid)],
                                     record: { $0 < 0 }) {
            fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            return Int(fd)
        }
        if fd >= 0 {
            read = buffer.withUnsafeMutableBytes { buf in
                Recorder.returned(.signals(.procStatRead), step: step, args: [Int64(fd), 512, -1, 0, Int64(index), Int64(pid)],
                                  payload: UnsafeRawBufferPointer(buf)) { Glibc.read(fd, buf.baseAddress, buf.count) }
            }
            Glibc.close(fd)
        }
        let state = read.result > 0 ? ProcStat.state(Array(buffer[0..<read.result])) : 0
        Recorder.record(IPCLAB_REC_OBJECT, "process", step: nil,
                        args: [Int64(index), Int64(state), Int64(pid), Int64(read.slot == Recorder.none ? -1 : Int64(read.slot)), Int64(read.errno)],
                        result: 0)
    }
}

/// `/proc/PID/stat`: `pid (comm) S ppid …`.
enum ProcStat {
    /// The state letter, the field after the command name's closing parenthesis.
    static func state(_ line: [UInt8]) -> UInt8 {
        guard let close = line.lastIndex(of: UInt8(ascii: ")")), close + 2 < line.count else { return 0 }
        return line[close + 2]
    }
}
