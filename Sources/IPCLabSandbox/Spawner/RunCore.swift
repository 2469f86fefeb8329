import CIPCLab
import Glibc

/// The core the spawner keeps to, with the init of a run alone, while the server answers on the other
/// cores (README, "Runners"). A run's control path is a chain of hops — the server's go to the spawner,
/// the spawner's to the init, the init's fork of the first process, that process's exit waking the init,
/// the init's done — and with the spawner and the init on one core, the hops between them are switches
/// instead of wakeups of the other core (tens of microseconds on this project's VM when that core was
/// idle, halted). The run's own processes have the cores the sandbox was given (its first process takes
/// back the init's cores from before its go: ``ipclab_restore_cores``), as a run's concurrency needs (a
/// race needs two cores); so do the runners (``ipclab_leave_run_core``) and the inits of runs beside
/// others. An init cloned ahead at the background priority waits on the run core (its set-up there, off
/// the server's core). The run core is the last of the cores this process may use.
struct RunCore {
    /// The CPU number.
    let cpu: Int32

    /// Keeps the spawner (this process) to the last core it may use and answers that core, when it may
    /// use two or more; nil with one.
    static func choose() -> RunCore? {
        let cpu = ipclab_choose_run_core()
        guard cpu >= 0 else { return nil }
        let core = RunCore(cpu: cpu)
        core.keep(0)
        return core
    }

    /// Keeps process `pid` (0: the caller) to this core; its children made from now on inherit it.
    /// Whether the kernel took it.
    @discardableResult
    func keep(_ pid: pid_t) -> Bool {
        ipclab_keep_to_core(pid, cpu) == 0
    }

    /// Gives this core to the init of a run alone, just sent its go (kept here, it could not run while the
    /// spawner did): the spawner's own work after the go — asking a runner for the init that replaces it —
    /// then waits until the init blocks, instead of delaying the run's first steps by ~20 µs.
    func yieldToInit() {
        sched_yield()
    }

    /// Lets process `pid` use the cores this process could at its start again.
    func leave(_ pid: pid_t) {
        ipclab_leave_run_core(pid)
    }
}
