import GRDB

/// How long stored runs are kept: runs older than `keepDays`, and the oldest runs while the
/// stored bytes are over `maxStoredBytes`, are deleted, oldest first. Nil keeps everything.
public struct StoreRetention: Sendable {
    /// Runs (and grades) stored more than this many days ago are deleted.
    public var keepDays: Double?
    /// While runs take more than this many bytes (their deflated traces), the oldest are deleted.
    public var maxStoredBytes: Int?

    public init(keepDays: Double? = nil, maxStoredBytes: Int? = nil) {
        self.keepDays = keepDays
        self.maxStoredBytes = maxStoredBytes
    }

    /// Deletes what is older than ``keepDays``.
    func pruneDays(_ db: Database, now: Double, metrics: StoreMetrics) throws {
        guard let keepDays else { return }
        let cutoff = now - keepDays * 86_400
        let row = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(bytes), 0) FROM run WHERE stored_at < ?",
                                   arguments: [cutoff])!
        let (count, bytes): (Int, Int) = (row[0], row[1])
        try db.execute(sql: "DELETE FROM grade WHERE stored_at < ?", arguments: [cutoff])
        guard count > 0 else { return }
        try db.execute(sql: "DELETE FROM run WHERE stored_at < ?", arguments: [cutoff])
        metrics.pruned(runs: count, bytes: bytes)
    }

    /// Deletes the oldest runs until the rest take at most ``maxStoredBytes``.
    func pruneBytes(_ db: Database, metrics: StoreMetrics) throws {
        guard let maxStoredBytes else { return }
        var excess = metrics.snapshot.bytes - maxStoredBytes
        guard excess > 0 else { return }
        var lastSeq = 0, count = 0, bytes = 0
        let rows = try Row.fetchCursor(db, sql: "SELECT seq, bytes FROM run ORDER BY seq")
        while excess > 0, let row = try rows.next() {
            lastSeq = row[0]
            let size: Int = row[1]
            excess -= size
            bytes += size
            count += 1
        }
        guard count > 0 else { return }
        try db.execute(sql: "DELETE FROM run WHERE seq <= ?", arguments: [lastSeq])
        metrics.pruned(runs: count, bytes: bytes)
    }
}
