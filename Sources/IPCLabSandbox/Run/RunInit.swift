import CIPCLab
import Glibc
import IPCLabCore

/// PID 1 of a run's PID namespace. It prepares the sandbox, starts the first
/// participant, reaps every process with `wait4(-1)` and enforces the wall-clock
/// limit: when it runs out, it kills everything left (`kill(-1, SIGKILL)`), reaps
/// it, and exits — and with PID 1 gone the kernel kills whatever remains.
///
/// A runner (``SlotForker``) clones an init ahead of time, while it is idle (``waitForRun(control:join:userNamespace:namespaces:networkNamespace:)``):
/// already in its namespaces and its cgroup slot, it waits on its control socket until a run is
/// handed to it (the ring, as `SCM_RIGHTS`). It says "done" on the same socket once every other
/// process of the run is reaped and the outcome is in the ring (``finish(_:)``): the spawner then
/// answers the server at once, while this init's own teardown (its address space, its namespaces)
/// happens off the run's path. Moving a process into a v1
/// cgroup takes the kernel's threadgroup lock for writing, which waits for an RCU grace period
/// (5–17 ms measured here when no other move happened lately): done ahead of time, a run pays nothing.
/// So is every set-up operation that does not depend on the run (``prepareAhead(userNamespace:namespaces:networkNamespace:uid:)``).
struct RunInit {
    /// Where an init keeps its control socket (close-on-exec; each forked participant closes it first).
    static let controlFD: Int32 = 99

    var ringFD: Int32
    var userNamespace: Bool
    /// The `CLONE_NEW*` flags the run was cloned with besides user and network: PID, IPC, mount
    /// and UTS, all four unless the server runs with `--insecure-no-sandbox` on a host without some.
    var namespaces: Int32
    /// Whether the run was cloned into a network namespace of its own (its loopback only).
    var networkNamespace: Bool
    var go: GoMessage
    /// The set-up done before the run was handed over, recorded once its ring is mapped.
    var early: [SetupOperation.Done] = []
    /// The tracer library (programs), held open since before /tmp was covered: -1 if there is none.
    var tracer: (fd: Int32, path: String) = (-1, "")

    /// A just-cloned init: keeps nothing of the spawner's but its control socket (an inherited copy of
    /// another run's descriptors must not reach this run), then waits for its run.
    static func waitForRun(control: Int32, join: (pids: Int32, memory: Int32), userNamespace: Bool, namespaces: Int32,
                           networkNamespace: Bool, uid: UInt32) -> Never {
        _ = ipclab_set_parent_death_signal(SIGKILL)
        // `ps` (and the tests) tell a waiting init from a running one by name.
        _ = ipclab_set_process_name("ipclab-ready")
        // The run's processes are the OOM killer's first choice, in the run's memory cgroup (which
        // the slot's forker shares) and on the host.
        preferForOOM()
        // Into the cgroup slot the spawner set aside: "0" is the writer itself. The descriptors were
        // opened by the spawner (root), which is what cgroup v1 checks; the migration's wait for an
        // RCU grace period is this process's alone.
        let pidsJoin: Int32 = join.pids < 0 ? 0 : (ipclab_cgroup_write(join.pids, 0) == 0 ? 0 : errno)
        let memoryJoin: Int32 = join.memory < 0 ? 0 : (ipclab_cgroup_write(join.memory, 0) == 0 ? 0 : errno)
        guard dup2(control, controlFD) == controlFD else { _exit(110) }
        // Close-on-exec: a program's processes never hold it (scenario participants close it at fork).
        _ = ipclab_fcntl_int(controlFD, F_SETFD, FD_CLOEXEC)
        _ = ipclab_close_range(3, UInt32(controlFD - 1))
        _ = ipclab_close_range(UInt32(controlFD + 1), UInt32.max)
        // The spawner says when the id maps are written (a user namespace's ids mean nothing before);
        // then everything that does not depend on the run is done here, off the run's path.
        var ready = GoMessage()
        let r = withUnsafeMutableBytes(of: &ready) { recv(controlFD, $0.baseAddress, $0.count, 0) }
        guard r == MemoryLayout<GoMessage>.size, ready.go == GoMessage.mapped else { _exit(0) }
        let tracer = holdTracer()
        let early = prepareAhead(userNamespace: userNamespace, namespaces: namespaces, networkNamespace: networkNamespace, uid: uid)
        // Kept to the run core by now (if cloned ahead): its fork at the go then interrupts no other core (RunCore).
        _ = ipclab_forget_other_cores()
        var go = GoMessage()
        var fds: [Int32] = [-1]
        var nfds: Int32 = 0
        let n = withUnsafeMutableBytes(of: &go) { ipclab_recv_with_fds(controlFD, $0.baseAddress, $0.count, &fds, 1, &nfds) }
        // End of file: the spawner is ending, or dropped this init.
        guard n == MemoryLayout<GoMessage>.size, nfds == 1, go.go == 1 else { _exit(0) }
        if pidsJoin != 0 { go.pidsErrno = pidsJoin }
        if memoryJoin != 0 { go.memoryErrno = memoryJoin }
        _ = ipclab_set_process_name("ipclab-init")
        RunInit(ringFD: fds[0], userNamespace: userNamespace, namespaces: namespaces,
                networkNamespace: networkNamespace, go: go, early: early, tracer: tracer).run()
    }

