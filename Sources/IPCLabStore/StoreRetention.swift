/// How long stored runs are kept: runs older than `keepDays`, and the oldest runs while the
/// stored bytes are over `maxStoredBytes`, are deleted, oldest first. Nil keeps everything.
public struct StoreRetention: Sendable {
    /// Runs (and grades) stored more than this many days ago are deleted.
    public var keepDays: Double?
    /// While runs take more than this many bytes (their compressed traces), the oldest are deleted.
    public var maxStoredBytes: Int?

    public init(keepDays: Double? = nil, maxStoredBytes: Int? = nil) {
        self.keepDays = keepDays
        self.maxStoredBytes = maxStoredBytes
    }

    /// Deletes what is older than ``keepDays``: the runs in the order they were stored (`seq`), up
    /// to the first one stored since the cutoff, and the grades stored before it. Runs have no
    /// index on `stored_at` (one B-tree fewer for every insert to write): the walk reads only the
    /// runs it deletes, and one more. A run stamped later than the next one (a clock set back, or
    /// servers' clocks apart) holds the runs after it until it is old enough itself.
    func pruneDays(_ db: any StoreConnection, now: Double, metrics: StoreMetrics) throws {
        guard let keepDays else { return }
        try db.lockRetention()
        let cutoff = now - keepDays * 86_400
        try db.execute("DELETE FROM grade WHERE stored_at < ?", .double(cutoff))
        var lastSeq = 0, count = 0, bytes = 0
        walk: while true {
            let rows = try db.rows("SELECT seq, stored_at, bytes FROM run WHERE seq > ? ORDER BY seq LIMIT 256", .int(lastSeq))
            for row in rows {
                guard row.double(1) < cutoff else { break walk }
                lastSeq = row.int(0)
                bytes += row.int(2)
                count += 1
            }
            if rows.count < 256 { break }
        }
        guard count > 0 else { return }
        try db.execute("DELETE FROM run WHERE seq <= ?", .int(lastSeq))
        metrics.pruned(runs: count, bytes: bytes)
    }

    /// Deletes the oldest runs until the rest take at most ``maxStoredBytes``. On a shared database
    /// the total is read from the database (other servers store too) once this server's own count says
    /// it may be over, and on every retention tick (`recount`).
    func pruneBytes(_ db: any StoreConnection, shared: Bool, recount: Bool = false, metrics: StoreMetrics) throws {
        guard let maxStoredBytes else { return }
        guard recount || metrics.snapshot.bytes > maxStoredBytes else { return }
        if shared {
            try db.lockRetention()
            try StoreRetention.recount(db, metrics: metrics)
        }
        var excess = metrics.snapshot.bytes - maxStoredBytes
        guard excess > 0 else { return }
        var lastSeq = 0, count = 0, bytes = 0
        // In pages, oldest first, so that a large store is not read whole to delete a few runs.
        while excess > 0 {
            let rows = try db.rows("SELECT seq, bytes FROM run WHERE seq > ? ORDER BY seq LIMIT 256", .int(lastSeq))
            if rows.isEmpty { break }
            for row in rows where excess > 0 {
                lastSeq = row.int(0)
                excess -= row.int(1)
                bytes += row.int(1)
                count += 1
            }
        }
        guard count > 0 else { return }
        try db.execute("DELETE FROM run WHERE seq <= ?", .int(lastSeq))
        metrics.pruned(runs: count, bytes: bytes)
    }

    /// Sets the stored runs and bytes gauges from the database itself.
    static func recount(_ db: any StoreConnection, metrics: StoreMetrics) throws {
        let row = try db.row("SELECT count(*), coalesce(sum(bytes), 0) FROM run")!
        metrics.set(runs: row.int(0), bytes: row.int(1))
    }
}
