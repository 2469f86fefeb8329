import CIPCLab
import Glibc

/// The core a run alone keeps to, with the spawner and the inits cloned ahead for the next run, while
/// the server answers on the other cores (README, "Runners"). A lone run is a chain of hops — the
/// spawner's go to the init, each fork, each exit's wakeup of its parent, the init's done — one after
/// the other: on one core, each is a switch; across cores, each wakes the other core, which on this
/// project's VM costs tens of microseconds when that core was idle (halted), and leaves the server's
/// caches to the run's processes. With other runs in flight a run's init may use every core (the
/// cores are all needed then), and the run core is the last of those this process may use.
struct RunCore {
    /// The CPU number.
    let cpu: Int32

    /// Keeps the spawner (this process) to the last core it may use and answers that core, when it may
    /// use two or more; nil with one.
    static func choose() -> RunCore? {
        let cpu = ipclab_choose_run_core()
        guard cpu >= 0 else { return nil }
        let core = RunCore(cpu: cpu)
        core.place(0, alone: true)
        return core
    }

    /// Keeps process `pid` (0: the caller) to this core when `alone`, else lets it use every core the
    /// spawner could at its start. Its children made from now on inherit it.
    func place(_ pid: pid_t, alone: Bool) {
        _ = ipclab_set_run_core(pid, cpu, alone ? 1 : 0)
    }
}
