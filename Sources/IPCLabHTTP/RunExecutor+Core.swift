import Foundation
import Synchronization

extension RunExecutor {
    /// One piece of work in the queue: what to run, and what to do instead if it waited too long.
    public struct Job: Sendable {
        var work: @Sendable (Reservation) -> Void
        var expired: @Sendable () -> Void
    }

    /// The bytes of the response budget one piece of work holds, from its start until it is
    /// released (or freed): resize it to what the response really holds once that is known.
    public final class Reservation: Sendable {
        /// The client it is held for.
        public let client: String
        private let held: Mutex<Int>
        private let core: Core?

        init(client: String, bytes: Int, core: Core?) {
            self.client = client
            held = Mutex(bytes)
            self.core = core
        }

        /// Bytes held now.
        public var bytes: Int { held.withLock { $0 } }

        /// Holds `bytes` from now on (more or fewer); a larger amount is taken at once, even
        /// past the budget: the memory is already there.
        public func resize(to bytes: Int) {
            let delta = held.withLock { held in
                defer { held = max(0, bytes) }
                return held - max(0, bytes)
            }
            core?.release(client: client, bytes: delta)
        }

        /// Gives every byte back (again: nothing more).
        public func release() { resize(to: 0) }

        deinit { release() }
    }

    /// The fair queue and its counters, shared by the executor and its threads (which do not
    /// keep the executor itself alive, so that its deinit can stop them).
    ///
    /// Wakeups are targeted, not broadcast: every broadcast woke every idle worker and the expirer
    /// (three times per run: at submit, finish and release), each a futex wake and a context switch
    /// for nothing (~14 % of the server's CPU at 8 clients, perf). Workers and the expirer wait on
    /// conditions of their own (``Signals``). A submit makes at most one more piece of work startable,
    /// so it wakes one idle worker; a finish frees the finishing thread's own slot, which that thread
    /// fills itself as it asks for its next piece; a release of budget may make several startable, so
    /// it wakes the idle workers, but only when work waits. Work whose client already runs its most
    /// (``FairRunQueue/waitingBelowRunningLimit``) wakes no one: it starts when its client's work ends, on
    /// that thread. The expirer sleeps until the oldest
    /// waiting piece's deadline (newer work has later ones) and is woken only when work arrives while
    /// it sleeps with nothing to expire.
    final class Core: @unchecked Sendable {
        private let signals = Signals()
        private let maxWait: Duration?
        private let threads: Int
        // Guarded by `signals`' lock.
        private var queue: FairRunQueue<Job>
        private var stopping = false
        /// Recent runs' duration, averaged (exponentially, the last counting a fifth).
        private var averageRunSeconds = 1.0
        /// Workers waiting for work.
        private var idleWorkers = 0
        /// The expirer waits with no deadline (nothing was queued).
        private var expirerIdle = false
        /// Work taken back by its submitter to run (``Submitted/runHere``), since the start.
        private var answeredHere = 0

        init(queue: FairRunQueue<Job>, threads: Int, maxWait: Duration?) {
            self.queue = queue
            self.threads = threads
            self.maxWait = maxWait
        }

        /// What became of submitted work.
        enum Submitted {
            case rejected(Rejection)
            case queued
            /// Startable at once and taken out of the queue again: the caller runs it, on its own
            /// thread, then calls ``finishedHere(client:seconds:)``.
            case runHere(Job, Reservation)
        }

        /// Queues `job`; with `runHere`, takes it back at once for the caller to run when it is the
        /// only work waiting and may start now (a slot free, its client below its running limit, the
        /// budget fitting): it then runs in a slot as a thread's work does.
        func submit(_ job: Job, client: String, cost: Int, runHere: Bool) -> Submitted {
            signals.lock()
            defer { signals.unlock() }
            guard !stopping else { return .rejected(.stopping) }
            switch queue.enqueue(job, client: client, cost: cost) {
            case .full: return .rejected(.queueFull)
            case .clientFull: return .rejected(.clientLimit)
            case .queued:
                // Only this one waits, so the queue's next is this one or none.
                if runHere && queue.queued == 1 && queue.running < threads, let entry = queue.next() {
                    answeredHere += 1
                    return .runHere(entry.item, Reservation(client: entry.client, bytes: entry.cost, core: self))
                }
                // One more piece: at most one more worker can start one, and none when its client
                // already runs its most (all of one address's runs, at 8 clients: a wakeup per run for nothing).
                if idleWorkers > 0 && queue.waitingBelowRunningLimit { signals.wakeWorker() }
                if expirerIdle { signals.wakeExpirer() }
                return .queued
            }
        }

