import CIPCLab
import Glibc
import IPCLabCore

/// A program run in its init: the minimal root, the compiler, then the programs themselves, each
/// exec'd with the interposer preloaded (README, "C programs"). Everything after the root is built
/// runs under the run's limits and lockdown, the compiler included.
extension RunInit {
    /// Where the run's files live inside its own /tmp.
    static let programDir = "/tmp/.ipclab"
    /// The descriptor the programs find the ring at (IPCLAB_RING_FD).
    static let programRingFD: Int32 = 101

    func runPrograms(_ programs: [ProgramSpec], base: UnsafeMutableRawPointer, planEnd: Int, planArea: Int) -> Never {
        let wallMs = Int(runLimits.wall_ms)
        // The output area (ProgramOutput): inside the mapping, sized by the server.
        let areaBytes = max(0, planArea - (planEnd - Int(base.assumingMemoryBound(to: ipclab_ring_header.self).pointee.plan_offset)))
        let area = planEnd + areaBytes <= ringSize ? areaBytes : 0
        ipclab_recorder_start_clock()
        Recorder.record(IPCLAB_REC_SETUP, "namespaces", step: nil,
                        args: [userNamespace ? 1 : 0, networkNamespace ? 1 : 0, Int64(namespaces)], result: 0)
        // The tracer is next to the ipclab binary: the ready init opened it before its tmpfs covered /tmp
        // (RunInit+Ready.swift), and the root is built from that descriptor (kept, at Self.tracerFD).
        // Kept: stdio, the control socket (close-on-exec: no program holds it), the ring, the tracer.
        _ = dup2(ringFD, Self.programRingFD)
        _ = ipclab_close_range(3, UInt32(Self.controlFD - 1))
        _ = ipclab_close_range(UInt32(Self.controlFD + 1), UInt32(Self.programRingFD - 1))
        _ = ipclab_close_range(UInt32(Self.tracerFD + 1), UInt32.max)
        _ = ipclab_fcntl_int(Self.programRingFD, F_SETFD, FD_CLOEXEC)

        guard namespaces & ipclab_CLONE_NEWNS != 0 else { fail("a program run needs a mount namespace of its own", ENOSYS) }
        guard tracer.fd >= 0 else {
            // The header keeps 127 bytes of a failure: the path last, so the advice survives a cut.
            fail("no tracer (swift build --product IPCLabTrace): \(tracer.path)", ENOENT)
        }
        // The namespaces' set-up, done while the init waited (the host's tree made read-only and the
        // scenario's tmpfs mounts among it: the minimal root then covers them all).
        recordEarly()
        perform(Self.minimalRoot(tracer: "/proc/self/fd/\(Self.tracerFD)"))
        close(Self.tracerFD)
        for op in SetupOperation.limits(runLimits, pidsErrno: go.pidsErrno, memoryErrno: go.memoryErrno) where op.needs & namespaces == op.needs {
            perform(op)
        }
        // No core files (a crash is shown by its signal); inherited across exec, unlike dumpable.
        perform(SetupOperation(name: "RLIMIT_CORE 0", required: true) { ipclab_set_rlimit(IPCLAB_RLIMIT_CORE, 0, 0) })
        _ = ipclab_set_parent_death_signal(SIGKILL)
        // Every signal's default action was set while the init waited, as for scenarios: an ignored
        // disposition survives exec, and the runner inherits the spawner's ignored SIGPIPE — a program
        // writing to a pipe without readers must die of SIGPIPE, as the course teaches, not get EPIPE.
        lockDown()
        let dirs = ["", "/src", "/bin", "/out", "/in"].map { Self.programDir + $0 }
        for dir in dirs where mkdir(dir, 0o755) != 0 { fail("mkdir \(dir) failed", errno) }
        let collect = ProgramCollector(programs: programs, base: base + planEnd, capacity: area)
        nonisolated(unsafe) var output = OutputWatch()
        runTick = { output.scan() }
        runFinishing = {
            output.scan()
            collect.write()
        }

        // Compile each program, one after the other, under the run's limits and wall clock.
        let deadline = Int64(wallMs) * 1_000_000
        for (i, program) in programs.enumerated() {
            let source = "\(Self.programDir)/src/\(program.name).c"
            guard Self.writeFile(source, Array(program.source.utf8)) else { fail("could not write \(source)", errno) }
            let status = compile(program, index: i, source: source, deadline: deadline)
            guard let status else { timeoutWhileCompiling(program) }
            Recorder.record(IPCLAB_REC_SETUP, "gcc \(program.name)", step: nil, result: Int(status))
            if status != 0 { finish(IPCLAB_OUTCOME_OK) }
        }

        // Run them all, each with its stdin, the tracer preloaded, and the ring at a fixed descriptor.
        var first: pid_t = 0
        for (i, program) in programs.enumerated() {
            let input = "\(Self.programDir)/in/\(i)"
            guard Self.writeFile(input, Array(program.stdin.utf8)) else { fail("could not write \(input)", errno) }
            let pid = fork()
            if pid == 0 {
                // The sandbox's cores, as in a scenario's first process (``RunCore``): programs may use threads.
                _ = ipclab_restore_cores()
                Self.execProgram(program, index: i, stdin: input)
            }
            if pid < 0 { fail("fork of program \(program.name) failed", errno) }
            if first == 0 { first = pid }
        }
        var watch = DeadlockWatch(base: base, scenario: ProgramSpec.scenario(of: programs))
        watch.programs = true
        superviseUntilDone(first: first, wallMs: wallMs, watch: watch)
    }

