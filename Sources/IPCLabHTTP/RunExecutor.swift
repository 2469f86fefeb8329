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
/// at once and at most `queueLimit` more wait; past that ``submit(_:)`` refuses at once and
/// ``respond(_:with:)`` answers 503 `unavailable` with `Retry-After: 1`.
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

    private let core: Core
    private let threads: Mutex<[pthread_t]>

    /// Starts `threads` threads named `name-0`, `name-1`, … (cut to 15 bytes, the kernel's
    /// limit; `ps -L`, `top -H` show them).
    /// - Parameters:
    ///   - threads: 1…1024; default twice the online cores (runs mostly wait).
    ///   - queueLimit: 0…65536; default 64.
    /// - Precondition: both in range, and the threads could be created.
    public init(threads: Int = 2 * HTTPServerConfiguration.onlineCores, queueLimit: Int = 64,
                name: String = "ipclab-run") {
        precondition((1...1024).contains(threads), "RunExecutor: threads must be 1…1024, got \(threads)")
        precondition((0...65536).contains(queueLimit), "RunExecutor: queueLimit must be 0…65536, got \(queueLimit)")
        threadCount = threads
        self.queueLimit = queueLimit
        core = Core(capacity: threads + queueLimit)
        var started: [pthread_t] = []
        for index in 0..<threads {
            let box = Unmanaged.passRetained(WorkerStart(core: core, name: "\(name)-\(index)"))
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
    /// ``shutdown()``.
    public func submit(_ work: @escaping @Sendable () -> Void) -> Bool {
        core.submit(work)
    }

    /// Computes a response with `work` on one of the threads and passes it to `respond`.
    /// When the executor is full (or shut down) it responds at once, on the calling thread,
    /// with 503 `unavailable` and `Retry-After: 1`, and `work` is not run.
    public func respond(_ respond: @escaping HTTPResponder, with work: @escaping @Sendable () -> HTTPResponse) {
        guard !submit({ respond(work()) }) else { return }
        respond(refusal.response)
    }

    /// The 503 `unavailable` (with `Retry-After: 1`) for work ``submit(_:)`` refused: busy, or stopping.
    public var refusal: APIError {
        let message = core.isShutDown
            ? "the server is stopping; try again shortly"
            : "the server is busy: \(threadCount) runs in progress and \(queueLimit) waiting; try again in a second"
        return APIError.unavailable(message, retryAfterSeconds: 1)
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
    private final class Core: @unchecked Sendable {
        private let condition = NSCondition()
        // Guarded by `condition`: a ring of `capacity` slots, `count` of them used from `head`.
        private var ring: [(@Sendable () -> Void)?]
        private var head = 0
        private var count = 0
        private var running = 0
        private var stopping = false

        init(capacity: Int) {
            ring = Array(repeating: nil, count: capacity)
        }

        func submit(_ work: @escaping @Sendable () -> Void) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard !stopping, count + running < ring.count else { return false }
            ring[(head + count) % ring.count] = work
            count += 1
            condition.signal()
            return true
        }

        /// The next piece of work, waiting for one; `nil` once shutting down with nothing left.
        func next(finished: Bool) -> (@Sendable () -> Void)? {
            condition.lock()
            defer { condition.unlock() }
            if finished { running -= 1 }
            while count == 0 && !stopping { condition.wait() }
            guard count > 0 else { return nil }
            let work = ring[head]
            ring[head] = nil
            head = (head + 1) % ring.count
            count -= 1
            running += 1
            return work
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

    /// What a new thread is handed: the queue, and its name.
    private final class WorkerStart {
        let core: Core
        let name: String

        init(core: Core, name: String) {
            self.core = core
            self.name = name
        }

        func run() {
            nameThisThread()
            var finished = false
            while let work = core.next(finished: finished) {
                work()
                finished = true
            }
        }

        /// `pthread_setname_np`, which Glibc's module does not export: the thread's `comm`.
        private func nameThisThread() {
            let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return }
            defer { close(descriptor) }
            let bytes = Array(name.utf8.prefix(15))
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        }
    }
}
