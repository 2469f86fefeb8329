import CIPCLab
import Glibc
import IPCLabCore

/// Process steps: sleep, wait, exit.
extension Participant {
    mutating func runProcessStep(_ step: ProcessStep, at i: Int) {
        switch step {
        case let .sleep(ms):
            var ts = timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
            let slot = Recorder.begin("nanosleep", step: i, args: [Int64(ms)])
            let r = nanosleep(&ts, nil)
            Recorder.end(slot, result: Int(r), errno: r == 0 ? 0 : errno)
        case let .wait(process):
            wait(for: process, step: i)
        case let .exit(code):
            exit(code: code, step: i)
        }
    }

    /// `_exit(2)`: recorded as begun and never completed, because it never returns.
    func exit(code: Int, step: Int?) -> Never {
        _ = Recorder.begin("exit", step: step, args: [Int64(code)])
        _exit(Int32(code))
    }

    /// `wait4(2)` for a named child; also records the reap, so the trace knows how it ended.
    private func wait(for process: String, step: Int) {
        let target = scenario.processIndex(named: process) ?? -1
        let pid = children.indices.contains(target) && children[target] > 0 ? children[target] : -1
        var status: Int32 = 0
        var usage = rusage()
        let slot = Recorder.begin("wait4", step: step, args: [Int64(pid), 0, Int64(target)])
        let r = wait4(pid, &status, 0, &usage)
        let err = r < 0 ? errno : 0
        if slot != Recorder.none { ipclab_ring_record(ringBase, slot).pointee.args.1 = Int64(status) }
        Recorder.end(slot, result: Int(r), errno: err)
        if r > 0 { Reaping.record(pid: r, status: status, usage: usage) }
    }
}