    /// The program run's own root (instead of the host's tree, read-only, that scenarios keep):
    /// mounted over the run's /tmp, then pivoted into, the host's tree detached (program_root.c).
    static func minimalRoot(tracer: String) -> SetupOperation {
        SetupOperation(name: "minimal root", required: true, needs: ipclab_CLONE_NEWNS) {
            var failure = [CChar](repeating: 0, count: 96)
            return ipclab_program_root(tracer, &failure, failure.count)
        }
    }

    /// The interposer library next to the running `ipclab` binary. Worked out once per image, by the
    /// runner before it clones any init (``SlotForker/serve(reexecEvery:warmUp:)``): done in each fresh
    /// init instead, its string work instantiated generic metadata there every run, ~3 % of the
    /// machine's CPU at 8 clients (perf, 2026-12-06).
    static let tracerLibrary: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let dir = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return dir + "/libIPCLabTrace.so"
    }()

    /// Runs gcc on one program; its exit status (0 compiled; 128+N when a signal ended it), or nil when
    /// the wall clock ran out first.
    private func compile(_ program: ProgramSpec, index: Int, source: String, deadline: Int64) -> Int32? {
        let binary = "\(Self.programDir)/bin/\(program.name)"
        let argv = ["gcc", "-std=gnu17", "-O0", "-g0", "-pipe", "-fdiagnostics-format=json", "-fmax-errors=20",
                    "-o", binary, source, "-lrt", "-lpthread"]
        let env = ["PATH=/usr/bin:/bin", "TMPDIR=/tmp", "LC_ALL=C", "HOME=/tmp"]
        let err = "\(Self.programDir)/out/compile.\(index)"
        let pid = fork()
        if pid == 0 {
            Self.exec("/usr/bin/gcc", argv, env, stdin: nil, stdout: err, stderr: err, keep: -1)
            _exit(127)
        }
        if pid < 0 { fail("fork of the compiler failed", errno) }
        while true {
            var status: Int32 = 0
            var usage = rusage()
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid {
                Reaping.record(pid: pid, status: status, usage: usage)
                if ipclab_wifexited(status) != 0 { return ipclab_wexitstatus(status) }
                return 128 + ipclab_wtermsig(status)
            }
            let remaining = deadline - ipclab_now_ns()
            if remaining <= 0 { return nil }
            _ = ipclab_sigwait_timeout(SIGCHLD, remaining)
        }
    }

    private func timeoutWhileCompiling(_ program: ProgramSpec) -> Never {
        Recorder.record(IPCLAB_REC_SETUP, "gcc \(program.name)", step: nil, result: -1, errno: ETIMEDOUT)
        Recorder.record(IPCLAB_REC_NOTE, "timeout", step: nil, args: [runLimits.wall_ms], result: 0)
        killRun(first: 0)
        _ = reapExited(blocking: true)
        finish(IPCLAB_OUTCOME_TIMEOUT)
    }

    /// The child side of a program's start: exec'd with the interposer; never returns.
    private static func execProgram(_ program: ProgramSpec, index: Int, stdin: String) -> Never {
        let pid = getpid()
        let env = ["PATH=/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp", "LC_ALL=C.UTF-8",
                   "LD_PRELOAD=/.ipclab/trace.so", "IPCLAB_RING_FD=\(programRingFD)", "IPCLAB_PROGRAM=\(index)"]
        exec("\(programDir)/bin/\(program.name)", [program.name] + program.args, env, stdin: stdin,
             stdout: "\(programDir)/out/\(pid).1", stderr: "\(programDir)/out/\(pid).2", keep: programRingFD)
        _exit(127)
    }

    private static func exec(_ path: String, _ argv: [String], _ env: [String], stdin: String?, stdout: String, stderr: String, keep: Int32) {
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        _ = ipclab_exec_program(path, cArgv, cEnv, stdin, stdout, stderr, keep, -1)
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var at = 0
        while at < bytes.count {
            let n = bytes[at...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            at += n
        }
        return true
    }
}
