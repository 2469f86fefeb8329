import CIPCLab
import Glibc

extension SetupOperation {
    /// Names are short (a record holds 23 characters): `pids.max N` and `memory.limit N` are the
    /// cgroup files the spawner wrote, `RLIMIT_AS N` (virtual size + memory_bytes) the fallback,
    /// `RLIMIT_CPU N` the backstop in seconds, `cpu timer N ms` the precise limit, `size /tmp N`
    /// the run's tmpfs resized to file_bytes.
    ///
    /// The run's resource limits, as set-up operations its init performs (and records) before the
    /// first participant starts; every process of the run inherits the rlimits.
    ///
    /// The cgroups were joined by the spawner before the init was let go: their operations only
    /// record what it reported (`pidsErrno`, `memoryErrno`). Without a memory cgroup, RLIMIT_AS
    /// (this process's virtual size plus the limit; children are forks of the same size) stands in.
    ///
    /// CPU time: RLIMIT_CPU counts whole seconds, so it is only a backstop (soft: SIGXCPU one
    /// second past the limit, hard: SIGKILL a second later, for a process that catches SIGXCPU).
    /// The limit itself is a timer on each process's CPU clock (`timer_create(CLOCK_PROCESS_CPUTIME_ID)`),
    /// armed by every participant as it starts (timers are not inherited), which sends SIGXCPU at
    /// the millisecond. The alternative, polling the run's cpuacct cgroup from init, would wake the
    /// init every few ms of every run and still be late by a polling period.
    static func limits(_ limits: ipclab_run_limits, pidsErrno: Int32, memoryErrno: Int32) -> [SetupOperation] {
        var ops = [
            SetupOperation(name: "pids.max \(limits.processes + 1)", required: false) {
                errno = pidsErrno
                return pidsErrno == 0 ? 0 : -1
            },
            SetupOperation(name: "memory.limit \(limits.memory_bytes)", required: false) {
                errno = memoryErrno
                return memoryErrno == 0 ? 0 : -1
            },
        ]
        if memoryErrno != 0 {
            let size = ipclab_virtual_size()
            let cap = UInt64(max(0, size)) + UInt64(limits.memory_bytes)
            ops.append(SetupOperation(name: "RLIMIT_AS \(cap)", required: false) {
                size < 0 ? -1 : ipclab_set_rlimit(IPCLAB_RLIMIT_AS, cap, cap)
            })
        }
        let cpuSeconds = UInt64((limits.cpu_ms + 999) / 1000) + 1
        ops += [
            SetupOperation(name: "RLIMIT_NOFILE \(limits.open_files)", required: true) {
                ipclab_set_rlimit(IPCLAB_RLIMIT_NOFILE, UInt64(limits.open_files), UInt64(limits.open_files))
            },
            SetupOperation(name: "RLIMIT_FSIZE \(limits.file_bytes)", required: true) {
                ipclab_set_rlimit(IPCLAB_RLIMIT_FSIZE, UInt64(limits.file_bytes), UInt64(limits.file_bytes))
            },
            // The run's /tmp holds file_bytes in all (mounted at 16 MiB before the limits were
            // known): one file reaches its RLIMIT_FSIZE, and files together fill /tmp (ENOSPC)
            // at the same figure, so a run never ends ENOSPC under a limit it was told is larger.
            SetupOperation(name: "size /tmp \(limits.file_bytes)", required: true, needs: ipclab_CLONE_NEWNS) {
                ipclab_mount("tmpfs", "/tmp", "tmpfs", ipclab_MS_REMOUNT | ipclab_MS_NOSUID | ipclab_MS_NODEV,
                             "size=\(limits.file_bytes),mode=1777")
            },
            SetupOperation(name: "RLIMIT_CPU \(cpuSeconds)", required: true) {
                ipclab_set_rlimit(IPCLAB_RLIMIT_CPU, cpuSeconds, cpuSeconds + 1)
            },
            SetupOperation(name: "cpu timer \(limits.cpu_ms) ms", required: false) {
                ipclab_arm_cpu_timer(limits.cpu_ms)
            },
        ]
        return ops
    }
}
