import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (a run that lasts up to its wall limit) on a fixed set of threads of
/// its own, behind a bounded queue that is shared fairly between clients, so that it never
/// holds an ``HTTPServer`` pool thread and no client holds the run slots while others wait.
///
/// All threads are started by `init` and live until ``shutdown()``: the process's thread
/// count stays what was configured, whatever the load. At most `threads` pieces of work run
/// at once and at most `queueLimit` more wait, at most `perClientLimit` of them (running and
/// waiting) from one client; waiting work is started round-robin between clients
/// (``FairRunQueue``). Past a limit ``submit(client:cost:_:expired:)`` refuses at once and
/// ``respond(_:client:cost:errors:rejected:with:)`` answers 503 `unavailable` with a `Retry-After`
/// estimated from recent run durations and the queue ahead. With a `maxQueueWait`, work that
/// waited longer than that for a thread is not run: it is expired (answered 503 the same way)
/// by a thread of its own, as soon as its time is up.
///
/// With a `responseBudgetBytes`, each piece of work declares what its response may hold in
/// memory (its `cost`) and starts only when that fits the budget: it holds a ``Reservation``
/// until its response is sent or dropped, so runs wait for memory instead of growing it.
///
/// ```swift
/// let executor = RunExecutor()   // 3 × cores threads, 64 waiting
/// func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
///     executor.respond(respond, client: request.remoteAddress) { _ in slowWork(request) }
/// }
/// ```
public final class RunExecutor: Sendable {
    /// The number of threads, so the most work that runs at once.
    public let threadCount: Int
    /// The most work that may wait for a thread.
    public let queueLimit: Int
    /// The longest work may wait for a thread before it is expired instead of run; `nil`: no limit.
    public let maxQueueWait: Duration?
    /// The most work one client may have running and waiting at once.
    public let perClientLimit: Int
    /// The most work one client may have running at once.
    public let perClientRunning: Int
    /// Response bytes that may be held at once; nil: no budget.
    public let responseBudgetBytes: Int?

    private let core: Core
    private let threads: Mutex<[pthread_t]>

