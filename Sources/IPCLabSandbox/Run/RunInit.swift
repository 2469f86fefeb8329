import CIPCLab
import Glibc
import IPCLabCore

/// PID 1 of a run's PID namespace. It prepares the sandbox, starts the first
/// participant, reaps every process with `wait4(-1)` and enforces the wall-clock
/// limit: when it runs out, it kills everything left (`kill(-1, SIGKILL)`), reaps
/// it, and exits — and with PID 1 gone the kernel kills whatever remains.
struct RunInit {
    /// Where the completion descriptor is moved, so a run's own pipes start at fd 3 as in a fresh program.
    static let doneFD: Int32 = 100

    var ringFD: Int32
    var doneFD: Int32
    var syncFD: Int32
    var wallMs: Int
    var userNamespace: Bool
    /// The `CLONE_NEW*` flags the run was cloned with besides user and network: PID, IPC, mount
    /// and UTS, all four unless the server runs with `--insecure-no-sandbox` on a host without some.
    var namespaces: Int32
    /// Whether the run was cloned into a network namespace of its own (its loopback only).
    var networkNamespace: Bool
    /// Decoded by the spawner before the clone: the run inherits it.
    var scenario: Scenario

    func run() -> Never {
        _ = ipclab_set_parent_death_signal(SIGKILL)
        // Wait for the spawner to write our uid/gid maps (one byte, 1 = go).
        var go: UInt8 = 0
        let n = retryingEINTR { Glibc.read(syncFD, &go, 1) }
        guard n == 1, go == 1 else { _exit(111) }

        var st = stat()
        guard fstat(ringFD, &st) == 0,
              let base = mmap(nil, Int(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, ringFD, 0), base != MAP_FAILED
        else { _exit(112) }
        ringBase = base
        ipclab_recorder_bind(base, -1)
        ipclab_recorder_start_clock()
        Recorder.record(IPCLAB_REC_SETUP, "namespaces", step: nil,
                        args: [userNamespace ? 1 : 0, networkNamespace ? 1 : 0, Int64(namespaces)], result: 0)

        // Keep only stdio and the completion pipe (at a fixed high number).
        _ = dup2(doneFD, Self.doneFD)
        _ = ipclab_close_range(3, UInt32(Self.doneFD - 1))
        _ = ipclab_close_range(UInt32(Self.doneFD + 1), UInt32.max)

        func perform(_ op: SetupOperation) {
            let r = op.action()
            let err = r == 0 ? 0 : errno
            Recorder.record(IPCLAB_REC_SETUP, op.name, step: nil, result: Int(r), errno: err)
            if r != 0 && op.required { fail("sandbox set-up failed: \(op.name)", err) }
        }
        // An operation whose namespace the run lacks would change the host: it is left out.
        for op in userNamespace ? SetupOperation.withUserNamespace : SetupOperation.withoutUserNamespace
        where op.needs & namespaces == op.needs { perform(op) }
        if networkNamespace { perform(SetupOperation.loopbackUp) }
        // Changing uid or gid (setresuid above) clears the parent-death signal: set it again,
        // so that the run still dies with its spawner.
        _ = ipclab_set_parent_death_signal(SIGKILL)
        if !pidNamespace { perform(SetupOperation.reaper) }
        for op in SetupOperation.lockdown { perform(op) }
        var mode: Int32 = -1
        var filters: Int32 = -1
        _ = ipclab_seccomp_status(&mode, &filters)
        Recorder.record(IPCLAB_REC_SETUP, "seccomp", step: nil, args: [Int64(mode), Int64(filters)], result: 0)

        _ = ipclab_sigmask_one(SIG_BLOCK, SIGCHLD)
        let first = fork()
        if first == 0 {
            if !pidNamespace { _ = setpgid(0, 0) }
            Participant.start(first: scenario)
        }
        if first < 0 { fail("fork of the first process failed", errno) }
        if !pidNamespace { _ = setpgid(first, first) }

        superviseUntilDone(first: first)
    }

    /// Whether the run has a PID namespace of its own (always, unless `--insecure-no-sandbox`).
    private var pidNamespace: Bool { namespaces & ipclab_CLONE_NEWPID != 0 }

    /// SIGKILL to everything the run made: every process in its PID namespace (`kill(-1)` there),
    /// or, without one, the first participant's process group, never the host's processes.
    private func killRun(first: pid_t) {
        if pidNamespace { _ = kill(-1, SIGKILL) } else if first > 0 { _ = kill(-first, SIGKILL) }
    }

    /// Reaps until no process is left, or kills them all when the wall-clock limit runs out.
    private func superviseUntilDone(first: pid_t) -> Never {
        let deadline = Int64(wallMs) * 1_000_000
        while true {
            if reapExited(blocking: false) { finish(IPCLAB_OUTCOME_OK) }
            let remaining = deadline - ipclab_now_ns()
            if remaining <= 0 { break }
            _ = ipclab_sigwait_timeout(SIGCHLD, remaining)
        }
        Recorder.record(IPCLAB_REC_NOTE, "timeout", step: nil, args: [Int64(wallMs)], result: 0)
        killRun(first: first)
        _ = reapExited(blocking: true)
        finish(IPCLAB_OUTCOME_TIMEOUT)
    }

    /// Reaps what has exited; returns true once no child is left.
    private func reapExited(blocking: Bool) -> Bool {
        while true {
            var status: Int32 = 0
            var usage = rusage()
            let pid = wait4(-1, &status, blocking ? 0 : WNOHANG, &usage)
            if pid > 0 {
                Reaping.record(pid: pid, status: status, usage: usage)
                continue
            }
            if pid < 0 && errno == EINTR { continue }
            return pid < 0 && errno == ECHILD
        }
    }

    private func finish(_ outcome: ipclab_outcome) -> Never {
        ipclab_ring_finish(Int32(outcome.rawValue), 0, nil)
        _exit(0)
    }

    private func fail(_ what: String, _ err: Int32) -> Never {
        if pidNamespace { _ = kill(-1, SIGKILL) }
        _ = reapExited(blocking: true)
        ipclab_ring_finish(Int32(IPCLAB_OUTCOME_ERROR.rawValue), err, what)
        _exit(0)
    }
}
