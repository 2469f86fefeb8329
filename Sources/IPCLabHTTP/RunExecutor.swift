import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (a run that lasts up to its wall limit) on a fixed set of threads of
/// its own, behind a bounded queue, so that it never holds an ``HTTPServer`` pool thread.
///
/// All threads are started by `init` and live until ``shutdown()``: the process's thread
/// count stays what was configured, whatever the load. At most `threads` pieces of work run
/// at once and at most `queueLimit` more wait; past that ``submit(_:expired:)`` refuses at once
/// and ``respond(_:rejected:with:)`` answers 503 `unavailable` with `Retry-After: 1`. With a
/// `maxQueueWait`, work that waited longer than that for a thread is not run: it is expired
/// (answered 503 the same way) by a thread of its own, as soon as its time is up.
///
/// ```swift
/// let executor = RunExecutor()   // 2 × cores threads, 64 waiting
/// func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
///     executor.respond(respond) { slowWork(request) }
/// }
/// ```
public final class RunExecutor: Sendable {
    /// The number of threads, so the most work that runs at once.
    public let threadCount: Int
    /// The most work that may wait for a thread.
    public let queueLimit: Int
    /// The longest work may wait for a thread before it is expired instead of run; `nil`: no limit.
    public let maxQueueWait: Duration?

    private let core: Core
    private let threads: Mutex<[pthread_t]>

