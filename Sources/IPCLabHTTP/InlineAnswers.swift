import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// When a handler may answer on the server's own thread, blocking it, instead of handing its work
/// to another thread and the connection's answer back.
///
/// A run handed to a ``RunExecutor`` thread costs two handovers: libmicrohttpd's thread wakes a run
/// thread, suspends the connection, and is woken again to resume it. On this project's 2-core VM
/// that was ~75 µs of the server's CPU per run and ~160 µs of a lone client's latency
/// (docs/performance.md, "Runs answered on the server's thread"). Blocking a libmicrohttpd thread
/// also blocks every other connection it serves, so a request may be answered where it arrived only
/// when that blocks no one else:
///
/// - its thread serves this one connection (libmicrohttpd binds each connection to one thread of
///   its pool for its whole life; connections are counted per thread as they open and close), and
/// - another thread of the pool is left to accept and serve new connections: at most
///   `threads − 1` threads answer inline at once (none with a pool of one thread), and
/// - the server is not stopping.
///
/// The access handler makes the request being handled the thread's ``current`` for the length of
/// the handler's call; ``claim()`` takes it. A claimed request counts as owed to its client, as a
/// suspended one does, so that `stop()` waits for its answer.
final class InlineAnswers: @unchecked Sendable {
    /// The most threads that may answer inline at once.
    let most: Int
    private let lock = NSLock()
    private var connectionsByThread: [pthread_t: Int] = [:]
    private var inlineNow = 0

    init(poolThreads: Int) {
        most = max(0, poolThreads - 1)
    }

    /// A connection opened on the calling thread (libmicrohttpd's notify callback runs on the thread that owns it).
    func opened() {
        lock.withLock { connectionsByThread[pthread_self(), default: 0] += 1 }
    }

    /// A connection of the calling thread is closing.
    func closed() {
        lock.withLock {
            let thread = pthread_self()
            let left = (connectionsByThread[thread] ?? 1) - 1
            connectionsByThread[thread] = left > 0 ? left : nil
        }
    }

    /// Inline answers given now (for tests and diagnostics).
    var answering: Int { lock.withLock { inlineNow } }

    /// Takes an inline slot for the calling thread if it serves one connection and a slot is free.
    fileprivate func take() -> Bool {
        lock.withLock {
            guard inlineNow < most, connectionsByThread[pthread_self()] == 1 else { return false }
            inlineNow += 1
            return true
        }
    }

    fileprivate func give() {
        lock.withLock { inlineNow -= 1 }
    }

    /// The request the calling thread is handling, while the handler runs.
    struct Current {
        let answers: InlineAnswers
        /// Counts the request as owed (as a suspension does); false when the server is stopping.
        let owe: () -> Bool
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "InlineAnswers: pthread_key_create failed")
        return key
    }()

    /// Makes `current` the calling thread's request for the length of `body` (the handler's call).
    static func handling<T>(_ current: Current, _ body: () -> T) -> T {
        let box = Unmanaged.passRetained(CurrentBox(current))
        pthread_setspecific(key, box.toOpaque())
        defer {
            pthread_setspecific(key, nil)
            box.release()
        }
        return body()
    }

    private final class CurrentBox {
        let current: Current
        init(_ current: Current) { self.current = current }
    }

    /// A claim to answer the calling thread's request on this thread: release it once the answer is handed over.
    final class Lease: Sendable {
        private let answers: InlineAnswers
        fileprivate init(_ answers: InlineAnswers) { self.answers = answers }
        func release() { answers.give() }
    }

    /// A lease to block the calling thread for the request it is handling, when that blocks no one
    /// else (see the type's comment); nil when the caller is no libmicrohttpd thread in a handler's
    /// call, or the request must be answered the usual way.
    static func claim() -> Lease? {
        guard let raw = pthread_getspecific(key) else { return nil }
        let current = Unmanaged<CurrentBox>.fromOpaque(raw).takeUnretainedValue().current
        guard current.answers.take() else { return nil }
        guard current.owe() else {
            current.answers.give()
            return nil
        }
        return Lease(current.answers)
    }
}
