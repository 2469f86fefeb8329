import CIPCLab
import Glibc
import IPCLabCore

/// The single-threaded process that creates every run. The server starts it once
/// (`ipclab spawner`, with its end of a socket pair as fd 3, and an environment of the server's
/// making, not its own) and never forks itself: a multi-threaded process must not fork and go on
/// running Swift in the child.
///
/// The spawner never runs a run's code and never reads a run's plan: what it needs (limits, whether
/// the run uses TCP) comes in the server's ``SpawnMessage``. Run inits are cloned by runners
/// (``SlotForker``: `ipclab runner`, exec'd, one per cgroup slot), never by the spawner.
///
/// While idle, the spawner has run inits cloned ahead of time (``RunInit``) into new user, PID, IPC,
/// mount and UTS namespaces (and a pooled network namespace) by the runner of a cgroup slot
/// (``CgroupPool``), so each is born in its cgroups, each with a host uid of its own
/// (``RunUidPool``), and writes their uid/gid maps. For each run request it sets the slot's limits and
/// hands the run to a waiting init (one cloned then if none waits). When an init says its run is done
/// (or dies without saying it), it writes what the run's cgroups counted into its ring and closes the
/// run's completion pipe; it reaps finished inits (only then are their slots, network namespaces and
/// uids free again), and kills runs on request. When the server
/// closes the socket it kills every run and waiting init and exits.
public enum Spawner {
    /// The descriptor the spawner's socket arrives on.
    public static let socketFD: Int32 = 3

    /// How runs get their host uids (the server's `--run-uid-base`, `--run-uid-count`), and how often
    /// a runner execs a fresh image.
    public struct Options: Sendable {
        public var uidBase: UInt32 = RunUidPool.defaultBase
        public var uidCount: UInt32 = RunUidPool.defaultCount
        public var reexecEvery: Int = Spawner.defaultReexecEvery
        /// What runners put on huge pages at start (``CodePages``; README, "Runners").
        /// `ipclab serve --no-huge-code-pages` makes it ``CodePages/none``.
        public var codePages: CodePages = .standard
        /// For one run (`ipclab run`): nothing made ahead of time (no pools filled at start or
        /// while idle, no ready inits, no fresh images), runners that skip their warm-up. The one
        /// run makes the slot, namespace and runner it needs.
        public var oneShot = false
        /// The C runner (`ipclab-runner`) the spawner execs its runners from, instead of its own
        /// image: nil for the Swift runner. Its runs' plans must be flat plans. The spawner's side of
        /// `--runner-executable` (a client passes it as ``SpawnerClient/runnerExecutable``).
        public var runnerExecutable: String?
        /// Whether the spawner, a run alone and the work done ahead for the next one keep to one core
        /// (``RunCore``; README, "Runners"). `ipclab serve --no-run-core` turns it off.
        public var runCore = true
        public init() {}
    }

    /// How many inits a runner clones before it execs a fresh image (see README, "Runners").
    public static let defaultReexecEvery = 64

    /// The default first host uid of runs, and how many there are.
    public static let defaultRunUidBase = RunUidPool.defaultBase
    public static let defaultRunUidCount = RunUidPool.defaultCount

    /// `ipclab runner`: a runner's loop (see ``SlotForker``).
    public static func runner(reexecEvery: Int, warmUp: Bool = true, codePages: CodePages = .standard) -> Never {
        SlotForker.serve(reexecEvery: reexecEvery, warmUp: warmUp, codePages: codePages)
    }

    static let namespaces = ipclab_CLONE_NEWPID | ipclab_CLONE_NEWIPC | ipclab_CLONE_NEWNS | ipclab_CLONE_NEWUTS

    /// Which of ``namespaces`` this host will not make (each tried alone in a throw-away child).
    static func missingNamespaces() -> Int32 {
        [ipclab_CLONE_NEWPID, ipclab_CLONE_NEWIPC, ipclab_CLONE_NEWNS, ipclab_CLONE_NEWUTS]
            .filter { ipclab_namespace_unavailable($0) != 0 }.reduce(0, |)
    }