    /// Starts `threads` threads named `name-0`, `name-1`, … (cut to 15 bytes, the kernel's
    /// limit; `ps -L`, `top -H` show them).
    /// - Parameters:
    ///   - threads: 1…1024; default twice the online cores (runs mostly wait).
    ///   - queueLimit: 0…65536; default 64.
    ///   - maxQueueWait: the longest a piece of work may wait (positive), or `nil` (default) for
    ///     no limit. With one, a further thread, `name-wait`, expires work that waited too long.
    /// - Precondition: all in range, and the threads could be created.
    public init(threads: Int = 2 * HTTPServerConfiguration.onlineCores, queueLimit: Int = 64,
                maxQueueWait: Duration? = nil, name: String = "ipclab-run") {
        precondition((1...1024).contains(threads), "RunExecutor: threads must be 1…1024, got \(threads)")
        precondition((0...65536).contains(queueLimit), "RunExecutor: queueLimit must be 0…65536, got \(queueLimit)")
        precondition(maxQueueWait.map { $0 > .zero } ?? true, "RunExecutor: maxQueueWait must be positive")
        threadCount = threads
        self.queueLimit = queueLimit
        self.maxQueueWait = maxQueueWait
        core = Core(capacity: threads + queueLimit, maxWait: maxQueueWait)
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

    /// Queues `work` for one of the threads. Returns `false`, without running it, when
    /// `threadCount + queueLimit` pieces are already running or waiting, or after
    /// ``shutdown()``. Should it wait longer than ``maxQueueWait``, `expired` is called
    /// instead of `work` (on the executor's `-wait` thread).
    public func submit(_ work: @escaping @Sendable () -> Void,
                       expired: @escaping @Sendable () -> Void = {}) -> Bool {
        core.submit(Job(work: work, expired: expired, queued: .now))
    }

    /// Why work was answered without being run.
    public enum Rejection: String, Sendable {
        /// `threadCount + queueLimit` pieces were already running or waiting.
        case queueFull = "queue_full"
        /// It waited longer than ``RunExecutor/maxQueueWait`` for a thread.
        case queueWait = "queue_wait"
        /// The executor is shutting down.
        case stopping
    }

    /// Computes a response with `work` on one of the threads and passes it to `respond`.
    /// When the executor is full (or shut down) it responds at once, on the calling thread,
    /// with 503 `unavailable` and `Retry-After: 1`, and `work` is not run; so it does when the
    /// work waited longer than ``maxQueueWait``. `rejected` learns why, before `respond`.
    public func respond(_ respond: @escaping HTTPResponder,
                        rejected: @escaping @Sendable (Rejection) -> Void = { _ in },
                        with work: @escaping @Sendable () -> HTTPResponse) {
        let waited = maxQueueWait.map { Self.milliseconds($0) } ?? 0
        let threads = threadCount
        let accepted = submit({ respond(work()) }, expired: {
            rejected(.queueWait)
            respond(APIError.unavailable(
                "the server is busy: this run waited \(waited) ms for one of the \(threads) run threads and was not started; try again in a second",
                retryAfterSeconds: 1).response)
        })
        guard !accepted else { return }
        rejected(refusalReason)
        respond(refusal.response)
    }

    /// Why ``submit(_:expired:)`` refuses work right now: the executor is stopping, or full.
    public var refusalReason: Rejection { core.isShutDown ? .stopping : .queueFull }

    /// The 503 `unavailable` (with `Retry-After: 1`) for work ``submit(_:expired:)`` refused: busy, or stopping.
    public var refusal: APIError {
        let message = core.isShutDown
            ? "the server is stopping; try again shortly"
            : "the server is busy: \(threadCount) runs in progress and \(queueLimit) waiting; try again in a second"
        return APIError.unavailable(message, retryAfterSeconds: 1)
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
    public var load: Load { core.load }

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
    /// The queue and its counters, shared by the executor and its threads (which do not keep
    /// the executor itself alive, so that its deinit can stop them).
    /// One piece of work in the queue: what to run, what to do instead if it waited too long,
    /// and since when it waits.
    struct Job {
        var work: @Sendable () -> Void
        var expired: @Sendable () -> Void
        var queued: ContinuousClock.Instant
    }

    private final class Core: @unchecked Sendable {
        private let condition = NSCondition()
        private let maxWait: Duration?
        // Guarded by `condition`: a ring of `capacity` slots, `count` of them used from `head`
        // (oldest first, so the head is always the first to expire).
        private var ring: [Job?]
        private var head = 0
        private var count = 0
        private var running = 0
        private var stopping = false

        init(capacity: Int, maxWait: Duration?) {
            ring = Array(repeating: nil, count: capacity)
            self.maxWait = maxWait
        }

        func submit(_ job: Job) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard !stopping, count + running < ring.count else { return false }
            ring[(head + count) % ring.count] = job
            count += 1
            // Every waiter: the expirer, when there is one, must learn of a new head as well.
            condition.broadcast()
            return true
        }

        /// Takes the head of the queue; call with `condition` locked and `count > 0`.
        private func popHead() -> Job {
            let job = ring[head]!
            ring[head] = nil
            head = (head + 1) % ring.count
            count -= 1
            return job
        }

        /// The next piece of work, waiting for one; `nil` once shutting down with nothing left.
        func next(finished: Bool) -> (@Sendable () -> Void)? {
            condition.lock()
            defer { condition.unlock() }
            if finished { running -= 1 }
            while count == 0 && !stopping { condition.wait() }
            guard count > 0 else { return nil }
            let job = popHead()
            running += 1
            return job.work
        }

        /// The next piece of work that waited longer than `maxWait`, waiting until one has;
        /// `nil` once shutting down (what still waits then is run, not expired).
        func nextExpired() -> Job? {
            guard let maxWait else { return nil }
            condition.lock()
            defer { condition.unlock() }
            while !stopping {
                if count == 0 {
                    condition.wait()
                    continue
                }
                let deadline = ring[head]!.queued + maxWait
                if ContinuousClock.now >= deadline { return popHead() }
                let left = ContinuousClock.now.duration(to: deadline)
                let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
                _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            }
            return nil
        }

        func beginShutdown() {
            condition.withLock {
                stopping = true
                condition.broadcast()
            }
        }

        var isShutDown: Bool { condition.withLock { stopping } }

        var load: Load { condition.withLock { Load(running: running, queued: count) } }
    }

    /// What a new thread is handed: the queue, and what it does with it.
    private final class WorkerStart {
        /// A worker runs work; the expirer answers work that waited too long.
        enum Role {
            case worker(name: String)
            case expirer(name: String)
        }

        let core: Core
        let role: Role

        init(core: Core, role: Role) {
            self.core = core
            self.role = role
        }

        func run() {
            switch role {
            case .worker(let name):
                nameThisThread(name)
                var finished = false
                while let work = core.next(finished: finished) {
                    work()
                    finished = true
                }
            case .expirer(let name):
                nameThisThread(name)
                while let job = core.nextExpired() { job.expired() }
            }
        }

        /// `pthread_setname_np`, which Glibc's module does not export: the thread's `comm`.
        private func nameThisThread(_ name: String) {
            let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return }
            defer { close(descriptor) }
            let bytes = Array(name.utf8.prefix(15))
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        }
    }
}
