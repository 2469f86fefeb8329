import CIPCLab
import Glibc
import Logging
import Synchronization

/// The server's handle on its spawner process: starts it with `posix_spawn` (safe from
/// a multi-threaded process), hands it runs, waits for them, and starts a new spawner
/// if the old one died.
///
/// A thread of its own (`ipclab-spawnmon`) watches the spawner: the moment it dies (its end of
/// the socket pair hangs up) a new one is started, without waiting for the next run. Its
/// runs die with it (each run's init has `PR_SET_PDEATHSIG`), and ``execute(ring:runID:limits:usesTCP:every:tick:)``
/// reports those as ``Completion/spawnerLost``.
public final class SpawnerClient: Sendable {
    /// The `ipclab` binary to start as `ipclab spawner`.
    public let executable: String
    /// Whether runs may go without the namespaces the host cannot make (`--insecure-no-sandbox`).
    public let insecure: Bool
    /// The runs' host uids and the runners' re-exec period, passed to every spawner started.
    public let options: Spawner.Options
    /// The C runner (`ipclab-runner`) this client's spawners start instead of the Swift one
    /// (`--runner-executable`; ``RunImage/c``), nil for the Swift runner.
    public let runnerExecutable: String?
    let logger: Logger
    let process: Mutex<SpawnerProcess?>
    /// Whether this process reaps orphans (it is their subreaper): see ``init(executable:insecure:logger:adoptOrphans:)``.
    let adoptsOrphans: Bool
    let restarts = Atomic<Int>(0)
    let generations = Atomic<Int>(0)
    /// Runs handed to the spawner and not yet over (``execute(ring:runID:limits:usesTCP:filterAtGo:every:tick:atFinish:)``).
    let executing = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    /// The pids of the last spawners that died, by generation (for the runs they took).
    let deadPids = Mutex<[Int: pid_t]>([:])
    /// Other clients of this process whose spawners this one's orphan reaper may reap (``adopt(_:)``).
    let siblings = Mutex<[SpawnerClient]>([])

    struct SpawnerProcess {
        var pid: pid_t
        var socket: Int32
        /// Which spawner this is: 1 for the first, one more for each restart.
        var generation: Int
        /// Already reaped (by the orphan reaper): its pid must not be waited for or signalled.
        var reaped = false
    }

    /// What became of one run, as seen from the server.
    struct Completion {
        /// Set when the spawner could not start the run.
        var failure: SpawnFailure?
        /// The run outlived the wall limit plus grace and had to be killed from outside.
        var killedFromOutside: Bool
        /// The watcher asked for the run to end (no one listens any more), and it was killed.
        var cancelled = false
        /// The pid of the spawner that took the run, when it died before the run was over.
        var spawnerLost: pid_t? = nil
        /// The completion pipe reached end of file with the spawner alive: the spawner closed it at the
        /// run's done (or at its init's reap), after its last write to the ring and after closing its copy.
        /// Every process of the run is reaped by then but, at a done, the init, whose last act was to say it
        /// and which runs none of its code any more while it is torn down: nothing writes the ring now but
        /// this process (it may be wiped and reused: ``RingPool``).
        var ringReleased = false
        /// The spawner took the init's done (``RunEnded/marker``): no other process of the run was left
        /// when the init said it, so what the ring's records held at the init's finish they hold now.
        var doneTaken = false
    }

    /// Starts a spawner, and the thread that starts a new one when it dies.
    /// - Parameters:
    ///   - executable: path of the `ipclab` binary (default: this process's own).
    ///   - insecure: start it with `--insecure-no-sandbox` (development only).
    ///   - runnerExecutable: the C runner its spawners start (`--runner-executable`), nil for the Swift one.
    ///   - adoptOrphans: make this process the subreaper of its descendants
    ///     (`PR_SET_CHILD_SUBREAPER`) and reap every child that is not the spawner: the inits of
    ///     runs whose spawner died come here instead of to PID 1 (which, in a container, may never
    ///     reap them). Only for a process whose other children nobody waits for: the server.
    public init(executable: String? = nil, insecure: Bool = false, options: Spawner.Options = Spawner.Options(),
                runnerExecutable: String? = nil, logger: Logger, adoptOrphans: Bool = false) throws {
        self.executable = executable ?? Self.ownExecutable()
        self.insecure = insecure
        self.options = options
        self.runnerExecutable = runnerExecutable
        self.logger = logger
        self.adoptsOrphans = adoptOrphans
        process = Mutex(nil)
        if adoptOrphans && ipclab_set_child_subreaper() != 0 {
            logger.warning("cannot become the subreaper of the runs (\(ErrnoName.of(errno) ?? "?")): runs of a spawner that died are left to PID 1 to reap")
        }
        let first = generations.add(1, ordering: .relaxed).newValue
        try process.withLock { p in
            p = try Self.spawn(self.executable, insecure: insecure, options: options, runnerExecutable: runnerExecutable, generation: first)
        }
        logger.debug("spawner started", metadata: ["executable": "\(self.executable)"])
        startMonitor()
    }

