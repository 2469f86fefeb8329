import Dispatch
import Foundation
import GRDB

/// The store's one writer: a dedicated thread that takes every write waiting, runs them in one
/// transaction and commits once (a group commit), then wakes each caller. A run thread that
/// stores waits only for the commit its write joined, and many runs finishing together share one.
final class StoreWriter: @unchecked Sendable {
    /// A write, run inside the batch's transaction.
    typealias Work = (Database) throws -> Void

    private final class Job: @unchecked Sendable {
        let work: Work
        let done = DispatchSemaphore(value: 0)
        var error: (any Error)?
        init(_ work: @escaping Work) { self.work = work }
    }

    private let pool: DatabasePool
    /// Run after each batch, in its transaction (retention by bytes, counters).
    private let afterBatch: (Database) throws -> Void
    /// Run when the writer has been idle for `idleSeconds` (retention by days).
    private let onIdle: () -> Void
    private let idleSeconds: Double
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)

    init(pool: DatabasePool, idleSeconds: Double = 60, afterBatch: @escaping (Database) throws -> Void,
         onIdle: @escaping () -> Void) {
        self.pool = pool
        self.afterBatch = afterBatch
        self.onIdle = onIdle
        self.idleSeconds = idleSeconds
        let thread = Thread { [self] in loop() }
        thread.name = "ipclab-store-writer"
        thread.start()
    }

    /// Runs `work` in the next group commit and returns once it is committed (or throws its error,
    /// or the commit's).
    func write(_ work: @escaping Work) throws {
        let job = Job(work)
        condition.lock()
        guard !stopping else {
            condition.unlock()
            throw StoreError.closed
        }
        queue.append(job)
        condition.signal()
        condition.unlock()
        job.done.wait()
        if let error = job.error { throw error }
    }

    /// Finishes the writes already queued, then stops the thread.
    func stop() {
        condition.lock()
        let wasStopping = stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if !wasStopping { stopped.wait() }
    }

    private func loop() {
        var lastIdle = Date()
        while true {
            condition.lock()
            while queue.isEmpty && !stopping {
                if !condition.wait(until: lastIdle.addingTimeInterval(idleSeconds)) { break }
            }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            let stop = stopping && batch.isEmpty
            condition.unlock()
            if stop { break }
            if Date().timeIntervalSince(lastIdle) >= idleSeconds {
                onIdle()
                lastIdle = Date()
            }
            guard !batch.isEmpty else { continue }
            do {
                try pool.write { db in
                    // A failed statement rolls back only itself; the batch's other writes still commit.
                    for job in batch {
                        do { try job.work(db) } catch { job.error = error }
                    }
                    try afterBatch(db)
                }
            } catch {
                for job in batch where job.error == nil { job.error = error }
            }
            for job in batch { job.done.signal() }
        }
        stopped.signal()
    }
}

/// Why the store refused a write or a read.
public enum StoreError: Error, CustomStringConvertible {
    case closed
    case corrupt(String)

    public var description: String {
        switch self {
        case .closed: "the store is closed (the server is stopping)"
        case .corrupt(let what): "the stored \(what) could not be read back"
        }
    }
}
