import CIPCLab
import Glibc
import IPCLabCore

/// The single-threaded process that creates every run. The server starts it once
/// (`ipclab spawner`, with its end of a socket pair as fd 3) and never forks itself:
/// a multi-threaded process must not fork and go on running Swift in the child.
///
/// For each run request the spawner clones a child into new user, PID, IPC, mount and
/// UTS namespaces, writes the child's uid/gid maps, and lets it go; the child becomes
/// the run's init (``RunInit``). It then reaps finished inits and kills runs on request.
/// When the server closes the socket it kills every run left and exits.
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
        // A finished run is reaped (and its network namespace freed) the moment its init exits,
        // not when the next request happens to wake the loop.
        let children = ipclab_signalfd_for(SIGCHLD)
        while true {
            var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: children, events: Int16(POLLIN), revents: 0)]
            // Network namespaces are made only while nothing runs: making one takes a kernel-wide
            // lock for ~0.4 ms (4 ms at p99), which would otherwise land on a run in progress.
            let refill = state.networks.isShort && state.runs.isEmpty
            let ready = poll(&fds, children >= 0 ? 2 : 1, refill ? 2 : 250)
            if fds[1].revents != 0 { ipclab_signalfd_drain(children) }
            state.reap()
            guard ready > 0, fds[0].revents != 0 else {
                if ready == 0 && refill { state.networks.refill() }
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
                state.start(runID: message.runID, wallMs: Int(message.wallMs), ringFD: received[0], doneFD: received[1],
                            socket: socket)
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

    /// Reads a run's plan (its scenario as JSON) from the ring's descriptor and decodes it,
    /// here in the warmed spawner rather than in the run, whose processes inherit the result.
    static func readPlan(_ ringFD: Int32) -> Scenario? {
        var header = ipclab_ring_header()
        let size = MemoryLayout<ipclab_ring_header>.size
        guard withUnsafeMutableBytes(of: &header, { pread(ringFD, $0.baseAddress, size, 0) }) == size,
              header.magic == IPCLAB_RING_MAGIC else { return nil }
        var plan = [UInt8](repeating: 0, count: Int(header.plan_length))
        let n = plan.withUnsafeMutableBytes { pread(ringFD, $0.baseAddress, $0.count, off_t(header.plan_offset)) }
        guard n == plan.count, let json = try? JSONValue.parse(plan) else { return nil }
        return try? Scenario.decode(json)
    }

    /// The runs in flight, by run id.
    struct State {
        var runs: [UInt64: pid_t] = [:]
        var userNamespace = true
        /// The namespaces every run is cloned into besides user and network.
        var namespaces = Spawner.namespaces
        var networks = NetworkNamespacePool()
        /// Inits of runs with TCP channels: only their namespaces can keep sockets in TIME_WAIT.
        var usedTCP: Set<pid_t> = []

        mutating func start(runID: UInt64, wallMs: Int, ringFD: Int32, doneFD: Int32, socket: Int32) {
            defer { close(ringFD); close(doneFD) }
            guard let scenario = Spawner.readPlan(ringFD) else { return report(SpawnFailure(stage: 3, errno: EINVAL), to: doneFD) }
            var sync: [Int32] = [-1, -1]
            guard ipclab_pipe2(&sync, O_CLOEXEC) == 0 else { return report(SpawnFailure(stage: 1, errno: errno), to: doneFD) }
            // A network namespace from the pool; when the host makes none, one of the run's own.
            let ownNetwork = !networks.available && userNamespace ? ipclab_CLONE_NEWNET : 0
            var (pid, network) = networks.fork(namespaces | ownNetwork | (userNamespace ? ipclab_CLONE_NEWUSER : 0))
            network = network || ownNetwork != 0
            if pid < 0 && userNamespace && [EPERM, EINVAL, ENOSPC, EUSERS].contains(errno) {
                // No user namespaces on this host: runs get the other namespaces and drop to nobody.
                userNamespace = false
                (pid, network) = networks.fork(namespaces)
            }
            if pid == 0 {
                close(socket)
                close(sync[1])
                RunInit(ringFD: ringFD, doneFD: doneFD, syncFD: sync[0], wallMs: wallMs, userNamespace: userNamespace,
                        namespaces: namespaces, networkNamespace: network, scenario: scenario).run()
            }
            close(sync[0])
            defer { close(sync[1]) }
            guard pid > 0 else {
                let err = errno
                return report(SpawnFailure(stage: 1, errno: err, missing: namespaces & Spawner.missingNamespaces()), to: doneFD)
            }
            runs[runID] = pid
            if scenario.channels.contains(where: { $0.kind == "tcp" }) { usedTCP.insert(pid) }
            if userNamespace {
                let id = Spawner.unprivilegedID
                guard write("/proc/\(pid)/uid_map", "0 \(id) 1\n"), write("/proc/\(pid)/gid_map", "0 \(id) 1\n") else {
                    report(SpawnFailure(stage: 2, errno: errno), to: doneFD)
                    Glibc.kill(pid, SIGKILL)
                    return
                }
            }
            var go: UInt8 = 1
            _ = Glibc.write(sync[1], &go, 1)
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
                networks.release(pid: pid, checkSockets: usedTCP.remove(pid) != nil)
            }
        }

        mutating func killAll() {
            for pid in runs.values { Glibc.kill(pid, SIGKILL) }
            for pid in runs.values { var s: Int32 = 0; _ = waitpid(pid, &s, 0) }
            runs = [:]
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
