import CIPCLab
import Glibc
import IPCLabCore

/// The single-threaded process that creates every run. The server starts it once
/// (`ipclab spawner`, with its end of a socket pair as fd 3) and never forks itself:
/// a multi-threaded process must not fork and go on running Swift in the child.
///
/// While idle, the spawner has run inits cloned ahead of time (``RunInit``) into new user, PID, IPC,
/// mount and UTS namespaces (and a pooled network namespace) by the forker of a cgroup slot
/// (``CgroupPool``, ``SlotForker``), so each is born in its cgroups, and writes their uid/gid maps. For each run request it sets the slot's limits and
/// hands the run to a waiting init (one cloned then if none waits). It then reaps finished inits,
/// writes what their cgroups counted into their rings, and kills runs on request. When the server
/// closes the socket it kills every run and waiting init and exits.
public enum Spawner {
    /// The descriptor the spawner's socket arrives on.
    public static let socketFD: Int32 = 3

    /// The host uid and gid a run's root maps to (`nobody`/`nogroup`).
    static let unprivilegedID = 65534

    static let namespaces = ipclab_CLONE_NEWPID | ipclab_CLONE_NEWIPC | ipclab_CLONE_NEWNS | ipclab_CLONE_NEWUTS

    /// Which of ``namespaces`` this host will not make (each tried alone in a throw-away child).
    static func missingNamespaces() -> Int32 {
        [ipclab_CLONE_NEWPID, ipclab_CLONE_NEWIPC, ipclab_CLONE_NEWNS, ipclab_CLONE_NEWUTS]
            .filter { ipclab_namespace_unavailable($0) != 0 }.reduce(0, |)
    }