    /// `oom_score_adj` 1000, inherited by every process of the run (raising it needs no privilege).
    private static func preferForOOM() {
        let fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = Glibc.write(fd, "1000", 4)
        close(fd)
    }

    func run() -> Never {
        var st = stat()
        guard fstat(ringFD, &st) == 0,
              let base = mmap(nil, Int(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, ringFD, 0), base != MAP_FAILED
        else { _exit(112) }
        ringBase = base
        ringSize = Int(st.st_size)
        // Before any participant exists: the bounds copied here are the server's, and every participant inherits them.
        guard ipclab_recorder_bind(base, ringSize, -1) == 0 else { _exit(112) }
        let header = base.assumingMemoryBound(to: ipclab_ring_header.self)
        // Copied now, before any participant exists, and inherited by each: the header is shared with
        // the run, which could otherwise raise the limits of the processes it starts later.
        runLimits = header.pointee.limits
        let wallMs = Int(runLimits.wall_ms)
        // The plan, decoded here in the init (a fork of the warmed runner, which never saw it) before
        // the run's clock starts: every process of this run inherits it, and no other process has it.
        let (planOffset, planLength) = (Int(header.pointee.plan_offset), Int(header.pointee.plan_length))
        guard planOffset + planLength <= ringSize else {
            ipclab_ring_finish(Int32(IPCLAB_OUTCOME_ERROR.rawValue), EINVAL, "the run's plan does not fit its ring")
            Self.sayDone()
        }
        // Parsed once (a second parse cost each run ~0.1 ms of CPU, measured with perf).
        let plan = try? JSONValue.parse(UnsafeRawBufferPointer(start: base + planOffset, count: planLength))
        // Students' C programs take their own way from here (RunInit+Programs.swift).
        if let plan, let programs = ProgramPlan.decode(plan) {
            runPrograms(programs, base: base, planEnd: planOffset + planLength, planArea: Int(header.pointee.plan_capacity))
        }
        guard let plan, let (scenario, schedule) = RunPlan.decode(plan) else {
            ipclab_ring_finish(Int32(IPCLAB_OUTCOME_ERROR.rawValue), EINVAL, "the run's plan could not be read")
            Self.sayDone()
        }
        runSchedule = schedule
        ipclab_recorder_start_clock()
        Recorder.record(IPCLAB_REC_SETUP, "namespaces", step: nil,
                        args: [userNamespace ? 1 : 0, networkNamespace ? 1 : 0, Int64(namespaces)], result: 0)

        // Keep only stdio and the control socket (at a fixed high number): a run's own pipes start at fd 3.
        _ = ipclab_close_range(3, UInt32(Self.controlFD - 1))
        _ = ipclab_close_range(UInt32(Self.controlFD + 1), UInt32.max)

        // The namespaces' set-up, done while the init waited (RunInit+Ready.swift); then what depends on the run.
        recordEarly()
        for op in SetupOperation.limits(runLimits, pidsErrno: go.pidsErrno, memoryErrno: go.memoryErrno)
        where op.needs & namespaces == op.needs {
            perform(op)
        }
        // Changing uid or gid (setresuid above) clears the parent-death signal: set it again,
        // so that the run still dies with its spawner.
        _ = ipclab_set_parent_death_signal(SIGKILL)
        if !pidNamespace { perform(SetupOperation.reaper) }
        lockDown()
        let first = fork()
        if first == 0 {
            // The run's processes never hold the init's channel to the spawner: only the init says done.
            close(Self.controlFD)
            // The init may be kept to the spawner's core (a run alone: ``RunCore``); the run's processes
            // have the cores the sandbox was given, as a run's concurrency needs.
            _ = ipclab_restore_cores()
            if !pidNamespace { _ = setpgid(0, 0) }
            Participant.start(first: scenario)
        }
        if first < 0 { fail("fork of the first process failed", errno) }
        if !pidNamespace { _ = setpgid(first, first) }

        superviseUntilDone(first: first, wallMs: wallMs, watch: DeadlockWatch(base: base, scenario: scenario))
    }

    /// Whether the run has a PID namespace of its own (always, unless `--insecure-no-sandbox`).
    var pidNamespace: Bool { namespaces & ipclab_CLONE_NEWPID != 0 }

    /// SIGKILL to everything the run made: every process in its PID namespace (`kill(-1)` there),
    /// or, without one, the first participant's process group, never the host's processes.
    func killRun(first: pid_t) {
        if pidNamespace { _ = kill(-1, SIGKILL) } else if first > 0 { _ = kill(-first, SIGKILL) }
    }

    /// Reaps until no process is left, or kills them all when the wall-clock limit runs out.
    /// Ends the run early, as a deadlock, when `watch` finds every live process blocked for good.
    func superviseUntilDone(first: pid_t, wallMs: Int, watch: DeadlockWatch) -> Never {
        var watch = watch
        let deadline = Int64(wallMs) * 1_000_000
        while true {
            if reapExited(blocking: false) { finish(IPCLAB_OUTCOME_OK) }
            let now = ipclab_now_ns()
            let remaining = deadline - now
            if remaining <= 0 { break }
            if let blocked = watch.check(now: now) {
                // The note names the blocked calls (record indexes); the trace shows them unfinished.
                Recorder.record(IPCLAB_REC_NOTE, "deadlock", step: nil,
                                args: blocked.keys.sorted().prefix(8).map { Int64(blocked[$0]!) }, result: blocked.count)
                killRun(first: first)
                _ = reapExited(blocking: true)
                finish(IPCLAB_OUTCOME_TIMEOUT)
            }
            runTick?()
            _ = ipclab_sigwait_timeout(SIGCHLD, watch.enabled ? min(remaining, DeadlockWatch.tickNs) : remaining)
        }
        Recorder.record(IPCLAB_REC_NOTE, "timeout", step: nil, args: [Int64(wallMs)], result: 0)
        killRun(first: first)
        _ = reapExited(blocking: true)
        finish(IPCLAB_OUTCOME_TIMEOUT)
    }

    /// Reaps what has exited; returns true once no child is left.
    func reapExited(blocking: Bool) -> Bool {
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

    func finish(_ outcome: ipclab_outcome) -> Never {
        // "Done" promises that no process of the run is left: a path that ends the run without having
        // waited for every child (a compiler that failed) makes sure here.
        if !reapExited(blocking: false) {
            killRun(first: 0)
            _ = reapExited(blocking: true)
        }
        runFinishing?()
        ipclab_ring_finish(Int32(outcome.rawValue), 0, nil)
        Self.sayDone()
    }

    /// Tells the spawner the run is over — every other process of it reaped, its outcome in the
    /// ring — and exits. The spawner then collects the cgroups' counters and lets the server read
    /// the trace while this process is torn down (~0.3 ms: its address space and its namespaces).
    /// An init that dies without saying it (killed, OOM) is noticed when the spawner reaps it, as before.
    static func sayDone() -> Never {
        var done = GoMessage(go: GoMessage.done)
        _ = withUnsafeBytes(of: &done) { send(controlFD, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        _exit(0)
    }

    /// Performs one set-up operation and records it; a required one that fails ends the run.
    func perform(_ op: SetupOperation) {
        let r = op.action()
        let err = r == 0 ? 0 : errno
        Recorder.record(IPCLAB_REC_SETUP, op.name, step: nil, result: Int(r), errno: err)
        if r != 0 && op.required { fail("sandbox set-up failed: \(op.name)", err) }
    }

    /// The lockdown (the seccomp filter and the rest), the filter's state recorded as a set-up
    /// event, and SIGCHLD blocked: the init reaps its children itself.
    func lockDown() {
        for op in SetupOperation.lockdown { perform(op) }
        var mode: Int32 = -1
        var filters: Int32 = -1
        _ = ipclab_seccomp_status(&mode, &filters)
        Recorder.record(IPCLAB_REC_SETUP, "seccomp", step: nil, args: [Int64(mode), Int64(filters)], result: 0)
        _ = ipclab_sigmask_one(SIG_BLOCK, SIGCHLD)
    }

    func fail(_ what: String, _ err: Int32) -> Never {
        if pidNamespace { _ = kill(-1, SIGKILL) }
        _ = reapExited(blocking: true)
        runFinishing?()
        ipclab_ring_finish(Int32(IPCLAB_OUTCOME_ERROR.rawValue), err, what)
        Self.sayDone()
    }
}

/// What the run's init does once every process of the run is gone, before it writes the outcome
/// (a program run copies its processes' output into the ring); nil for scenarios.
nonisolated(unsafe) var runFinishing: (() -> Void)?

/// What the run's init does at each tick of its supervisor while the run lasts (a program run
/// records what its processes wrote, ``OutputWatch``); nil for scenarios.
nonisolated(unsafe) var runTick: (() -> Void)?
