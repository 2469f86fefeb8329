import CIPCLab
import Glibc

/// The core the spawner keeps to, with the init of a run alone and the inits cloned ahead for the next
/// run, while the server answers on the other cores (README, "Runners"). A run's control path is a chain
/// of hops — the server's go to the spawner, the spawner's to the init, the init's fork of the first
/// process, that process's exit waking the init, the init's done — and with the spawner and the init on
/// one core, the hops between them are switches instead of wakeups of the other core (tens of
/// microseconds on this project's VM when that core was idle, halted). The run's own processes may use
/// every core (the first one leaves the init's core at once: ``ipclab_use_every_core``), as a run's
/// concurrency needs (a race needs two cores). With other runs in flight an init may use every core
/// too, and runners start on every core.
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