    /// Serves run requests on `socket` until the server goes away.
    /// - Parameter insecure: `--insecure-no-sandbox`: clone runs without the namespaces this
    ///   host cannot make, instead of failing them (development only).
    public static func serve(socket: Int32 = socketFD, insecure: Bool = false) -> Never {
        _ = ipclab_set_parent_death_signal(SIGKILL)
        if getppid() == 1 { _exit(0) }
        signal(SIGPIPE, SIG_IGN)
        warmUp()
        var state = State()
        if insecure { state.namespaces &= ~missingNamespaces() }
        while state.networks.refill() {}
        state.cgroups.home = state.networks.homeFD
        while state.cgroups.refill() {}
        // Run inits are cloned while idle, not here: a first request (e.g. `ipclab run`'s only one)
        // would otherwise wait for them.
        // A finished run is reaped (and its network namespace freed) the moment its init exits,
        // not when the next request happens to wake the loop.
        let children = ipclab_signalfd_for(SIGCHLD)
        while true {
            var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: children, events: Int16(POLLIN), revents: 0)]
            // Network namespaces are made only while nothing runs: making one takes a kernel-wide
            // lock for ~0.4 ms (4 ms at p99), which would otherwise land on a run in progress.
            let refill = (state.networks.isShort || state.cgroups.isShort || state.isShortOfInits) && state.runs.isEmpty
            let ready = poll(&fds, children >= 0 ? 2 : 1, refill ? 2 : 250)
            if fds[1].revents != 0 { ipclab_signalfd_drain(children) }
            state.reap()
            guard ready > 0, fds[0].revents != 0 else {
                if ready == 0 && refill { state.refill(socket: socket) }
                continue
            }
            var message = SpawnMessage()
            var received: [Int32] = [-1, -1]
            var nfds: Int32 = 0
            let n = withUnsafeMutableBytes(of: &message) { buf in
                ipclab_recv_with_fds(socket, buf.baseAddress, buf.count, &received, 2, &nfds)
            }
            if n == 0 || (n < 0 && errno != EAGAIN) {
                state.killAll()
                _exit(0)
            }
            guard n == MemoryLayout<SpawnMessage>.size else {
                for i in 0..<Int(nfds) { close(received[i]) }
                continue
            }
            switch SpawnMessage.Kind(rawValue: message.kind) {
            case .run? where nfds == 2:
                state.start(runID: message.runID, ringFD: received[0], doneFD: received[1], socket: socket)
            case .kill?:
                state.kill(runID: message.runID)
                for i in 0..<Int(nfds) { close(received[i]) }
            default:
                for i in 0..<Int(nfds) { close(received[i]) }
            }
        }
    }

    /// Every run starts as a fork of this process, so whatever is lazily initialised on
    /// first use (Foundation's JSON decoder, Swift type metadata of the scenario model)
    /// would be paid again in every run's child. Paying it once here makes it inherited.
    /// Measured with perf: without this, type-metadata instantiation and protocol-conformance
    /// scans in each run's processes cost more CPU than the run's own system calls.
    static func warmUp() {
        for preset in Catalog.standard.presets {
            var w = JSONWriter()
            w.value(preset.scenario(.defaults(for: preset.experiment)).json)
            if let scenario = try? Scenario.decode(try JSONValue.parse(w.bytes)) {
                // The participant's per-process state, as a run builds it.
                var p = Participant(index: 0, scenario: scenario, ends: [])
                p.ends.append(ChannelEnds())
                p.children.append(0)
            }
        }
        _ = SetupOperation.withUserNamespace.count + SetupOperation.withoutUserNamespace.count
    }

    /// Reads a run's limits from the ring's header, and whether its plan has a TCP channel (only
    /// those can leave sockets in TIME_WAIT in their network namespace). The run's init decodes the plan.
    static func readPlan(_ ringFD: Int32) -> (ipclab_run_limits, usesTCP: Bool)? {
        var header = ipclab_ring_header()
        let size = MemoryLayout<ipclab_ring_header>.size
        guard withUnsafeMutableBytes(of: &header, { pread(ringFD, $0.baseAddress, size, 0) }) == size,
              header.magic == IPCLAB_RING_MAGIC else { return nil }
        // Read before any process of the run exists, yet still a length from a shared file: the plan
        // must lie inside the file before anything is allocated for it.
        var st = stat()
        guard fstat(ringFD, &st) == 0, UInt64(header.plan_length) <= header.plan_capacity,
              Int64(header.plan_offset) + Int64(header.plan_length) <= Int64(st.st_size) else { return nil }
        var plan = [UInt8](repeating: 0, count: Int(header.plan_length))
        let n = plan.withUnsafeMutableBytes { pread(ringFD, $0.baseAddress, $0.count, off_t(header.plan_offset)) }
        guard n == plan.count else { return nil }
        // The plan is the server's JSONWriter output (no spaces): a TCP channel reads `"kind":"tcp"`.
        let tcp = Array(#""kind":"tcp""#.utf8)
        let usesTCP = plan.count >= tcp.count && (0...(plan.count - tcp.count)).contains { plan[$0..<($0 + tcp.count)].elementsEqual(tcp) }
        return (header.limits, usesTCP)
    }

    /// The runs in flight, by run id.
    struct State {
        var runs: [UInt64: pid_t] = [:]
        var userNamespace = true
        /// The namespaces every run is cloned into besides user and network.
        var namespaces = Spawner.namespaces
        var networks = NetworkNamespacePool()
        var cgroups = CgroupPool()
        /// What the spawner keeps of each run until its init is reaped, by the init's pid: the ring,
        /// to write the cgroups' evidence into, and the completion pipe, closed only after that, so
        /// the server reads the evidence once end of file says the run is over.
        var inFlight: [pid_t: (ringFD: Int32, doneFD: Int32, attachment: CgroupPool.Attachment)] = [:]
        /// Inits of runs with TCP channels: only their namespaces can keep sockets in TIME_WAIT.
        var usedTCP: Set<pid_t> = []

        /// Run inits cloned ahead of time, each in its namespaces and cgroup slot, waiting for a run.
        var ready: [Prepared] = []
        /// How many inits the spawner keeps ready.
        static let readyTarget = 2

        struct Prepared {
            var pid: pid_t
            /// The spawner's end of the init's control socket.
            var control: Int32
            var joined: CgroupPool.Attachment
        }

        /// Whether fewer than ``readyTarget`` inits wait (made only while no run is in flight).
        var isShortOfInits: Bool { !cannotPrepare && ready.count < Self.readyTarget }
        /// Set when cloning an init ahead of time failed: no more tries while idle, until a run's own works.
        var cannotPrepare = false

        /// Clones a run init into new namespaces (and a pooled network namespace) with a cgroup slot
        /// set aside (cloned by the slot's forker, or here), and writes its id maps; the init waits for a run. Nil and the failure if it could not.
        mutating func prepare(socket: Int32) -> (Prepared?, SpawnFailure?) {
            var pair: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                return (nil, SpawnFailure(stage: 1, errno: errno))
            }
            // A network namespace from the pool; when the host makes none, one of the run's own.
            let ownNetwork = !networks.available && userNamespace ? ipclab_CLONE_NEWNET : 0
            let claim = cgroups.claim()
            var pid: pid_t
            var network: Bool
            var forkerLost = false
            if let forker = claim.forker {
                // Born in its cgroup slot: cloned by the slot's forker, as the spawner's child.
                let pooled = networks.take()
                func clone(_ user: Bool) -> pid_t {
                    let request = SlotForker.Request(
                        flags: namespaces | (pooled == nil ? ownNetwork : 0) | (user ? ipclab_CLONE_NEWUSER : 0),
                        userNamespace: user ? 1 : 0, namespaces: namespaces, network: pooled != nil || ownNetwork != 0 ? 1 : 0)
                    return forker.clone(request, control: pair[1], network: pooled ?? -1)
                }
                pid = clone(userNamespace)
                if pid < 0 && userNamespace && [EPERM, EINVAL, ENOSPC, EUSERS].contains(errno) {
                    userNamespace = false
                    pid = clone(false)
                }
                let err = errno
                forkerLost = pid < 0 && [EIO, EPIPE, ECONNRESET].contains(err)
                network = pid > 0 && (pooled != nil || ownNetwork != 0)
                if let pooled { networks.assign(pooled, to: pid) }
                errno = err
            } else {
                (pid, network) = networks.fork(namespaces | ownNetwork | (userNamespace ? ipclab_CLONE_NEWUSER : 0))
                network = network || ownNetwork != 0
                if pid < 0 && userNamespace && [EPERM, EINVAL, ENOSPC, EUSERS].contains(errno) {
                    // No user namespaces on this host: runs get the other namespaces and drop to nobody.
                    userNamespace = false
                    (pid, network) = networks.fork(namespaces)
                }
                if pid == 0 {
                    RunInit.waitForRun(control: pair[1], join: (claim.pidsProcs, claim.memoryProcs), userNamespace: userNamespace,
                                       namespaces: namespaces, networkNamespace: network)
                }
            }
            let err = errno
            cgroups.bind(claim, to: pid, forkerLost: forkerLost)
            close(pair[1])
            guard pid > 0 else {
                close(pair[0])
                return (nil, SpawnFailure(stage: 1, errno: err, missing: namespaces & Spawner.missingNamespaces()))
            }
            if userNamespace {
                let id = Spawner.unprivilegedID
                guard write("/proc/\(pid)/uid_map", "0 \(id) 1\n"), write("/proc/\(pid)/gid_map", "0 \(id) 1\n") else {
                    let err = errno
                    close(pair[0]) // the init sees end of file and exits; reap() frees its namespace
                    Glibc.kill(pid, SIGKILL)
                    return (nil, SpawnFailure(stage: 2, errno: err))
                }
            }
            return (Prepared(pid: pid, control: pair[0],
                             joined: CgroupPool.Attachment(pidsErrno: claim.pidsErrno, memoryErrno: claim.memoryErrno, ns: 0)), nil)
        }

        /// Hands a run to a ready init (or one cloned now): its limits into its cgroup slot, then the
        /// ring and the completion pipe over its control socket.
        mutating func start(runID: UInt64, ringFD: Int32, doneFD: Int32, socket: Int32) {
            var kept = false
            defer { if !kept { close(ringFD); close(doneFD) } }
            guard let (limits, usesTCP) = Spawner.readPlan(ringFD) else { return report(SpawnFailure(stage: 3, errno: EINVAL), to: doneFD) }
            // The oldest first: without a forker, it has had the longest to move itself into its slot.
            var prepared = ready.isEmpty ? nil : ready.removeFirst()
            if prepared == nil {
                let (made, failure) = prepare(socket: socket)
                guard let made else { return report(failure ?? SpawnFailure(stage: 1, errno: EAGAIN), to: doneFD) }
                prepared = made
                cannotPrepare = false
            }
            guard let runInit = prepared else { return }
            defer { close(runInit.control) }
            let pid = runInit.pid
            runs[runID] = pid
            if usesTCP { usedTCP.insert(pid) }
            var attachment = cgroups.configure(pid: pid, limits: limits)
            if attachment.pidsErrno == 0 { attachment.pidsErrno = runInit.joined.pidsErrno }
            if attachment.memoryErrno == 0 { attachment.memoryErrno = runInit.joined.memoryErrno }
            inFlight[pid] = (ringFD, doneFD, attachment)
            kept = true
            var go = GoMessage(go: 1, pidsErrno: attachment.pidsErrno, memoryErrno: attachment.memoryErrno)
            let sent = withUnsafeBytes(of: &go) { buf in
                [ringFD, doneFD].withUnsafeBufferPointer { ipclab_send_with_fds(runInit.control, buf.baseAddress, buf.count, $0.baseAddress, 2) }
            }
            if sent != MemoryLayout<GoMessage>.size {
                // The init is gone: reap() will close the run's pipe, and the server sees an error.
                Glibc.kill(pid, SIGKILL)
            }
        }

        /// One step of getting ready while idle: a network namespace, a cgroup slot, or a run init.
        mutating func refill(socket: Int32) {
            if networks.refill() || cgroups.refill() { return }
            guard isShortOfInits else { return }
            if case (let made?, _) = prepare(socket: socket) { ready.append(made) } else { cannotPrepare = true }
        }

        mutating func kill(runID: UInt64) {
            if let pid = runs[runID] { Glibc.kill(pid, SIGKILL) }
        }

        /// Reaps finished inits without blocking.
        mutating func reap() {
            while true {
                var status: Int32 = 0
                let pid = waitpid(-1, &status, WNOHANG)
                guard pid > 0 else { return }
                if let id = runs.first(where: { $0.value == pid })?.key { runs[id] = nil }
                if let i = ready.firstIndex(where: { $0.pid == pid }) {
                    // A ready init died before its run (killed from outside): drop it, free its slot.
                    close(ready[i].control)
                    ready.remove(at: i)
                    _ = cgroups.release(pid: pid, attachment: nil)
                }
                finish(pid: pid)
                networks.release(pid: pid, checkSockets: usedTCP.remove(pid) != nil)
            }
        }

        /// A run's init is reaped: the cgroups' evidence into its ring, then its completion pipe closed.
        private mutating func finish(pid: pid_t) {
            guard let run = inFlight.removeValue(forKey: pid) else { return }
            var evidence = cgroups.release(pid: pid, attachment: run.attachment)
            _ = withUnsafeBytes(of: &evidence) { pwrite(run.ringFD, $0.baseAddress, $0.count, off_t(ipclab_ring_evidence_offset())) }
            close(run.ringFD)
            close(run.doneFD)
        }

        mutating func killAll() {
            for r in ready {
                close(r.control)
                Glibc.kill(r.pid, SIGKILL)
                var s: Int32 = 0
                _ = waitpid(r.pid, &s, 0)
                _ = cgroups.release(pid: r.pid, attachment: nil)
            }
            ready = []
            for pid in runs.values { Glibc.kill(pid, SIGKILL) }
            for pid in runs.values {
                var s: Int32 = 0
                _ = waitpid(pid, &s, 0)
                finish(pid: pid)
            }
            runs = [:]
            cgroups.removeAll()
        }

        private func report(_ failure: SpawnFailure, to fd: Int32) {
            var f = failure
            _ = withUnsafeBytes(of: &f) { Glibc.write(fd, $0.baseAddress, $0.count) }
        }

        private func write(_ path: String, _ text: String) -> Bool {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            let bytes = Array(text.utf8)
            return Glibc.write(fd, bytes, bytes.count) == bytes.count
        }
    }
}