        /// Work taken with ``Submitted/runHere`` is over: its slot is free again, and a thread
        /// may start what waits.
        func finishedHere(client: String, seconds: Double) {
            signals.lock()
            defer { signals.unlock() }
            finish(client: client, seconds: seconds)
            if idleWorkers > 0 && queue.waitingBelowRunningLimit { signals.wakeWorker() }
        }

        /// A piece of work of `client`'s has ended after `seconds`: its slot back, and the average run
        /// time updated. Called with `signals` locked.
        private func finish(client: String, seconds: Double) {
            queue.finish(client: client)
            averageRunSeconds = 0.8 * averageRunSeconds + 0.2 * seconds
        }

        /// The next piece of work, waiting for one (that fits the budget); `nil` once shutting
        /// down with nothing left. `finished`: the one this thread ran before, and how long it took.
        func next(finished: (client: String, seconds: Double)?) -> (Job, Reservation)? {
            signals.lock()
            defer { signals.unlock() }
            if let finished {
                // The slot this frees is this thread's: it takes what the slot lets start, below.
                finish(client: finished.client, seconds: finished.seconds)
            }
            while true {
                // Shutting down, what waits is run as the threads come free, budget or not: the
                // responses that hold it are being cut off, and each waiting client is owed an answer.
                // Work run by its caller (``Submitted/runHere``) holds a slot of its own: at most
                // `threads` pieces run at once in all.
                if queue.running < threads, let entry = queue.next(ignoringBudget: stopping) {
                    return (entry.item, Reservation(client: entry.client, bytes: entry.cost, core: self))
                }
                if stopping && queue.queued == 0 { return nil }
                idleWorkers += 1
                signals.waitWorker()
                idleWorkers -= 1
            }
        }

        /// The next piece of work that waited longer than `maxWait`, waiting until one has;
        /// `nil` once shutting down (what still waits then is run, not expired).
        func nextExpired() -> Job? {
            guard let maxWait else { return nil }
            signals.lock()
            defer { signals.unlock() }
            while !stopping {
                guard let oldest = queue.oldestQueued else {
                    expirerIdle = true
                    signals.waitExpirer(until: nil)
                    expirerIdle = false
                    continue
                }
                let deadline = oldest + maxWait
                if ContinuousClock.now >= deadline, let entry = queue.popExpired(queuedBefore: deadline) {
                    return entry.item
                }
                // Until the oldest's deadline; when it was started meanwhile, this wakes once for nothing.
                signals.waitExpirer(until: max(deadline, ContinuousClock.now + .milliseconds(1)))
            }
            return nil
        }

        /// Gives back budget bytes (a negative amount takes more); waiting work may fit now.
        func release(client: String, bytes: Int) {
            guard bytes != 0 else { return }
            signals.lock()
            defer { signals.unlock() }
            queue.release(client: client, bytes: bytes)
            if bytes > 0 && idleWorkers > 0 && queue.waitingBelowRunningLimit { signals.wakeWorkers() }
        }

        func beginShutdown() {
            signals.lock()
            defer { signals.unlock() }
            stopping = true
            signals.wakeWorkers()
            signals.wakeExpirer()
        }

        func snapshot(client: String) -> Snapshot {
            signals.lock()
            defer { signals.unlock() }
            return Snapshot(running: queue.running, queued: queue.queued, clients: queue.loads,
                            client: queue.load(of: client), heldBytes: queue.heldBytes, budgetWaits: queue.budgetWaits, answeredHere: answeredHere,
                            averageRunSeconds: averageRunSeconds)
        }
    }
}