    /// Serves run requests on `socket` until the server goes away.
    /// - Parameter insecure: `--insecure-no-sandbox`: clone runs without the namespaces this
    ///   host cannot make, instead of failing them (development only).
    public static func serve(socket: Int32 = socketFD, insecure: Bool = false, options: Options = Options()) -> Never {
        _ = ipclab_set_parent_death_signal(SIGKILL)
        if getppid() == 1 { _exit(0) }
        signal(SIGPIPE, SIG_IGN)
        // A C runner maps its text from a code file made from its own executable, and nothing else.
        let codePages: CodePages = options.oneShot ? .none
            : options.runnerExecutable != nil ? options.codePages.intersection(.text) : options.codePages
        // Paid back over many runs, not one (README, "Runners").
        let files = codePages.spawnerFiles(of: options.runnerExecutable)
        var state = State(uids: RunUidPool(base: options.uidBase, count: options.uidCount),
                          image: SlotForker.Image(executable: ownExecutable(), reexecEvery: max(1, options.reexecEvery),
                                                  warmUp: !options.oneShot, codePages: codePages,
                                                  codeFile: files.codeFile, tmpfs: files.tmpfs,
                                                  runnerExecutable: options.runnerExecutable))
        if insecure { state.namespaces &= ~missingNamespaces() }
        // The spawner and the init of a run alone share one core (``RunCore``).
        if options.runCore && !options.oneShot { state.runCore = RunCore.choose() }
        state.cgroups.home = state.networks.homeFD
        state.cgroups.image = state.image
        if !options.oneShot {
            while state.networks.refill() {}
            while state.cgroups.refill() {}
        }
        // Run inits are cloned while idle, not here: a first request (e.g. `ipclab run`'s only one)
        // would otherwise wait for them.
        // A finished run is reaped (and its network namespace freed) the moment its init exits,
        // not when the next request happens to wake the loop.
        let children = ipclab_signalfd_for(SIGCHLD)
        while true {
            // After a run started or ended, the inits that replace it are asked for at once: asking
            // is a message to a runner (its answer is read when it comes), so no request waits for it.
            if !options.oneShot && state.canPrepareAhead { state.prepareAhead() }
            // The inits of runs in flight say done on their control sockets (after the first two).
            let listening = state.listening
            var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: children, events: Int16(POLLIN), revents: 0)]
                + listening.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            // Last: the runners of clones asked ahead of time, until they answer.
            let asked = state.pendingClones.map(\.forker.socket)
            fds += asked.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            // Network namespaces are made only while nothing runs: making one takes a kernel-wide
            // lock for ~0.4 ms (4 ms at p99), which would otherwise land on a run in progress.
            let refill = !options.oneShot && (state.networks.isShort || state.cgroups.isShort || state.isShortOfInits) && state.runs.isEmpty
            // Fresh runner images only once runs have paused a while: a client posting runs back to
            // back would otherwise pay a runner's start-up (~16 ms of CPU) for every run.
            let idleMs = monotonicMs() - state.lastRunActivity
            let freshen = !options.oneShot && state.runs.isEmpty && state.needsFreshening
            let timeout = refill ? 2 : freshen ? Int32(max(1, min(250, freshenAfterMs - idleMs))) : 250
            if children < 0 { fds[1].fd = -1 }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            // A run's done first: the server may read its trace while the init is still torn down.
            for (i, run) in listening.enumerated() where fds[2 + i].revents != 0 { state.hear(from: run.pid) }
            // Reaped when SIGCHLD came (a child that exits after the last `waitpid` makes the
            // signalfd readable for the next poll); without a signalfd, on every turn.
            let exited = children < 0 || fds[1].revents != 0
            if fds[1].revents != 0 { ipclab_signalfd_drain(children) }
            let inFlight = state.runs.count
            if exited { state.reap() }
            if state.runs.count != inFlight { state.lastRunActivity = monotonicMs() }
            let answered = asked.indices.filter { fds[fds.count - asked.count + $0].revents != 0 }.map { asked[$0] }
            if !answered.isEmpty { state.hearClones(from: answered) }
            guard ready > 0, fds[0].revents != 0 else {
                if ready == 0 && freshen && monotonicMs() - state.lastRunActivity >= freshenAfterMs { state.freshen() }
                if ready == 0 && refill { state.refill() }
                if ready == 0 && state.runs.isEmpty && monotonicMs() - state.lastRunActivity >= freshenAfterMs { state.setUpWaiting() }
                continue
            }
            var message = SpawnMessage()
            var received: [Int32] = [-1, -1, -1]
            var nfds: Int32 = 0
            let n = withUnsafeMutableBytes(of: &message) { buf in
                ipclab_recv_with_fds(socket, buf.baseAddress, buf.count, &received, 3, &nfds)
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
            case .run? where nfds == 2 || nfds == 3:
                state.lastRunActivity = monotonicMs()
                state.start(message, ringFD: received[0], doneFD: received[1], finishFD: received[2])
            case .expect? where state.runs.isEmpty:
                awaitRun(on: socket)
            case .kill?:
                state.kill(runID: message.runID)
                for i in 0..<Int(nfds) { close(received[i]) }
            default:
                for i in 0..<Int(nfds) { close(received[i]) }
            }
        }
    }

    /// Every run starts as a fork of a runner, so whatever is lazily initialised on
    /// first use (the lab's JSON writer and parser, Swift type metadata of the scenario model) would be paid again
    /// in every run's init. Paying it once in the runner, from the catalog's own default scenarios
    /// (nothing of any request), makes it inherited.
    /// Measured with perf: without this, type-metadata instantiation and protocol-conformance
    /// scans in each run's processes cost more CPU than the run's own system calls.
    /// Every preset's scenario is decoded (each brings step kinds of its own), but only the first goes
    /// through JSON text and the parser, as an init's plan does: the writer and parser are the same
    /// code for every scenario, and writing and parsing all of them was a quarter of a runner's start
    /// (~1.2 ms of CPU per exec) with no change to what an init's decode then costs (README, "Runners").
    /// Returns how many scenarios it decoded.
    @discardableResult
    static func warmUp() -> Int {
        var decoded = 0
        for (i, preset) in Catalog.standard.presets.enumerated() {
            let json = preset.scenario(.defaults(for: preset.experiment)).json
            if i == 0 {
                var w = JSONWriter()
                w.value(json)
                guard let plan = try? JSONValue.parse(w.bytes), let scenario = try? Scenario.decode(plan) else { continue }
                // The participant's per-process state, as a run builds it.
                var p = Participant(index: 0, scenario: scenario, ends: [])
                p.ends.append(ChannelEnds())
                p.children.append(0)
                decoded += 1
            } else if (try? Scenario.decode(json)) != nil {
                decoded += 1
            }
        }
        _ = SetupOperation.withUserNamespace.count + SetupOperation.withoutUserNamespace.count
        return decoded
    }

    /// How long a spawner told a run is on its way (``SpawnMessage/Kind/expect``) stays awake for it.
    /// The server sends the run ~10–20 µs after; a run that never comes costs this much CPU, no more.
    static let awakeForRunNs: Int64 = 200_000

    /// Stays awake, polling `socket` without sleeping, until a message is there or ``awakeForRunNs``
    /// passed: the run's message then finds the spawner on its core instead of waking it.
    static func awaitRun(on socket: Int32) {
        let until = monotonicNs() + awakeForRunNs
        var fd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        while poll(&fd, 1, 0) == 0 && monotonicNs() < until {}
    }

    static func monotonicNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// How long runs must have paused before runners start fresh images (see README, "Runners").
    static let freshenAfterMs: Int64 = 50

    static func monotonicMs() -> Int64 {
        monotonicNs() / 1_000_000
    }

    /// The name of the sandbox side's own executable, installed beside `ipclab`.
    public static let sandboxExecutableName = "ipclab-sandbox"

    /// The image a spawner is started from (and its runners exec'd from): `ipclab-sandbox` beside
    /// `executable` when it is there, else `executable` itself (`ipclab`'s hidden `spawner` and
    /// `runner` commands run the same code from the server's large image, which makes every fork,
    /// page fault and exit of a run cost more: README, "Runners").
    public static func sandboxImage(beside executable: String) -> String {
        guard let slash = executable.lastIndex(of: "/") else { return executable }
        let sibling = String(executable[...slash]) + sandboxExecutableName
        return access(sibling, X_OK) == 0 ? sibling : executable
    }

    /// The binary this process runs (the runners are exec'd from it).
    static func ownExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }
}
