import Foundation
import GRDB
import IPCLabCore

/// Every run (and grade) the server answered, in an embedded SQLite database (GRDB) under the
/// data directory: WAL with `synchronous=NORMAL`, group commits made by the writing threads
/// themselves (``StoreWriter``), reads on a pool of readers that never wait for the writer.
///
/// Durability: ``store(_:)`` returns once its transaction is committed to the WAL. A process that
/// dies (even by `kill -9`) right after loses nothing; a power cut or kernel crash may lose the
/// commits since the last checkpoint, as `synchronous=NORMAL` documents.
public final class RunStore: Sendable {
    /// The database file's name inside the data directory.
    public static let fileName = "ipclab.sqlite"

    public let directory: String
    public let retention: StoreRetention
    public let metrics: StoreMetrics
    private let pool: DatabasePool
    private let writer: StoreWriter
    private let now: @Sendable () -> Double

    /// Opens (creating the directory and the database if they are missing) and migrates the store
    /// in `directory`. `now` is the clock retention reads (seconds since 1970); retention by days
    /// runs every `retentionEvery` seconds.
    public init(directory: String, retention: StoreRetention = StoreRetention(), retentionEvery: Double = 60,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        try DataDirectory.create(directory)
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // WAL is DatabasePool's own; NORMAL syncs the WAL only at checkpoints (see the type's doc).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try DatabasePool(path: (directory as NSString).appendingPathComponent(Self.fileName),
                                    configuration: config)
        try StoreSchema.migrator.migrate(pool)
        let metrics = StoreMetrics()
        let (count, bytes) = try pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(bytes), 0) FROM run")!
            return (row[0] as Int, row[1] as Int)
        }
        metrics.set(runs: count, bytes: bytes)
        self.directory = directory
        self.retention = retention
        self.metrics = metrics
        self.pool = pool
        self.now = now
        writer = StoreWriter(
            pool: pool, every: retentionEvery,
            afterBatch: { db in try retention.pruneBytes(db, metrics: metrics) },
            onTimer: { [pool, metrics, now] in
                _ = try? pool.write { db in try retention.pruneDays(db, now: now(), metrics: metrics) }
            })
        try pool.write { db in
            try retention.pruneDays(db, now: now(), metrics: metrics)
            try retention.pruneBytes(db, metrics: metrics)
        }
    }

    /// Stores a run and returns once it is committed. Throws when it could not be: the caller
    /// must then not answer as if it was stored.
    public func store(_ run: StoredRun) throws {
        let clock = ContinuousClock.now
        let summary = run.summary
        // Counted inside the transaction, so that retention by bytes after the batch sees this run;
        // taken back if the commit fails.
        let counted = Counted()
        do {
            try writer.write { [metrics] db in
                try db.execute(sql: """
                    INSERT INTO run (id, experiment, outcome, started_at, duration_ns, stored_at, bytes,
                                     trace_json, trace_text, trace_chrome)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [summary.id, summary.experiment, summary.outcome, summary.startedAt,
                                     summary.durationNs, summary.storedAt, summary.bytes,
                                     Data(run.blobs[.json]!), Data(run.blobs[.text]!), Data(run.blobs[.chrome]!)])
                metrics.added(bytes: summary.bytes)
                counted.value = true
            }
        } catch {
            if counted.value { metrics.pruned(runs: 1, bytes: summary.bytes, byRetention: false) }
            metrics.failed()
            throw error
        }
        metrics.stored(seconds: (ContinuousClock.now - clock).seconds)
    }

    /// Whether a write counted its run; read by the caller once the writer has signalled.
    private final class Counted: @unchecked Sendable {
        var value = false
    }

    /// Stores `trace` (see ``StoredRun/init(_:json:storedAt:)``), stamped with this store's clock.
    public func store(_ trace: Trace, json: [UInt8]? = nil) throws {
        try store(StoredRun(trace, json: json, storedAt: now()))
    }

    /// The stored run `id` rendered as `format`, exactly as its answer was; nil when no run has that id.
    public func trace(id: String, format: StoredRun.Format) throws -> [UInt8]? {
        let blob = try pool.read { db in
            try Data.fetchOne(db, sql: "SELECT \(StoreSchema.column(format)) FROM run WHERE id = ?", arguments: [id])
        }
        guard let blob else { return nil }
        guard let bytes = Deflate.decompress(Array(blob)) else { throw StoreError.corrupt("run \(id) (\(format.rawValue))") }
        return bytes
    }

    /// Whether a run with this id is stored.
    public func contains(id: String) throws -> Bool {
        try pool.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM run WHERE id = ?", arguments: [id]) ?? false }
    }

    /// Stored runs, newest first: at most `limit`, stored before the run `before` (nil: from the
    /// newest), of one `experiment` (`"custom"`: the custom scenarios) and/or `outcome`.
    /// Nil when `before` names no stored run.
    public func list(limit: Int, before: String? = nil, experiment: String? = nil, outcome: String? = nil) throws -> RunPage? {
        try pool.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let before {
                guard let seq = try Int.fetchOne(db, sql: "SELECT seq FROM run WHERE id = ?", arguments: [before]) else {
                    return nil
                }
                conditions.append("seq < ?"); _ = arguments.append(contentsOf: [seq])
            }
            if experiment == "custom" {
                conditions.append("experiment IS NULL")
            } else if let experiment {
                conditions.append("experiment = ?"); _ = arguments.append(contentsOf: [experiment])
            }
            if let outcome {
                conditions.append("outcome = ?"); _ = arguments.append(contentsOf: [outcome])
            }
            _ = arguments.append(contentsOf: [limit + 1])
            let sql = """
                SELECT id, experiment, outcome, started_at, duration_ns, stored_at, bytes FROM run
                \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY seq DESC LIMIT ?
                """
            var runs = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                RunSummary(id: row[0], experiment: row[1], outcome: row[2], startedAt: row[3], durationNs: row[4],
                           storedAt: row[5], bytes: row[6])
            }
            let more = runs.count > limit
            if more { runs.removeLast() }
            return RunPage(runs: runs, next: more ? runs.last?.id : nil)
        }
    }

    /// A new id for a grade (or anything else stored): 128 random bits from the system's CSPRNG as
    /// 32 hex digits, like a run's, so that one stored address tells nothing about another.
    public static func newID() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let s = String(rng.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }.joined()
    }

    /// Stores a grade (its JSON as the grading answered it), by its id, beside the run it graded.
    public func storeGrade(id: String, runID: String?, json: [UInt8]) throws {
        let blob = Data(Deflate.compress(json))
        let storedAt = now()
        try writer.write { db in
            try db.execute(sql: "INSERT INTO grade (id, run_id, stored_at, grade_json) VALUES (?, ?, ?, ?)",
                           arguments: [id, runID, storedAt, blob])
        }
    }

    /// The stored grade `id`'s JSON; nil when no grade has that id.
    public func grade(id: String) throws -> [UInt8]? {
        let blob = try pool.read { db in
            try Data.fetchOne(db, sql: "SELECT grade_json FROM grade WHERE id = ?", arguments: [id])
        }
        guard let blob else { return nil }
        guard let bytes = Deflate.decompress(Array(blob)) else { throw StoreError.corrupt("grade \(id)") }
        return bytes
    }

    /// Applies retention now (it also runs at start, after every commit for bytes, and every
    /// minute for days). Returns the number of runs removed.
    @discardableResult
    public func prune() throws -> Int {
        let before = metrics.snapshot.pruned
        try writer.write { [retention, metrics, now] db in
            try retention.pruneDays(db, now: now(), metrics: metrics)
            try retention.pruneBytes(db, metrics: metrics)
        }
        return metrics.snapshot.pruned - before
    }

    /// Finishes the writes in flight and stops the writer; later writes throw ``StoreError/closed``.
    public func close() {
        writer.stop()
    }

    /// The schema migrations applied, in order (for tests and `GET /healthz`-like checks).
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try StoreSchema.migrator.appliedMigrations(db) }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
