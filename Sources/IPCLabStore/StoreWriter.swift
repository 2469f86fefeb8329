import Dispatch
import Foundation

/// The store's writes, group-committed by their own threads (leader and followers): a thread that
/// writes when no commit is in progress commits at once, on its own thread, with no hand-off; writes
/// that arrive during a commit wait, and the next of them commits all that are waiting in one
/// transaction. So a lone run pays one insert and one commit, and many runs finishing together share
/// a commit, on either backend (``StoreDatabase``). A timer thread (``startTimer(every:_:)``) applies
/// retention by days: once a minute, every 10 s on a shared database.
final class StoreWriter: @unchecked Sendable {
    /// A write, run inside its batch's transaction.
    typealias Work = (any StoreConnection) throws -> Void

    private final class Job: @unchecked Sendable {
        let work: Work
        /// The work is one statement (see ``StoreWriter/write(statement:_:)``).
        let statement: Bool
        /// What the job's thread waits on while another commits; made only for a job that waits
        /// (under the lock, before it is queued), so that a lone write creates none.
        var done: DispatchSemaphore?
        var error: (any Error)?
        /// Set (before `done` is signalled) when this job's thread is to commit the next batch.
        var lead = false
        init(_ work: @escaping Work, statement: Bool) {
            self.work = work
            self.statement = statement
        }
    }

    private let database: any StoreDatabase
    /// Run after each batch, in its transaction (retention by bytes); nil when there is nothing to run.
    private let afterBatch: Work?
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var leading = false
    private var stopping = false
    private var timer = false
    private let timerStopped = DispatchSemaphore(value: 0)

    init(database: any StoreDatabase, afterBatch: Work?) {
        self.database = database
        self.afterBatch = afterBatch
    }

    /// Starts the thread that calls `onTimer` every `seconds` until ``stop()``.
    func startTimer(every seconds: Double, _ onTimer: @escaping @Sendable () -> Void) {
        condition.lock()
        timer = !stopping
        condition.unlock()
        guard timer else { return }
        let thread = Thread { [self] in
            condition.lock()
            // The deadline stays put when this thread wakes early (spuriously).
            var next = Date(timeIntervalSinceNow: seconds)
            while !stopping {
                if !condition.wait(until: next) && !stopping {
                    condition.unlock()
                    onTimer()
                    condition.lock()
                    next = Date(timeIntervalSinceNow: seconds)
                }
            }
            condition.unlock()
            timerStopped.signal()
        }
        thread.name = "ipclab-store-retention"
        thread.start()
    }

    /// Runs `work` in a group commit and returns once it is committed (or throws its error, or the
    /// commit's). `statement`: the work executes one statement, so that alone in its batch (the
    /// common case: one run at a time) it runs as its own transaction, with no BEGIN or COMMIT
    /// (``StoreDatabase/writeStatement(_:)``).
    func write(statement: Bool = false, _ work: @escaping Work) throws {
        let job = Job(work, statement: statement)
        condition.lock()
        guard !stopping else {
            condition.unlock()
            throw StoreError.closed
        }
        if leading {
            let done = DispatchSemaphore(value: 0)
            job.done = done
            queue.append(job)
            condition.unlock()
            done.wait()
            if !job.lead {
                if let error = job.error { throw error }
                return
            }
        } else {
            queue.append(job)
            leading = true
            condition.unlock()
        }
        lead(job)
        if let error = job.error { throw error }
    }

    /// Commits every job waiting (`me` among them), then passes the lead to the first job that came
    /// during the commit, or gives it up.
    private func lead(_ me: Job) {
        condition.lock()
        let batch = queue
        queue.removeAll(keepingCapacity: true)
        condition.unlock()
        do {
            if batch.count == 1, batch[0].statement, afterBatch == nil {
                try database.writeStatement(batch[0].work)
            } else {
                try database.write { db in
                    // A failed write rolls back only itself; the batch's other writes still commit.
                    for job in batch {
                        do { try db.attempt { try job.work(db) } } catch { job.error = error }
                    }
                    try afterBatch?(db)
                }
            }
        } catch {
            for job in batch where job.error == nil { job.error = error }
        }
        // Every job but `me` came while a commit was in progress, so it has its semaphore.
        for job in batch where job !== me { job.done?.signal() }
        condition.lock()
        if let next = queue.first {
            next.lead = true
            condition.unlock()
            next.done?.signal()
        } else {
            leading = false
            // Only stop() waits for the lead to end; a broadcast after every commit would also wake
            // the retention timer's thread for nothing (a futex wake and a context switch per run).
            if stopping { condition.broadcast() }
            condition.unlock()
        }
    }

    /// Refuses new writes, waits for the commit in progress, and stops the timer.
    func stop() {
        condition.lock()
        let waitForTimer = !stopping && timer
        stopping = true
        condition.broadcast()
        while leading { condition.wait() }
        condition.unlock()
        if waitForTimer { timerStopped.wait() }
    }
}

/// Why the store refused a write or a read.
public enum StoreError: Error, CustomStringConvertible {
    case closed
    case corrupt(String)
    /// A run with this id waits in the journal already.
    case duplicate(String)
    /// This many journaled runs wait for a database that does not take them.
    case behind(Int)
    /// Another server stores into this data directory.
    case inUse(String)

    public var description: String {
        switch self {
        case .closed: "the store is closed (the server is stopping)"
        case .corrupt(let what): "the stored \(what) could not be read back"
        case .duplicate(let id): "a run with id \(id) is stored already"
        case .behind(let waiting): "\(waiting) stored runs wait for the database, which does not take them"
        case .inUse(let directory): "another ipclab server stores into \(directory): one server per data directory (--data-dir)"
        }
    }
}
