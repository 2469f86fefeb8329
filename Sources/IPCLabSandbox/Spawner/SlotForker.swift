import CIPCLab
import Glibc

/// The runner: the only process run inits are cloned from. It is started with `exec`
/// (`ipclab runner`, a fresh image with a fresh address layout and an environment the spawner
/// builds, never the server's), reads nothing but its own start-up (the catalog's default
/// scenarios, to warm up what every run would otherwise initialise again), and then only clones
/// inits on request. No plan, trace or request of any run ever enters its memory: an init reads
/// its own run's plan from its own ring once it is cloned. It execs itself again every
/// ``Image/reexecEvery`` clones, so runs do not share an address layout for long.
///
/// There is one in each cgroup slot, so that an init is born in its cgroups instead of being moved
/// there. Moving a process into a v1 cgroup waits for an RCU grace period (5–35 ms on this project's
/// machine) and meanwhile holds the kernel's global `cgroup_threadgroup_rwsem`, stalling every
/// fork and exit, those of runs in progress included. A child inherits its parent's cgroups for
/// free, so the runner is moved once, when its slot is made (while the spawner is idle), and then
/// clones with `CLONE_PARENT`: the init is the spawner's child (the spawner reaps it, and it dies
/// with the spawner) but is born in the runner's cgroups. An exec keeps the pid and the cgroups.
/// One more runner, in no slot, clones the inits of slots whose runner is gone (those move
/// themselves in) and of hosts without cgroups.
///
/// It takes one request at a time over a `SOCK_SEQPACKET` pair. It shares its slot's memory cgroup
/// with the runs; every run init's `oom_score_adj` is raised to 1000 (by the spawner beside its id
/// maps, or by the init itself; inherited by the run's processes; lowering the runner's would need
/// CAP_SYS_RESOURCE), so the OOM killer picks a run's process, never the runner.
final class SlotForker {
    let pid: pid_t
    /// The spawner's end of the request socket; closing it ends the forker.
    let socket: Int32
    let reexecEvery: Int
    /// The runner is starting an image (exec'd, not yet warm): it says so with a hello
    /// (a ``Reply`` with pid 0) when it is ready to clone.
    private(set) var starting = true
    /// Inits cloned from the image running now.
    private(set) var clonesSinceExec = 0
    /// Whether the last init cloned shares its image (its address layout) with an earlier one.
    private(set) var lastCloneShared = false

    init(pid: pid_t, socket: Int32, reexecEvery: Int) {
        self.pid = pid
        self.socket = socket
        self.reexecEvery = reexecEvery
    }

