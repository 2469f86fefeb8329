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
    final class Core: @unchecked Sendable {
        private let condition = NSCondition()
        private let maxWait: Duration?
        private let threads: Int
        // Guarded by `condition`.
        private var queue: FairRunQueue<Job>
        private var stopping = false
        /// Recent runs' duration, averaged (exponentially, the last counting a fifth).
        private var averageRunSeconds = 1.0

        init(queue: FairRunQueue<Job>, threads: Int, maxWait: Duration?) {
            self.queue = queue
            self.threads = threads
            self.maxWait = maxWait
        }

        func submit(_ job: Job, client: String, cost: Int) -> Rejection? {
            condition.lock()
            defer { condition.unlock() }
            guard !stopping else { return .stopping }
            switch queue.enqueue(job, client: client, cost: cost) {
            case .full: return .queueFull
            case .clientFull: return .clientLimit
            case .queued:
                // Every waiter: the expirer, when there is one, must learn of a new head as well.
                condition.broadcast()
                return nil
            }
        }

        /// The next piece of work, waiting for one (that fits the budget); `nil` once shutting
        /// down with nothing left. `finished`: the one this thread ran before, and how long it took.
        func next(finished: (client: String, seconds: Double)?) -> (Job, Reservation)? {
            condition.lock()
            defer { condition.unlock() }
            if let finished {
                queue.finish(client: finished.client)
                averageRunSeconds = 0.8 * averageRunSeconds + 0.2 * finished.seconds
                // A slot is free: work another thread could not start may fit now.
                condition.broadcast()
            }
            while true {
                // Shutting down, what waits is run as the threads come free, budget or not: the
                // responses that hold it are being cut off, and each waiting client is owed an answer.
                if let entry = queue.next(ignoringBudget: stopping) {
                    return (entry.item, Reservation(client: entry.client, bytes: entry.cost, core: self))
                }
                if stopping && queue.queued == 0 { return nil }
                condition.wait()
            }
        }

        /// The next piece of work that waited longer than `maxWait`, waiting until one has;
        /// `nil` once shutting down (what still waits then is run, not expired).
        func nextExpired() -> Job? {
            guard let maxWait else { return nil }
            condition.lock()
            defer { condition.unlock() }
            while !stopping {
                guard let oldest = queue.oldestQueued else {
                    condition.wait()
                    continue
                }
                let deadline = oldest + maxWait
                if ContinuousClock.now >= deadline, let entry = queue.popExpired(queuedBefore: deadline) {
                    return entry.item
                }
                let left = ContinuousClock.now.duration(to: deadline)
                let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
                _ = condition.wait(until: Date(timeIntervalSinceNow: max(0.001, seconds)))
            }
            return nil
        }

        /// Gives back budget bytes (a negative amount takes more); waiting work may fit now.
        func release(client: String, bytes: Int) {
            guard bytes != 0 else { return }
            condition.withLock {
                queue.release(client: client, bytes: bytes)
                condition.broadcast()
            }
        }

        func beginShutdown() {
            condition.withLock {
                stopping = true
                condition.broadcast()
            }
        }

        func snapshot(client: String) -> Snapshot {
            condition.withLock {
                Snapshot(running: queue.running, queued: queue.queued, clients: queue.loads,
                         client: queue.load(of: client), heldBytes: queue.heldBytes, budgetWaits: queue.budgetWaits,
                         averageRunSeconds: averageRunSeconds)
            }
        }
    }
}