    deinit { shutdown() }

    /// Whether a spawner process is alive.
    public var isRunning: Bool {
        process.withLock { p in p.map { !$0.reaped && !Self.hungUp($0.socket) } ?? false }
    }

    /// The spawner's state, for `/healthz`.
    public struct Status: Sendable, Hashable {
        /// Whether a spawner is alive.
        public var running: Bool
        /// Its process id, `nil` when there is none.
        public var pid: Int32?
        /// How many times a spawner that died was replaced since the server started.
        public var restarts: Int
    }

    /// What the spawner is right now, without a system call (`/healthz` asks on every request): a
    /// spawner that hung up is replaced by the monitor the moment its poll sees it (``startMonitor()``),
    /// so only that moment's answer can lag; ``isRunning`` asks the socket itself.
    public var status: Status {
        let (running, pid): (Bool, Int32?) = process.withLock { p in
            guard let current = p else { return (false, nil) }
            return (!current.reaped, current.pid)
        }
        return Status(running: running, pid: pid, restarts: restarts.load(ordering: .relaxed))
    }

    /// Closes the socket (the spawner then kills every run left and exits) and reaps it.
    public func shutdown() {
        stopping.store(true, ordering: .releasing)
        process.withLock { p in
            guard let current = p else { return }
            // shutdown before close: the monitor thread may be in poll() on this socket, which holds
            // it open, so a close alone would reach the spawner only when that poll ends (up to
            // 200 ms: most of a one-shot `ipclab run`'s wall time).
            _ = Glibc.shutdown(current.socket, Int32(SHUT_RDWR))
            close(current.socket)
            p = nil
            guard !current.reaped else { return }
            var status: Int32 = 0
            for _ in 0..<2000 {
                if waitpid(current.pid, &status, WNOHANG) != 0 { return }
                usleep(1_000)
            }
            kill(current.pid, SIGKILL)
            waitpid(current.pid, &status, 0)
        }
    }

    /// Hands a run to the spawner and waits until the run is over: every process of it gone but its
    /// init, which has written the outcome and is exiting (its slot and uid stay the spawner's until it is reaped).
    /// While it waits it calls `tick` every `intervalMs` (when above 0); when `tick` returns
    /// false the run is killed at once (its `Completion` says `cancelled`). `filterAtGo`:
    /// ``FlatPlan/needsFilterAtGo(_:fileBytes:)`` of the run's plan (see ``SpawnMessage/filterAtGo``).
    ///
    /// `atFinish` (only without `tick`s) is called once, on this thread, when the run's init says it
    /// finished — its last record written, every other process of the run reaped — while the spawner
    /// has yet to take its done and write the cgroups' counters into the ring: the caller may read the
    /// ring's records then, and must check what it read against the ring once this returns
    /// (``Completion/doneTaken``). A C runner's init says it on an eventfd the spawner passes on
    /// with its go; a Swift init never does, and then nothing is called.
    func execute(ring: EventRing, runID: UInt64, limits: ipclab_run_limits, usesTCP: Bool, filterAtGo: Bool,
                 every intervalMs: Int = 0, tick: () -> Bool = { true },
                 atFinish: (() -> Void)? = nil) throws(SpawnerUnavailable) -> Completion {
        executing.add(1, ordering: .relaxed)
        defer { executing.subtract(1, ordering: .relaxed) }
        let wallMs = Int(limits.wall_ms)
        var done: [Int32] = [-1, -1]
        guard ipclab_pipe2(&done, O_CLOEXEC) == 0 else { throw SpawnerUnavailable(reason: "pipe2 failed: \(ErrnoName.of(errno) ?? "?")") }
        defer { close(done[0]) }
        let finish = atFinish != nil && intervalMs == 0 ? ipclab_eventfd() : -1
        defer { if finish >= 0 { close(finish) } }
        var message = SpawnMessage(.run, runID: runID, wallMs: wallMs, limits: limits, usesTCP: usesTCP, filterAtGo: filterAtGo)
        let sent = try send(&message, fds: finish >= 0 ? [ring.fd, done[1], finish] : [ring.fd, done[1]])
        close(done[1])
        guard let generation = sent else { throw SpawnerUnavailable(reason: "the spawner is not running and could not be restarted") }

        // Only the spawner holds the pipe's write end (no process of the run): it closes it when the
        // run's init says done — every other process of the run reaped, the outcome and the cgroups'
        // counters in the ring — or, for an init that died without saying it, when it reaps the init.
        var bytes = [UInt8]()
        // The run's own init enforces the wall limit; this grace only covers an init that
        // cannot (a loaded machine can delay it by a second or more).
        let grace = 3000
        var waitMs = wallMs + grace
        if finish >= 0, let atFinish {
            let start = Spawner.monotonicMs()
            if Self.waitForFinish(finish, orEnd: done[0], timeoutMs: waitMs) { atFinish() }
            waitMs = max(0, waitMs - Int(Spawner.monotonicMs() - start))
        }
        var cancelled = false
        let ended = readUntilEOF(done[0], timeoutMs: waitMs, into: &bytes, every: intervalMs, orMarker: true) {
            if tick() { return true }
            cancelled = true
            return false
        }
        if !ended {
            var kill = SpawnMessage(.kill, runID: runID)
            _ = try? send(&kill, fds: [])
            let eof = readUntilEOF(done[0], timeoutMs: 5000, into: &bytes)
            let spawnerLost = eof ? lost(generation, bytes) : lostSpawner(generation)
            return Completion(failure: SpawnFailure.decode(bytes), killedFromOutside: !cancelled, cancelled: cancelled,
                              spawnerLost: spawnerLost, ringReleased: eof && spawnerLost == nil)
        }
        // The spawner writes its marker and closes the pipe (it alone holds it) once no process of the
        // run but its exiting init is left, after its last write to the ring: then the ring may be
        // reused. With the spawner lost, that proves nothing: such a ring is not reused.
        let spawnerLost = lost(generation, bytes)
        return Completion(failure: SpawnFailure.decode(bytes), killedFromOutside: false,
                          spawnerLost: spawnerLost, ringReleased: spawnerLost == nil, doneTaken: bytes == RunEnded.marker)
    }

