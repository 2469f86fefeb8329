import Foundation
import GRDB
import Synchronization

extension SQLiteDatabase {
    /// Runs `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own, on a thread of its own, every
    /// `interval` after a write: the WAL's frames go into the database file while runs commit, instead of
    /// inside the commit that fills the WAL. A passive checkpoint takes no writer's lock, so a commit
    /// never waits for it, and it leaves frames a reader still needs for the next time.
    final class Checkpointer: Sendable {
        private let connection: DatabaseQueue
        private let state = Mutex(State())
        private let wake = NSCondition()

        private struct State {
            var dirty = false
            var stopped = false
            var done = 0
        }

        init(path: String, every interval: Duration) throws {
            var config = Configuration()
            config.busyMode = .timeout(10)
            connection = try DatabaseQueue(path: path, configuration: config)
            let thread = Thread { [self] in run(every: interval) }
            thread.name = "ipclab-store-checkpoint"
            thread.start()
        }

        /// Passive checkpoints done so far.
        var done: Int { state.withLock { $0.done } }

        /// A write committed: there are frames to checkpoint.
        func wrote() {
            state.withLock { $0.dirty = true }
        }

        /// Ends the thread (after the checkpoint it may be doing) and closes the connection.
        func stop() {
            state.withLock { $0.stopped = true }
            wake.lock()
            wake.broadcast()
            wake.unlock()
        }

        private func run(every interval: Duration) {
            let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
            while true {
                wake.lock()
                _ = wake.wait(until: Date(timeIntervalSinceNow: seconds))
                wake.unlock()
                let (stopped, dirty) = state.withLock { s in
                    defer { s.dirty = false }
                    return (s.stopped, s.dirty)
                }
                if stopped { break }
                guard dirty else { continue }
                // A checkpoint that fails (the disk) leaves the frames in the WAL: the next one, or SQLite's
                // own at autoCheckpointPages, copies them.
                if (try? connection.writeWithoutTransaction({ db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") })) != nil {
                    state.withLock { $0.done += 1 }
                }
            }
            try? connection.close()
        }
    }
}
