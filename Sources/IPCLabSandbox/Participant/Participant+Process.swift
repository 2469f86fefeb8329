import CIPCLab
import Glibc
import IPCLabCore

/// Process steps: sleep, wait, exit, and the steps that push on a limit.
extension Participant {
    mutating func runProcessStep(_ step: ProcessStep, at i: Int) {
        switch step {
        case let .sleep(ms):
            var ts = timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
            Recorder.call(.process(.nanosleep), step: i, args: [Int64(ms)]) { Int(nanosleep(&ts, nil)) }
        case let .wait(process):
            wait(for: process, step: i)
        case let .exit(code):
            exit(code: code, step: i)
        case let .spin(ms):
            let slot = Recorder.begin(.process(.spin), step: i, args: [Int64(ms)])
            Recorder.end(slot, result: Int(ipclab_spin(Int64(ms))), errno: 0)
        case let .allocate(bytes):
            // args[1] is the bytes touched so far, written as it goes: a process the OOM killer
            // ends leaves in its begun record how far it got.
            let slot = Recorder.begin(.process(.allocate), step: i, args: [Int64(bytes), 0])
            var scratch: Int64 = 0
            let r: Int32 = if slot != Recorder.none {
                withUnsafeMutablePointer(to: &ipclab_ring_record(ringBase, slot).pointee.args.1) { ipclab_allocate(Int64(bytes), $0) }
            } else {
                ipclab_allocate(Int64(bytes), &scratch)
            }
            Recorder.end(slot, result: Int(r), errno: r == 0 ? 0 : errno)
        case let .forkChildren(count, sleepMs):
            let slot = Recorder.begin(.process(.forkChildren), step: i, args: [Int64(count), Int64(sleepMs), 0])
            var firstErrno: Int32 = 0
            var reaped: Int32 = 0
            let made = ipclab_fork_children(Int32(count), Int32(sleepMs), &firstErrno, &reaped)
            if slot != Recorder.none { ipclab_ring_record(ringBase, slot).pointee.args.2 = Int64(reaped) }
            Recorder.end(slot, result: Int(made), errno: firstErrno)
        case let .openFiles(count):
            let slot = Recorder.begin(.process(.openFiles), step: i, args: [Int64(count)])
            var firstErrno: Int32 = 0
            let opened = ipclab_open_files(Int32(count), &firstErrno)
            Recorder.end(slot, result: Int(opened), errno: firstErrno)
        case let .writeFile(name, bytes):
            writeFile(name: name, bytes: bytes, step: i)
        }
    }

    /// Creates `/tmp/<name>` and writes `bytes` into it in 64 KiB chunks, stopping at the first error:
    /// one event, result the bytes written (args[1] counts them as it goes), errno of the failed write.
    /// Past RLIMIT_FSIZE a write is cut short, then the next one raises SIGXFSZ (by default fatal).
    private func writeFile(name: String, bytes: Int, step: Int) {
        let slot = Recorder.begin(.process(.writeFile), step: step, args: [Int64(bytes), 0])
        let fd = Glibc.open("/tmp/\(name)", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return Recorder.end(slot, result: -1, errno: errno) }
        defer { Glibc.close(fd) }
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 65_536)
        var written = 0
        var err: Int32 = 0
        while written < bytes {
            let n = chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, min($0.count, bytes - written)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { err = errno; break }
            written += n
            if slot != Recorder.none { ipclab_ring_record(ringBase, slot).pointee.args.1 = Int64(written) }
        }
        Recorder.end(slot, result: err != 0 && written == 0 ? -1 : written, errno: err)
    }

    /// `_exit(2)`: recorded as begun and never completed, because it never returns.
    func exit(code: Int, step: Int?) -> Never {
        _ = Recorder.begin(.process(.exit), step: step, args: [Int64(code)])
        _exit(Int32(code))
    }

    /// `wait4(2)` for a named child; also records the reap, so the trace knows how it ended.
    private func wait(for process: String, step: Int) {
        let target = scenario.processIndex(named: process) ?? -1
        let pid = children.indices.contains(target) && children[target] > 0 ? children[target] : -1
        var status: Int32 = 0
        var usage = rusage()
        let r = Recorder.call(.process(.wait4), step: step, args: [Int64(pid), 0, Int64(target)],
                              amend: { $0.pointee.args.1 = Int64(status) }) { Int(wait4(pid, &status, 0, &usage)) }.result
        if r > 0 { Reaping.record(pid: pid_t(r), status: status, usage: usage) }
    }
}
