import CIPCLab
import Glibc
import IPCLabCore

/// One process of a run, executing its scenario steps with real system calls and
/// recording each call and the kernel's answer into the event ring.
///
/// Runs in a forked child of a single-threaded process, so Swift is safe here; it
/// ends with `_exit`, never returning.
struct Participant {
    let index: Int
    let scenario: Scenario
    /// This process's descriptors for every channel, by channel index.
    var ends: [ChannelEnds]
    /// Pids of the processes this one forked, by process index.
    var children: [Int: pid_t] = [:]

    init(index: Int, scenario: Scenario, ends: [ChannelEnds]) {
        self.index = index
        self.scenario = scenario
        self.ends = ends
    }

    var name: String { scenario.processes[index].name }

    /// Starts this process: records its start, and for the first process creates the
    /// channels and forks the others. Then runs the steps and exits.
    static func start(first scenario: Scenario) -> Never {
        var p = Participant(index: 0, scenario: scenario,
                            ends: Array(repeating: ChannelEnds(), count: scenario.channels.count))
        p.begin()
        p.createChannels()
        p.forkOthers()
        p.runSteps()
    }

    /// What every participant does first: a clean signal state, and a start record.
    private func begin() {
        ipclab_reset_signal_dispositions()
        ipclab_sigmask_clear()
        ipclab_recorder_bind(ringBase, Int32(index))
        _ = ipclab_set_process_name(name)
        Recorder.record(IPCLAB_REC_START, "start", step: nil, args: [Int64(getppid())], result: Int(getpid()))
    }

    /// `pipe(2)` and `mkfifo(3)` for every channel, before anyone forks.
    private mutating func createChannels() {
        for (i, channel) in scenario.channels.enumerated() {
            switch channel.kind {
            case .pipe:
                var fds: [Int32] = [-1, -1]
                let r = ipclab_pipe2(&fds, 0)
                let err = r == 0 ? 0 : errno
                Recorder.instant("pipe", step: nil, args: [Int64(fds[0]), Int64(fds[1]), Int64(i)], result: Int(r), errno: err)
                if r == 0 { ends[i] = ChannelEnds(read: fds[0], write: fds[1]) }
            case .fifo:
                let r = mkfifo(channel.path ?? "", 0o600)
                Recorder.instant("mkfifo", step: nil, args: [0o600, Int64(i)], result: Int(r), errno: r == 0 ? 0 : errno)
            }
        }
    }

    /// Forks every other process in order; each child begins and runs its own steps.
    private mutating func forkOthers() {
        for i in 1..<scenario.processes.count {
            let slot = Recorder.begin("fork", step: nil, args: [Int64(i)])
            let pid = fork()
            if pid == 0 {
                var child = Participant(index: i, scenario: scenario, ends: ends)
                child.begin()
                child.runSteps()
            }
            Recorder.end(slot, result: Int(pid), errno: pid < 0 ? errno : 0)
            if pid > 0 { children[i] = pid }
        }
    }

    /// Runs the steps in order, then exits with status 0.
    private mutating func runSteps() -> Never {
        for (i, step) in scenario.processes[index].steps.enumerated() {
            run(step, at: i)
        }
        exit(code: 0, step: nil)
    }

    private mutating func run(_ step: Step, at i: Int) {
        switch step {
        case let .write(channel, data, count):
            let bytes = data.bytes
            // A repeated call stops at its first error, as a C loop checking the result would.
            for _ in 0..<count {
                if write(channel, bytes, step: i) < 0 { break }
            }
        case let .read(channel, size, count):
            for _ in 0..<count {
                if read(channel, size, step: i) < 0 { break }
            }
        case let .readAll(channel, size):
            readAll(channel, size, step: i)
        case let .fill(channel, size):
            fill(channel, size, step: i)
        case let .close(channel, end):
            close(channel, end, step: i)
        case let .open(channel, end):
            open(channel, end, step: i)
        case let .setNonblocking(channel, end, enabled):
            setNonblocking(channel, end, enabled, step: i)
        case let .setPipeSize(channel, size):
            pipeSize(channel, set: size, step: i)
        case let .getPipeSize(channel):
            pipeSize(channel, set: nil, step: i)
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
    private func exit(code: Int, step: Int?) -> Never {
        _ = Recorder.begin("exit", step: step, args: [Int64(code)])
        _exit(Int32(code))
    }

    /// `wait4(2)` for a named child; also records the reap, so the trace knows how it ended.
    private func wait(for process: String, step: Int) {
        let target = scenario.processIndex(named: process) ?? -1
        let pid = children[target] ?? -1
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

/// The mapped ring every participant records into (set by the run's init before forking).
nonisolated(unsafe) var ringBase: UnsafeMutableRawPointer?
