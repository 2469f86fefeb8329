import CIPCLab
import Glibc

/// The deadlock watch of a program run: a program's processes are whatever it forked, so they are
/// the run's PID namespace's (`/proc`, but the init, PID 1), and a call is a process's by its pid.
/// The rule is the scenarios': every process gone or sleeping in a recorded call that waits with no
/// timeout for another process of the run. A process sleeping anywhere else — a call the tracer does
/// not see (poll, futex, a raw syscall), a program that is not traced — makes it say nothing.
extension DeadlockWatch {
    /// Every live process blocked in a waiting call: those calls (pid → record index); else nil.
    func scanProgramProcesses() -> [Int: UInt32]? {
        guard let dir = opendir("/proc") else { return nil }
        var sleeping: [Int32] = []
        while let d = readdir(dir) {
            let name = withUnsafeBytes(of: d.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name), pid > 1 else { continue }
            switch Self.state(of: pid) {
            case .gone: continue
            case .sleeping: sleeping.append(pid)
            case .other:
                closedir(dir)
                return nil
            }
        }
        closedir(dir)
        guard !sleeping.isEmpty else { return nil }
        // Each pid's last call still open (begun, not done), in the init's own copy of the capacity.
        var open: [Int32: UInt32] = [:]
        let count = ipclab_ring_claimed(base, ipclab_recorder_capacity())
        for i in 0..<count {
            let r = ipclab_ring_record(base, i)!
            guard ipclab_record_state(r) == UInt32(IPCLAB_STATE_BEGUN.rawValue),
                  r.pointee.kind == UInt16(IPCLAB_REC_EVENT.rawValue) else { continue }
            open[r.pointee.pid] = i
        }
        var blocked: [Int: UInt32] = [:]
        for pid in sleeping {
            guard let record = open[pid], Self.waitingCalls.contains(Self.call(ipclab_ring_record(base, record)!)) else { return nil }
            blocked[Int(pid)] = record
        }
        return blocked
    }
}