    /// Says a run is on its way, when this client has none in flight: the spawner, idle and so asleep on a
    /// core that may have halted, wakes now and stays awake for it (``SpawnMessage/Kind/expect``), while
    /// this thread makes the run's ring ready; the run's message then finds it on its core instead of
    /// waking it (tens of µs on this project's VM). Beside other runs the spawner is awake anyway, and
    /// nothing is sent. Best effort: a full socket or a spawner gone is left to the run's own send.
    func expectRun() {
        guard executing.load(ordering: .relaxed) == 0,
              let socket = process.withLock({ p in p.flatMap { $0.reaped ? nil : $0.socket } }) else { return }
        var message = SpawnMessage(.expect, runID: 0)
        _ = withUnsafeBytes(of: &message) { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
    }

    /// The pid of the spawner of `generation` if it died before it ended the run: end of file (it came)
    /// with neither its end marker nor a failure report (its exit closed the pipe, which can happen
    /// before its socket to the server reads as hung up); -1 when its pid is no longer known.
    private func lost(_ generation: Int, _ bytes: [UInt8]) -> pid_t? {
        if RunEnded.isMarker(bytes) { return nil }
        if SpawnFailure.decode(bytes) != nil { return lostSpawner(generation) }
        // Its socket hangs up a moment later: until it does, the next run would be sent to it, and lost too.
        for _ in 0..<1000 where lostSpawner(generation) == nil { usleep(1000) }
        return lostSpawner(generation) ?? process.withLock { p in
            p.flatMap { $0.generation == generation ? $0.pid : nil } ?? deadPids.withLock { $0[generation] } ?? -1
        }
    }

    /// Sends a message, restarting the spawner once if it is gone. Returns the generation of the
    /// spawner that took it, `nil` if none could.
    private func send(_ message: inout SpawnMessage, fds: [Int32]) throws(SpawnerUnavailable) -> Int? {
        for attempt in 0..<2 {
            let target: (socket: Int32, generation: Int)? = process.withLock { p in
                if attempt > 0 || p == nil { replace(&p, because: p == nil ? "none was running" : "the previous one did not take a message") }
                return p.map { ($0.socket, $0.generation) }
            }
            guard let target else { return nil }
            let n = withUnsafeBytes(of: &message) { buf in
                fds.withUnsafeBufferPointer { f in
                    ipclab_send_with_fds(target.socket, buf.baseAddress, buf.count, f.baseAddress, Int32(f.count))
                }
            }
            if n == MemoryLayout<SpawnMessage>.size { return target.generation }
            logger.warning("spawner did not take a message", metadata: ["errno": "\(ErrnoName.of(errno) ?? "?")"])
        }
        return nil
    }

    /// The pid of the spawner of `generation` if it has died (been replaced, or hung up), else nil.
    private func lostSpawner(_ generation: Int) -> pid_t? {
        process.withLock { p in
            if let current = p, current.generation == generation {
                return current.reaped || Self.hungUp(current.socket) ? current.pid : nil
            }
            return deadPids.withLock { $0[generation] } ?? -1
        }
    }

    /// Waits until the run's init says on the eventfd `finish` that it finished (true), or until the
    /// completion pipe `end` has something first (the spawner's end or failure, or its death), or
    /// `timeoutMs` passed (false).
    private static func waitForFinish(_ finish: Int32, orEnd end: Int32, timeoutMs: Int) -> Bool {
        var fds = [pollfd(fd: finish, events: Int16(POLLIN), revents: 0), pollfd(fd: end, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&fds, 2, Int32(timeoutMs))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0, fds[1].revents == 0, fds[0].revents != 0 else { return false }
            var count: UInt64 = 0
            return read(finish, &count, 8) == 8
        }
    }

    /// Reads `fd` into `bytes` until end of file (true), or until `timeoutMs` passed or `tick` (called
    /// every `intervalMs` when above 0) returned false (false). `orMarker`: also true as soon as the bytes are a ``RunEnded`` marker, which the spawner
    /// writes last, after its last write to the ring, and closes the pipe right after: waiting for the
    /// close too cost each run a second wakeup of this thread (docs/performance.md).
    private func readUntilEOF(_ fd: Int32, timeoutMs: Int, into bytes: inout [UInt8], every intervalMs: Int = 0,
                              orMarker: Bool = false, tick: () -> Bool = { true }) -> Bool {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let deadline = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000 + Int64(timeoutMs)
        var nextTick = intervalMs > 0 ? deadline - Int64(timeoutMs) + Int64(intervalMs) : Int64.max
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let now = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
            if now >= nextTick {
                if !tick() { return false }
                nextTick = now + Int64(intervalMs)
            }
            let left = deadline - now
            if left <= 0 { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(left, max(0, nextTick - now))))
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 && nextTick <= deadline { continue }
            if ready <= 0 { return false }
            let n = read(fd, &buffer, buffer.count)
            if n == 0 { return true }
            if n > 0 {
                bytes.append(contentsOf: buffer[0..<n])
                if orMarker && RunEnded.isMarker(bytes) { return true }
            } else if errno != EINTR { return true }
        }
    }

    static func spawn(_ executable: String, insecure: Bool, options: Spawner.Options, runnerExecutable: String?,
                      generation: Int) throws -> SpawnerProcess {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw SystemCallError("socketpair")
        }
        // Keep the child's end away from fd 3, so dup2 onto 3 really happens (and clears CLOEXEC).
        let childEnd = fcntl(pair[1], F_DUPFD_CLOEXEC, 10)
        close(pair[1])
        defer { close(childEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, childEnd, Spawner.socketFD)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        // The small image beside `ipclab` when it is there (the runners are exec'd from the same one).
        let image = Spawner.sandboxImage(beside: executable)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(image), strdup("spawner"),
                                                    strdup("--run-uid-base"), strdup(String(options.uidBase)),
                                                    strdup("--run-uid-count"), strdup(String(options.uidCount)),
                                                    strdup("--reexec-every"), strdup(String(options.reexecEvery)),
                                                    strdup("--code-pages"), strdup(String(options.codePages.rawValue))]
            + (insecure ? [strdup("--insecure-no-sandbox")] : []) + (options.oneShot ? [strdup("--one-shot")] : [])
            + (options.runCore ? [] : [strdup("--no-run-core")])
            + (runnerExecutable.map { [strdup("--runner-executable"), strdup($0)] } ?? []) + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        // The spawner's whole environment, built here: nothing of the server's own (its variables may
        // hold secrets, and runs must not find them anywhere they can read).
        var env: [UnsafeMutablePointer<CChar>?] = SlotForker.Image.environment.map { strdup($0) }
        env.append(nil)
        defer { for entry in env { free(entry) } }
        let r = posix_spawn(&pid, image, &actions, &attr, argv, env)
        guard r == 0 else {
            close(pair[0])
            throw SystemCallError("posix_spawn \(image)", r)
        }
        return SpawnerProcess(pid: pid, socket: pair[0], generation: generation)
    }

    private static func ownExecutable() -> String { Spawner.ownExecutable() }
}

/// The spawner is gone and could not be restarted.
struct SpawnerUnavailable: Error {
    var reason: String
}

extension SpawnFailure {
    static func decode(_ bytes: [UInt8]) -> SpawnFailure? {
        guard bytes.count >= MemoryLayout<SpawnFailure>.size else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: SpawnFailure.self) }
    }
}
