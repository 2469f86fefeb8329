import CIPCLab
import Glibc

/// The priority of the sandbox's work done ahead of time: an init cloned while no run waits for it
/// (and its set-up that depends on no run) runs at a lower priority than runs, so that it yields the
/// cores to the run in flight and to the server building the last run's trace (README, "Runners").
///
/// A run itself never runs at that priority: the spawner puts its init back to the spawner's own nice
/// value before the run's go, so every process of the run has the server's priority, as before. That
/// takes CAP_SYS_NICE (raising a priority back); without it, nothing is lowered at all.
struct BackgroundPriority {
    /// The spawner's own nice value (the server's): what runs, runners and inits cloned for a run get.
    let base: Int32
    /// The nice value of work done ahead (`base` + ``lowerBy``, at most 19), or nil: left at `base`
    /// (no CAP_SYS_NICE to raise it back, or `base` is already the lowest).
    let background: Int32?

    /// How much lower ahead-of-time work runs than runs do.
    static let lowerBy: Int32 = 10

    /// The spawner's priority as it is now, and whether it may lower and raise back.
    init() {
        var nice: Int32 = 0
        base = ipclab_get_nice(0, &nice) == 0 ? nice : 0
        let lowered = min(19, base + Self.lowerBy)
        background = ipclab_can_raise_priority() != 0 && lowered > base ? lowered : nil
    }

    /// For tests: the given values.
    init(base: Int32, background: Int32?) {
        self.base = base
        self.background = background
    }

    /// Lowers `runner` for a clone ahead of time (its clone inherits the priority) and answers the nice
    /// value that clone is made at. Not `ahead` (a run waits for this clone), or without a background
    /// priority: nothing lowered, ``base``. ``raise(_:from:)`` puts the runner back once it answered.
    func lower(_ runner: pid_t, ahead: Bool) -> Int32 {
        guard ahead, let background, ipclab_set_nice(runner, background) == 0 else { return base }
        return background
    }

    /// Puts `runner` back to ``base`` after a clone made at `nice`, `errno` kept (the clone's; and a
    /// runner that execs a fresh image after this clone starts it at the runs' priority).
    func raise(_ runner: pid_t, from nice: Int32) {
        guard nice != base else { return }
        let cloneErrno = errno
        _ = ipclab_set_nice(runner, base)
        errno = cloneErrno
    }

    /// Puts an init made ahead (`nice`) back to the runs' priority before its run starts: every process
    /// of the run is its child. Cannot fail with CAP_SYS_NICE but for an init that is gone, whose run
    /// then fails anyway (its go is not taken).
    func restore(_ pid: pid_t, from nice: Int32) {
        guard nice != base else { return }
        _ = ipclab_set_nice(pid, base)
    }
}
