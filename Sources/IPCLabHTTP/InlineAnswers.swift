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
/// What it counts also places new connections (``ConnectionAcceptor``): never on a thread answering
/// inline while another is free of that (``place(near:shares:)``), and no thread starts answering inline
/// while a connection placed on it waits to be opened.
///
/// The access handler makes the request being handled the thread's ``current`` for the length of
/// the handler's call; ``claim()`` takes it. A claimed request counts as owed to its client, as a
/// suspended one does, so that `stop()` waits for its answer.
final class InlineAnswers: @unchecked Sendable {
    /// The most threads that may answer inline at once.
    let most: Int
    /// The pool's threads.
    let pool: Int
    /// Guards what follows; signalled (`room`) when a placed connection closes or is taken back.
    private let lock = NSCondition()
    private var room: NSCondition { lock }
    private var connectionsByThread: [pthread_t: Int] = [:]
    private var inlineNow = 0
    /// The threads answering inline now.
    private var answeringThreads: Set<pthread_t> = []
    /// Each pool thread's index (``ConnectionAcceptor``: the descriptor of a connection it opened, mod `pool`).
    private var indexOfThread: [pthread_t: Int] = [:]
    /// Connections given to each pool thread by index and not yet closed (``place(near:shares:)``).
    private var connectionsByIndex: [Int]

    init(poolThreads: Int) {
        most = max(0, poolThreads - 1)
        pool = max(1, poolThreads)
        connectionsByIndex = Array(repeating: 0, count: pool)
    }

    /// A connection opened on the calling thread (libmicrohttpd's notify callback runs on the thread that
    /// owns it), with its descriptor: a connection the acceptor added went to the pool thread at
    /// descriptor mod threads, which tells this thread's index.
    func opened(descriptor: Int32) {
        lock.withLock {
            let thread = pthread_self()
            connectionsByThread[thread, default: 0] += 1
            if descriptor >= 0 && indexOfThread[thread] == nil { indexOfThread[thread] = Int(descriptor) % pool }
        }
    }

    /// A connection of the calling thread is closing.
    func closed() {
        lock.withLock {
            let thread = pthread_self()
            let left = (connectionsByThread[thread] ?? 1) - 1
            connectionsByThread[thread] = left > 0 ? left : nil
            if let index = indexOfThread[thread], connectionsByIndex[index] > 0 {
                connectionsByIndex[index] -= 1
                room.signal()
            }
        }
    }

    /// Places a new connection: chooses the pool thread (by index) it should go to and counts it there
    /// at once, in one step, since its thread hears of it only later (so that no thread starts answering
    /// a run inline in between: ``take()`` refuses a thread with a connection placed and not yet opened).
    /// `near`: the CPU the connection's packets came in on (`SO_INCOMING_CPU`; -1 if unknown): the thread
    /// at that CPU's index mod threads, so that a client's connections are served where its packets arrive
    /// (and on one machine, where the client runs), unless it answers a run inline or serves two more
    /// connections than the least loaded; else none answering inline if one is free of that, then the
    /// fewest connections, then the lowest index. A thread with `shares[index]` connections is full.
    /// nil when every thread is full; -1 with a pool of one thread.
    func place(near cpu: Int = -1, shares: [Int]? = nil) -> Int? {
        lock.withLock {
            guard pool > 1 else { return -1 }
            let threadAt = Dictionary(indexOfThread.map { ($1, $0) }) { a, _ in a }
            func busy(_ i: Int) -> Bool { threadAt[i].map(answeringThreads.contains) ?? false }
            func full(_ i: Int) -> Bool { shares.map { connectionsByIndex[i] >= $0[i] } ?? false }
            let open = (0..<pool).filter { !full($0) }
            guard let least = open.min(by: { a, b in
                (busy(a) ? 1 : 0, connectionsByIndex[a], a) < (busy(b) ? 1 : 0, connectionsByIndex[b], b)
            }) else { return nil }
            var chosen = least
            if cpu >= 0 {
                let near = cpu % pool
                if !full(near) && !busy(near) && connectionsByIndex[near] <= connectionsByIndex[least] + 2 { chosen = near }
            }
            connectionsByIndex[chosen] += 1
            return chosen
        }
    }

    /// A connection placed on pool thread `index` that the daemon did not take (it closed it).
    func unplace(_ index: Int) {
        lock.withLock {
            guard connectionsByIndex.indices.contains(index), connectionsByIndex[index] > 0 else { return }
            connectionsByIndex[index] -= 1
            room.signal()
        }
    }

    /// Waits until some pool thread has fewer connections than its share, or `seconds` pass; true if one has.
    func waitForRoom(shares: [Int], seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        lock.lock()
        defer { lock.unlock() }
        while !(0..<pool).contains(where: { connectionsByIndex[$0] < shares[$0] }) {
            guard room.wait(until: deadline) else {
                return (0..<pool).contains { connectionsByIndex[$0] < shares[$0] }
            }
        }
        return true
    }

    /// Inline answers given now (for tests and diagnostics).
    var answering: Int { lock.withLock { inlineNow } }

    /// Takes an inline slot for the calling thread if it serves one connection and a slot is free.
    fileprivate func take() -> Bool {
        lock.withLock {
            let thread = pthread_self()
            guard inlineNow < most, connectionsByThread[thread] == 1 else { return false }
            // A connection placed on this thread but not yet opened by it would wait for the whole run.
            if let index = indexOfThread[thread], connectionsByIndex[index] > 1 { return false }
            inlineNow += 1
            answeringThreads.insert(thread)
            return true
        }
    }

    fileprivate func give(_ thread: pthread_t) {
        lock.withLock {
            inlineNow -= 1
            answeringThreads.remove(thread)
        }
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
        private let thread: pthread_t
        fileprivate init(_ answers: InlineAnswers, thread: pthread_t) {
            self.answers = answers
            self.thread = thread
        }
        func release() { answers.give(thread) }
    }

    /// A lease to block the calling thread for the request it is handling, when that blocks no one
    /// else (see the type's comment); nil when the caller is no libmicrohttpd thread in a handler's
    /// call, or the request must be answered the usual way.
    static func claim() -> Lease? {
        guard let raw = pthread_getspecific(key) else { return nil }
        let current = Unmanaged<CurrentBox>.fromOpaque(raw).takeUnretainedValue().current
        guard current.answers.take() else { return nil }
        guard current.owe() else {
            current.answers.give(pthread_self())
            return nil
        }
        return Lease(current.answers, thread: pthread_self())
    }
}