    /// Whether the runner can clone at once (its image is warm): reads its hello if it came.
    var isWarm: Bool {
        if starting {
            var hello = Reply(pid: -1, errno: 0)
            let n = withUnsafeMutableBytes(of: &hello) { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == MemoryLayout<Reply>.size && hello.pid == 0 {
                starting = false
                CodePages.report(hello: hello.errno)
            }
        }
        return !starting
    }

    /// Whether an init was cloned from the image running now (so the next run would share its layout).
    var isUsed: Bool { clonesSinceExec > 0 }

    /// Where the runner finds its request socket and the home network namespace after exec.
    static let socketFD: Int32 = 3
    static let homeFD: Int32 = 4
    /// The spawner's code file (``CodePages/spawnerFiles()``), when there is one.
    static let codeFD: Int32 = 5
    /// The spawner's huge-page tmpfs, when runners put their RELRO there (``CodePages/relro``).
    static let tmpfsFD: Int32 = 6
    /// Where the C runner finds the spawner's code file (its fd 5 holds its own executable, `runner.h`).
    static let cRunnerCodeFD: Int32 = 6

    /// What the spawner asks: clone an init with these flags (plus `CLONE_PARENT`). With the
    /// control socket travel, in this order and as `attached` says, the network namespace to clone
    /// it into (bit 1) and the slot's `cgroup.procs` files the init joins by itself (bits 2: pids,
    /// 4: memory; only when the slot has no runner of its own).
    struct Request {
        var flags: Int32
        var userNamespace: Int32
        var namespaces: Int32
        var network: Int32
        /// The run's host uid and gid: its user namespace is made as them (0: as root).
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        var attached: Int32 = 0
        /// 1: as soon as it is idle, exec a fresh image (no clone).
        var reexec: Int32 = 0
    }

    /// The forker's answer: the init's pid, or -1 and the errno of the failed clone.
    struct Reply {
        var pid: Int32
        var errno: Int32
    }

    /// How a runner is started.
    struct Image {
        /// The `ipclab` binary.
        var executable: String
        /// A fresh image after this many clones.
        var reexecEvery: Int
        /// Whether the runner warms up (``Spawner/warmUp()``) before its first clone: worth it when
        /// many runs will be cloned from it, not for `ipclab run`'s one.
        var warmUp = true
        /// What the runner puts on huge pages before its warm-up.
        var codePages = CodePages.standard
        /// The spawner's code file, read-only (-1: none): the runner maps it over its text.
        var codeFile: Int32 = -1
        /// The spawner's huge-page tmpfs (-1: none): the runner puts a copy of its RELRO there.
        var tmpfs: Int32 = -1
        /// The C runner (`ipclab-runner`, docs/c-runner.md) exec'd instead of `executable`'s
        /// `runner` command (nil: the Swift runner). It needs no warm-up and no environment: a small
        /// static image has nothing to warm or to bind; its text maps ``codeFile`` (made from it) alone. It keeps the same
        /// ``reexecEvery``: its exec is cheap (~0.30 ms of CPU and 26 page faults from exec to exit,
        /// against ~3.7 ms and 639 for `ipclab-sandbox runner --no-warm-up`, perf stat), but a re-exec
        /// after every clone still added ~0.35 ms of the runner's CPU to each run (schedstat, 400 runs
        /// each way), and 0.70 ms of the machine's (2.41 → 3.11 ms, 774 → 606 runs/s: pipe.hello,
        /// 8 clients, debug build, `bench/cpu_per_run.py`, 3 rounds): far above the 0.05 ms
        /// docs/c-runner.md set for `--reexec-every 1`.
        var runnerExecutable: String?
        /// The whole environment a runner (and so a run) gets.
        static let environment = ["LD_BIND_NOW=1"]

        /// The file exec'd, its argument vector and its whole environment.
        var path: String { runnerExecutable ?? executable }
        /// The descriptors the runner finds after exec besides its socket and home: the code file and the
        /// tmpfs at the numbers its image reads them from (the C runner's text from the code file alone).
        var inherited: [(fd: Int32, at: Int32)] {
            runnerExecutable == nil ? [(codeFile, codeFD), (tmpfs, tmpfsFD)] : [(codeFile, cRunnerCodeFD)]
        }
        var argumentVector: [String] {
            runnerExecutable == nil ? Self.arguments(reexecEvery: reexecEvery, warmUp: warmUp, codePages: codePages)
                : ["ipclab-runner", "runner", "--reexec-every", String(reexecEvery)]
        }
        var environmentVector: [String] { runnerExecutable == nil ? Self.environment : [] }

        /// A runner's argument vector (`ipclab-sandbox` and `ipclab` both read it).
        static func arguments(reexecEvery: Int, warmUp: Bool, codePages: CodePages) -> [String] {
            ["ipclab", "runner", "--reexec-every", String(reexecEvery), "--code-pages", String(codePages.rawValue)]
                + (warmUp ? [] : ["--no-warm-up"])
        }
    }

    /// Starts a runner (fork, then exec at once) that comes back to network namespace `home`
    /// (-1: none) after each clone.
    static func start(home: Int32, image: Image) -> SlotForker? {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else { return nil }
        // Everything the child needs is made before fork: it only moves descriptors and execs.
        let argv: [UnsafeMutablePointer<CChar>?] = image.argumentVector.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = image.environmentVector.map { strdup($0) } + [nil]
        let path = image.path
        let inherited = image.inherited
        // Their copies above 10 in the child (an array of its own there: filled in place, no allocation).
        var copies = [Int32](repeating: -1, count: inherited.count)
        defer { for p in argv + envp { free(p) } }
        let pid = fork()
        if pid == 0 {
            // Copies above 10 without CLOEXEC, then onto 3 and 4 (a dup2 onto itself would keep CLOEXEC).
            let s = fcntl(pair[1], F_DUPFD, 10)
            let h = home >= 0 ? fcntl(home, F_DUPFD, 10) : -1
            for i in inherited.indices where inherited[i].fd >= 0 { copies[i] = fcntl(inherited[i].fd, F_DUPFD, 10) }
            guard s >= 0, dup2(s, socketFD) == socketFD else { _exit(127) }
            if h >= 0 { guard dup2(h, homeFD) == homeFD else { _exit(127) } } else { close(homeFD) }
            // Closed first, then the copies put where the image reads them (dup2 onto a closed number).
            for fd in codeFD...tmpfsFD { close(fd) }
            for i in inherited.indices where copies[i] >= 0 { guard dup2(copies[i], inherited[i].at) == inherited[i].at else { _exit(127) } }
            _ = ipclab_close_range(UInt32(tmpfsFD + 1), UInt32.max)
            // Not on the spawner's run core: its inits have the sandbox's cores until a lone run's go (``RunCore``).
            ipclab_leave_run_core(0)
            execve(path, argv, envp)
            _exit(127)
        }
        close(pair[1])
        guard pid > 0 else {
            close(pair[0])
            return nil
        }
        return SlotForker(pid: pid, socket: pair[0], reexecEvery: image.reexecEvery)
    }

    /// Asks for an init: `control` is the init's end of its control socket, `network` the network
    /// namespace to clone it into (-1: the forker's own), `join` the slot's `cgroup.procs` files the
    /// init moves itself into (-1: none). Returns its pid, or -1 with `errno` set.
    func clone(_ request: Request, control: Int32, network: Int32, join: (pids: Int32, memory: Int32) = (-1, -1)) -> pid_t {
        guard requestClone(request, control: control, network: network, join: join) else { return -1 }
        return answer(waiting: true) ?? -1
    }

    /// The first half of ``clone(_:control:network:join:)``: sends the request and returns at once.
    /// ``answer(waiting:)`` reads the runner's answer once its socket is readable. False (and `errno`)
    /// when the request could not be sent: the runner is gone.
    func requestClone(_ request: Request, control: Int32, network: Int32, join: (pids: Int32, memory: Int32) = (-1, -1)) -> Bool {
        var r = request
        var fds = [control]
        r.attached = 0
        if network >= 0 { fds.append(network); r.attached |= 1 }
        if join.pids >= 0 { fds.append(join.pids); r.attached |= 2 }
        if join.memory >= 0 { fds.append(join.memory); r.attached |= 4 }
        let sent = withUnsafeBytes(of: &r) { buf in
            fds.withUnsafeBufferPointer { ipclab_send_with_fds(socket, buf.baseAddress, buf.count, $0.baseAddress, Int32($0.count)) }
        }
        return sent == MemoryLayout<Request>.size
    }

    /// The runner's answer to the clone it was last asked for: the init's pid, or -1 with `errno` (the
    /// runner's, or EIO when it is gone). Not `waiting`: nil while no answer has come yet (a hello,
    /// which a runner starting an image sends first, is read and not an answer).
    func answer(waiting: Bool) -> pid_t? {
        var reply = Reply(pid: -1, errno: EIO)
        while true {
            var n: Int
            repeat {
                n = withUnsafeMutableBytes(of: &reply) { recv(socket, $0.baseAddress, $0.count, waiting ? 0 : Int32(MSG_DONTWAIT)) }
            } while n < 0 && errno == EINTR
            if n < 0 && !waiting && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
            guard n == MemoryLayout<Reply>.size else {
                errno = EIO
                return -1
            }
            // A hello (the image it was starting is warm) comes before the answer.
            if reply.pid == 0 {
                starting = false
                CodePages.report(hello: reply.errno)
                continue
            }
            break
        }
        if reply.pid < 0 {
            errno = reply.errno
            return -1
        }
        clonesSinceExec += 1
        lastCloneShared = clonesSinceExec > 1
        if clonesSinceExec >= reexecEvery {
            // The runner execs a fresh image by itself after this many.
            clonesSinceExec = 0
            starting = true
        }
        return reply.pid
    }

    /// Asks the runner for a fresh image now (the spawner is idle), without waiting for it.
    func reexec() {
        guard isUsed, !starting else { return }
        var r = Request(flags: 0, userNamespace: 0, namespaces: 0, network: 0, reexec: 1)
        let sent = withUnsafeBytes(of: &r) { send(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if sent == MemoryLayout<Request>.size {
            clonesSinceExec = 0
            starting = true
        }
    }

    /// Ends the forker and reaps it (its slot can then be removed).
    func stop() {
        close(socket)
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    /// The runner's loop (`ipclab runner`): its request socket on fd 3, the home network namespace on
    /// fd 4 (when open). Never returns: it exits when the spawner goes, or execs itself.
    static func serve(reexecEvery: Int, warmUp: Bool = true, codePages: CodePages = .standard) -> Never {
        _ = ipclab_set_parent_death_signal(SIGKILL)
        if getppid() == 1 { _exit(0) }
        _ = ipclab_set_process_name("ipclab-slot")
        // The cores the sandbox was given (a runner is never kept to the run core): every init cloned
        // from here inherits them in its memory, and its run's first process takes them back (``RunCore``).
        _ = ipclab_save_cores()
        let socket = socketFD
        let home: Int32 = fcntl(homeFD, F_GETFD) >= 0 ? homeFD : -1
        // Kept open across this runner's execs (inits close it with everything else they inherit).
        let codeFile: Int32 = fcntl(codeFD, F_GETFD) >= 0 ? codeFD : -1
        let tmpfs: Int32 = fcntl(tmpfsFD, F_GETFD) >= 0 ? tmpfsFD : -1
        _ = ipclab_close_range(UInt32(tmpfsFD + 1), UInt32.max)
        // Still single-threaded, and before the warm-up touches the code: every init cloned from
        // here on gets the code as a few huge-page entries instead of faulting it in again.
        let code = codePages.apply(codeFile: codeFile, tmpfs: tmpfs)
        if warmUp { Spawner.warmUp() }
        // Inherited by every init cloned from this image, instead of worked out in each.
        _ = RunInit.tracerLibrary
        var hello = Reply(pid: 0, errno: code.helloCode)
        _ = withUnsafeBytes(of: &hello) { send(socket, $0.baseAddress, $0.count, 0) }
        var clones = 0
        while true {
            var request = Request(flags: 0, userNamespace: 0, namespaces: 0, network: 0)
            var fds: [Int32] = [-1, -1, -1, -1]
            var nfds: Int32 = 0
            let n = withUnsafeMutableBytes(of: &request) { ipclab_recv_with_fds(socket, $0.baseAddress, $0.count, &fds, 4, &nfds) }
            if n < 0 && errno == EINTR { continue }
            guard n == MemoryLayout<Request>.size else { _exit(0) }
            if request.reexec != 0 {
                for i in 0..<Int(nfds) { close(fds[i]) }
                if clones > 0 { reexecSelf(reexecEvery: reexecEvery, warmUp: warmUp, codePages: codePages) }
                continue
            }
            guard nfds >= 1 else { _exit(0) }
            var next = 1
            func take(_ present: Bool) -> Int32 {
                guard present, next < Int(nfds) else { return -1 }
                defer { next += 1 }
                return fds[next]
            }
            let network = take(request.attached & 1 != 0)
            let pidsProcs = take(request.attached & 2 != 0)
            let memoryProcs = take(request.attached & 4 != 0)
            var reply = Reply(pid: -1, errno: 0)
            if network >= 0 && (home < 0 || ipclab_netns_enter(network) != 0) {
                reply.errno = home < 0 ? EINVAL : errno
            } else {
                let flags = request.flags | ipclab_CLONE_PARENT
                var pid: pid_t = -1
                if request.uid != 0 && request.userNamespace != 0 {
                    pid = ipclab_fork_into_as(flags, request.uid, request.gid, SIGKILL)
                    // A host that lets only root make user namespaces (a security module's rule): the
                    // run still gets its own uid inside, but its user namespace is root's.
                    if pid < 0 && [EPERM, EACCES].contains(errno) { pid = ipclab_fork_into(flags) }
                } else {
                    pid = ipclab_fork_into(flags)
                }
                if pid == 0 {
                    RunInit.waitForRun(control: fds[0], join: (pidsProcs, memoryProcs), userNamespace: request.userNamespace != 0,
                                       namespaces: request.namespaces, networkNamespace: request.network != 0, uid: request.uid)
                }
                reply = Reply(pid: pid, errno: pid < 0 ? errno : 0)
                if pid > 0 { clones += 1 }
                // Stranded outside home, this forker would clone the next init into a used namespace.
                if network >= 0 && ipclab_netns_enter(home) != 0 { _exit(70) }
            }
            for fd in [fds[0], network, pidsProcs, memoryProcs] where fd >= 0 { close(fd) }
            _ = withUnsafeBytes(of: &reply) { send(socket, $0.baseAddress, $0.count, 0) }
            if clones >= reexecEvery { reexecSelf(reexecEvery: reexecEvery, warmUp: warmUp, codePages: codePages) }
        }
    }

    /// A fresh image of the runner in this same process (same pid, same cgroups, the request socket
    /// and home namespace kept on fds 3 and 4): a new address layout for the next runs.
    private static func reexecSelf(reexecEvery: Int, warmUp: Bool, codePages: CodePages) {
        let argv: [UnsafeMutablePointer<CChar>?] = Image.arguments(reexecEvery: reexecEvery, warmUp: warmUp, codePages: codePages).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = Image.environment.map { strdup($0) } + [nil]
        execve("/proc/self/exe", argv, envp)
        // Could not exec (the binary is gone?): keep serving with this image.
        for p in argv + envp { free(p) }
    }
}
