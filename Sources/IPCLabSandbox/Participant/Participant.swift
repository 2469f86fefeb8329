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
    /// Pids of the processes this one forked, by process index (0 where it forked none).
    /// An array, not a dictionary: a dictionary's storage type would be instantiated at run
    /// time in every fresh child, which costs more than the run (measured with perf).
    var children: [pid_t]

    init(index: Int, scenario: Scenario, ends: [ChannelEnds]) {
        self.index = index
        self.scenario = scenario
        self.ends = ends
        children = Array(repeating: 0, count: scenario.processes.count)
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
        p.confine()
        p.runSteps()
    }

    /// What every participant does first: a clean signal mask (the dispositions are already the
    /// defaults: the run's init reset them before forking the first process, which forks the others
    /// before any step of its own), and a start record.
    private func begin() {
        ipclab_sigmask_clear()
        // The same mapping the init bound: the ring's bounds it copied before any participant ran still hold.
        _ = ipclab_recorder_bind(ringBase, ringSize, Int32(index))
        // The run's cpu_ms, on this process's own CPU clock (see SetupOperation.limits).
        if runLimits.cpu_ms > 0 {
            _ = ipclab_arm_cpu_timer(runLimits.cpu_ms)
        }
        _ = ipclab_set_process_name(name)
        // Started is recorded before the pid is published: a process that signals this one by
        // name (and may kill it at once) waits for the pid, so the trace always knows the pid.
        Recorder.record(IPCLAB_REC_START, "start", step: nil, args: [Int64(getppid())], result: Int(getpid()))
        ipclab_publish_pid(Int32(index), getpid())
    }

    /// This process's own seccomp filter, on top of the run's: `process_vm_readv`/`writev` only on
    /// itself (the pointer experiments read their own memory; no process reads another's). The
    /// first process installs it after forking the others, which would otherwise inherit its pid.
    private func confine() {
        _ = ipclab_seccomp_restrict_process_vm(getpid())
    }

    /// Creates every channel before anyone forks, so all processes inherit them.
    private mutating func createChannels() {
        for (i, channel) in scenario.channels.enumerated() {
            switch channel.spec {
            case .pipe(let spec): createPipeChannel(i, spec)
            case .sharedMemory(let spec): createSharedMemoryChannel(i, spec)
            case .semaphore(let spec): createSemaphoreChannel(i, spec)
            case .messageQueue(let spec): createMessageQueueChannel(i, spec)
            case .socket(let spec): createSocketChannel(i, spec)
            }
        }
    }

    /// Forks every other process in order; each child begins and runs its own steps.
    private mutating func forkOthers() {
        for i in 1..<scenario.processes.count {
            let pid = Recorder.call(.process(.fork), step: nil, args: [Int64(i)]) {
                let pid = fork()
                if pid == 0 {
                    // The child never returns here: it runs its own steps and exits.
                    var child = Participant(index: i, scenario: scenario, ends: ends)
                    child.begin()
                    child.confine()
                    child.runSteps()
                }
                return Int(pid)
            }.result
            if pid > 0 { children[i] = pid_t(pid) }
        }
    }

    /// Runs the steps in order, then exits with status 0.
    private mutating func runSteps() -> Never {
        var jitter = runSchedule.flatMap { s in
            s.jitterUs > 0 ? JitterGenerator(seed: s.seed, process: index, jitterUs: s.jitterUs) : nil
        }
        switch runSchedule?.cpus {
        case .one?: _ = ipclab_pin_to_nth_cpu(0)
        case .spread?: _ = ipclab_pin_to_nth_cpu(Int64(index))
        default: break
        }
        for (i, step) in scenario.processes[index].steps.enumerated() {
            // A perturbed schedule: a pseudo-random pause before each step (not recorded; the
            // step's own events show when it ran).
            if let us = jitter?.next(), us > 0 { usleep(useconds_t(us)) }
            run(step, at: i)
        }
        exit(code: 0, step: nil)
    }

    /// The pid of another participant, waiting (briefly, in 50 µs sleeps) until it has started.
    /// The run's wall-clock limit bounds the wait.
    func pid(of process: String) -> pid_t {
        guard let i = scenario.processIndex(named: process) else { return -1 }
        while true {
            // The table of pids is shared memory: only a pid a process of the run can have is taken
            // (1 is the run's init; 0 and below would name process groups or every process).
            let pid = ipclab_participant_pid(Int32(i))
            if pid > 1 { return pid }
            usleep(50)
        }
    }

    /// Runs one step: each family's steps live in `Participant+<Family>.swift`.
    private mutating func run(_ step: Step, at i: Int) {
        switch step {
        case .process(let s): runProcessStep(s, at: i)
        case .pipe(let s): runPipeStep(s, at: i)
        case .signal(let s): runSignalStep(s, at: i)
        case .sharedMemory(let s): runSharedMemoryStep(s, at: i)
        case .semaphore(let s): runSemaphoreStep(s, at: i)
        case .send(let s): runSendStep(s, at: i)
        case .messageQueue(let s): runMessageQueueStep(s, at: i)
        case .socket(let s): runSocketStep(s, at: i)
        case .sandbox(let s): runSandboxStep(s, at: i)
        case .bench(let s): runBenchStep(s, at: i)
        }
    }
}

/// The mapped ring every participant records into (set by the run's init before forking).
nonisolated(unsafe) var ringBase: UnsafeMutableRawPointer?
/// The size of that mapping in bytes.
nonisolated(unsafe) var ringSize = 0
/// The run's limits, copied from the ring by the run's init before any participant existed.
nonisolated(unsafe) var runLimits = ipclab_run_limits()