    /// Starts `threads` threads named `name-0`, `name-1`, … (cut to 15 bytes, the kernel's
    /// limit; `ps -L`, `top -H` show them).
    /// - Parameters:
    ///   - threads: 1…1024; default three times the online cores (a run waits on its
    ///     processes' wakeups for much of its time: README, "Benchmarks").
    ///   - queueLimit: 0…65536; default 64.
    ///   - maxQueueWait: the longest a piece of work may wait (positive), or `nil` (default) for
    ///     no limit. With one, a further thread, `name-wait`, expires work that waited too long.
    ///   - perClientLimit: running + waiting for one client; default (nil) `threads + queueLimit`.
    ///   - perClientRunning: running for one client; default (nil) `threads`. Fewer than
    ///     `threads` keeps a thread free for another client while one has work waiting.
    ///   - responseBudgetBytes: the response budget (positive), or nil (default) for none.
    /// - Precondition: all in range, and the threads could be created.
    public init(threads: Int = 3 * HTTPServerConfiguration.onlineCores, queueLimit: Int = 64,
                maxQueueWait: Duration? = nil, perClientLimit: Int? = nil, perClientRunning: Int? = nil, responseBudgetBytes: Int? = nil,
                name: String = "ipclab-run") {
        precondition((1...1024).contains(threads), "RunExecutor: threads must be 1…1024, got \(threads)")
        precondition((0...65536).contains(queueLimit), "RunExecutor: queueLimit must be 0…65536, got \(queueLimit)")
        precondition(maxQueueWait.map { $0 > .zero } ?? true, "RunExecutor: maxQueueWait must be positive")
        precondition(responseBudgetBytes.map { $0 > 0 } ?? true, "RunExecutor: responseBudgetBytes must be positive")
        threadCount = threads
        self.queueLimit = queueLimit
        self.maxQueueWait = maxQueueWait
        self.perClientLimit = max(1, perClientLimit ?? threads + queueLimit)
        self.perClientRunning = min(threads, max(1, perClientRunning ?? threads))
        self.responseBudgetBytes = responseBudgetBytes
        core = Core(queue: FairRunQueue(capacity: threads + queueLimit, perClientLimit: self.perClientLimit,
                                        perClientRunning: self.perClientRunning, budgetBytes: responseBudgetBytes),
                    threads: threads, maxWait: maxQueueWait)
        var started: [pthread_t] = []
        var roles = (0..<threads).map { WorkerStart.Role.worker(name: "\(name)-\($0)") }
        if maxQueueWait != nil && queueLimit > 0 { roles.append(.expirer(name: "\(name)-wait")) }
        for role in roles {
            let box = Unmanaged.passRetained(WorkerStart(core: core, role: role))
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.run()
                return nil
            }, box.toOpaque())
            guard status == 0 else {
                box.release()
                preconditionFailure("RunExecutor: pthread_create failed: \(String(cString: strerror(status)))")
            }
            started.append(thread)
        }
        self.threads = Mutex(started)
    }

    deinit { shutdown() }

    /// Queues `work` for one of the threads, as one of `client`'s. Returns `false`, without
    /// running it, when `threadCount + queueLimit` pieces are already running or waiting,
    /// or `perClientLimit` of `client`'s, or after ``shutdown()``. Should it wait longer than
    /// ``maxQueueWait``, `expired` is called instead of `work` (on the executor's `-wait` thread).
    public func submit(_ work: @escaping @Sendable () -> Void,
                       expired: @escaping @Sendable () -> Void = {}) -> Bool {
        submit(client: "", { _ in work() }, expired: expired) == nil
    }

    /// Queues `work` for one of the threads, as one of `client`'s, holding `cost` bytes of the
    /// response budget from its start: `work` gets the ``Reservation`` to resize, and to keep
    /// until its response is sent (it is given back when released or freed). Answers why it
    /// was refused (`work` is then not run), or nil.
    public func submit(client: String, cost: Int = 0, _ work: @escaping @Sendable (Reservation) -> Void,
                       expired: @escaping @Sendable () -> Void = {}) -> Rejection? {
        if case .rejected(let why) = core.submit(Job(work: work, expired: expired), client: client, cost: cost, runHere: false) {
            return why
        }
        return nil
    }

    /// Why work was answered without being run.
    public enum Rejection: String, Sendable {
        /// `threadCount + queueLimit` pieces were already running or waiting.
        case queueFull = "queue_full"
        /// The client already had `perClientLimit` pieces running or waiting.
        case clientLimit = "client_limit"
        /// It waited longer than ``RunExecutor/maxQueueWait`` for a thread (or for the budget).
        case queueWait = "queue_wait"
        /// The executor is shutting down.
        case stopping
    }

    /// Computes a response with `work` on one of the threads and passes it to `respond`.
    /// When the executor is full (or shut down, or the client has its most) it responds at
    /// once, on the calling thread, with 503 `unavailable` and a `Retry-After` (its body made
    /// by `errors`), and `work` is not run; so it does when the work waited longer than
    /// ``maxQueueWait``. `rejected` learns why, before `respond`.
    ///
    /// With `answeringHere`, work that may start at once, alone in the queue, runs on the calling
    /// thread instead, when that is an ``HTTPServer`` thread which blocks no other connection by
    /// it (``InlineAnswers``): it holds a slot as a thread's work does, and `respond` is called
    /// before this returns. Else it goes to a thread as without.
    public func respond(_ respond: @escaping HTTPResponder, client: String = "", cost: Int = 0,
                        errors: @escaping HTTPErrorRenderer = HTTPError.plainText,
                        rejected: @escaping @Sendable (Rejection) -> Void = { _ in },
                        answeringHere: Bool = false,
                        with work: @escaping @Sendable (Reservation) -> HTTPResponse) {
        let job = Job(work: { reservation in respond(work(reservation)) }, expired: {
            rejected(.queueWait)
            respond(self.refusal(.queueWait, client: client).response(errors))
        })
        let lease = answeringHere ? InlineAnswers.claim() : nil
        defer { lease?.release() }
        switch core.submit(job, client: client, cost: cost, runHere: lease != nil) {
        case .runHere(let job, let reservation):
            core.finishedHere(client: reservation.client, seconds: Self.run(job, reservation))
        case .queued:
            break
        case .rejected(let refusedBy):
            rejected(refusedBy)
            respond(refusal(refusedBy, client: client).response(errors))
        }
    }

    /// Runs `job` in `reservation`'s slot; the seconds it took (a run thread's, or the submitter's).
    fileprivate static func run(_ job: Job, _ reservation: Reservation) -> Double {
        let started = ContinuousClock.now
        job.work(reservation)
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// ``respond(_:client:cost:errors:rejected:with:)`` for work that needs no response budget.
    public func respond(_ respond: @escaping HTTPResponder, client: String = "",
                        errors: @escaping HTTPErrorRenderer = HTTPError.plainText,
                        rejected: @escaping @Sendable (Rejection) -> Void = { _ in },
                        with work: @escaping @Sendable () -> HTTPResponse) {
        self.respond(respond, client: client, cost: 0, errors: errors, rejected: rejected) { _ in work() }
    }

    /// The 503 `unavailable` for work refused or expired for `reason`, its `Retry-After` from
    /// the queue as it is now: how many runs are ahead and how long runs took lately.
    public func refusal(_ reason: Rejection, client: String = "") -> HTTPError {
        let state = core.snapshot(client: client)
        let perRun = max(0.05, state.averageRunSeconds)
        let ahead: Int
        let message: String
        switch reason {
        case .stopping:
            return .unavailable("the server is stopping; try again shortly", retryAfterSeconds: 1)
        case .queueFull:
            // Runs that must end before a slot is free for one more: the same whether or not
            // a thread has taken the last one queued yet.
            ahead = max(1, state.running + state.queued - threadCount + 1)
            message = "the server is busy: \(threadCount) runs in progress and \(queueLimit) waiting"
        case .clientLimit:
            ahead = state.client.running + state.client.queued
            message = "you already have \(state.client.running) runs in progress and \(state.client.queued) waiting, the most one client may have (\(perClientLimit))"
        case .queueWait:
            ahead = max(1, state.running + state.queued - threadCount + 1)
            message = "the server is busy: this run waited \(maxQueueWait.map { "\(Self.milliseconds($0))" } ?? "too many") ms for one of the \(threadCount) run threads (or for response memory) and was not started"
        }
        let seconds = min(60, max(1, Int((perRun * Double(ahead) / Double(threadCount)).rounded(.up))))
        return .unavailable(message + "; try again in \(seconds) s", retryAfterSeconds: seconds)
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// What the executor holds right now.
    public struct Load: Sendable, Hashable {
        /// Pieces of work running on a thread.
        public var running: Int
        /// Pieces waiting for a thread.
        public var queued: Int
    }

    /// What runs and waits right now (for tests and diagnostics; it may change at once).
    public var load: Load {
        let state = core.snapshot(client: "")
        return Load(running: state.running, queued: state.queued)
    }

    /// The queue in detail, for `/metrics`.
    public struct Snapshot: Sendable {
        public var running: Int
        public var queued: Int
        /// By client (address or API key name), those with anything running, waiting or held.
        public var clients: [String: FairRunQueue<Job>.ClientLoad]
        /// The one client asked about.
        public var client: FairRunQueue<Job>.ClientLoad
        /// Response budget bytes held now.
        public var heldBytes: Int
        /// Pieces of work that waited for the response budget.
        public var budgetWaits: Int
        /// Pieces of work run by the thread that submitted them (``respond(_:client:cost:errors:rejected:answeringHere:with:)``).
        public var answeredHere: Int
        /// Recent runs' average duration.
        public var averageRunSeconds: Double
    }

    /// The queue in detail now; `client`'s load in ``Snapshot/client``.
    public func snapshot(client: String = "") -> Snapshot { core.snapshot(client: client) }

    /// Refuses new work, lets the threads finish what runs and what waits, and waits for
    /// them to end. Calling it again does nothing; calling it from the executor's own work
    /// does not wait for that thread.
    public func shutdown() {
        core.beginShutdown()
        let threads = self.threads.withLock { threads in
            defer { threads = [] }
            return threads
        }
        for thread in threads {
            if pthread_equal(thread, pthread_self()) != 0 {
                pthread_detach(thread)
            } else {
                pthread_join(thread, nil)
            }
        }
    }
}

extension RunExecutor {
    /// What a new thread is handed: the queue, and what it does with it.
    private final class WorkerStart {
        /// A worker runs work; the expirer answers work that waited too long.
        enum Role {
            case worker(name: String)
            case expirer(name: String)
        }

        let core: RunExecutor.Core
        let role: Role

        init(core: RunExecutor.Core, role: Role) {
            self.core = core
            self.role = role
        }

        func run() {
            switch role {
            case .worker(let name):
                ThreadName.set(name)
                var finished: (client: String, seconds: Double)?
                while let (job, reservation) = core.next(finished: finished) {
                    finished = (reservation.client, RunExecutor.run(job, reservation))
                }
            case .expirer(let name):
                ThreadName.set(name)
                while let job = core.nextExpired() { job.expired() }
            }
        }
    }
}
