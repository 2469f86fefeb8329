import CIPCLab
import Glibc

/// Reap records: how a process ended, as `wait4` told its reaper.
enum Reaping {
    static func record(pid: pid_t, status: Int32, usage: rusage) {
        func ns(_ t: timeval) -> Int64 { Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_usec) * 1000 }
        Recorder.record(IPCLAB_REC_REAP, "reap", step: nil,
                         args: [Int64(pid), Int64(status), ns(usage.ru_utime), ns(usage.ru_stime)], result: Int(pid))
    }
}
