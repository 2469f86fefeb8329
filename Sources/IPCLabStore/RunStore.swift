import Foundation
import IPCLabCore

/// Every run (and grade) the server answered, in a ``StoreDatabase``: an embedded SQLite file under
/// the data directory (``SQLiteDatabase``), or a PostgreSQL database several servers share
/// (``PostgresDatabase``). Writes are group-committed by the writing threads themselves
/// (``StoreWriter``); reads never wait for the writer.
///
/// With SQLite a stored run is first written whole to the store's journal (``StoreJournal``), one
/// `pwrite`, and imported into the database in batches by a thread of its own (``JournalImporter``),
/// ~20 ms later; a read by id finds a run that still waits there, and a list shows those first
/// (they are the newest). Retention by bytes follows each import; ``prune(recount:)`` and
/// ``flush()`` wait for it. With PostgreSQL, which other servers read, each run is committed
/// before ``store(_:)`` returns.
///
/// Durability: ``store(_:)`` returns once the run is as durable as the backend says (SQLite: in the
/// journal or the WAL, both in the kernel's page cache: safe from a killed process, and imported at
/// the next start; PostgreSQL: flushed to the server's WAL).
public final class RunStore: Sendable {
    /// The SQLite database file's name inside the data directory.
    public static let fileName = SQLiteDatabase.fileName

    public let database: any StoreDatabase
    public let retention: StoreRetention
    public let metrics: StoreMetrics
    private let writer: StoreWriter
    private let importer: JournalImporter?
    private let now: @Sendable () -> Double

    /// Opens (creating the directory and the database if they are missing) and migrates the SQLite
    /// store in `directory`, with its journal beside it; see ``init(database:retention:retentionEvery:now:)``.
    public convenience init(directory: String, retention: StoreRetention = StoreRetention(), retentionEvery: Double = 60,
                            now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        // The journal first: it holds the directory's lock, so that a second server opens nothing.
        try DataDirectory.create(directory)
        let journal = try StoreJournal(directory: directory)
        try self.init(database: SQLiteDatabase(directory: directory), journal: journal, retention: retention,
                      retentionEvery: retentionEvery, now: now)
    }

    /// Migrates `database` and stores into it, each run committed before ``store(_:)`` returns.
    /// `now` is the clock retention reads (seconds since 1970); retention by days runs every
    /// `retentionEvery` seconds (on a shared database, so does a recount of the runs and bytes other
    /// servers stored).
    public convenience init(database: any StoreDatabase, retention: StoreRetention = StoreRetention(), retentionEvery: Double = 60,
                            now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        try self.init(database: database, journal: nil, retention: retention, retentionEvery: retentionEvery, now: now)
    }

    /// As ``init(database:retention:retentionEvery:now:)``, storing through `journal` when there is one:
    /// the runs a killed server left in it are imported first; later ones in batches of what came in
    /// during `importWindow` (``JournalImporter``).
    init(database: any StoreDatabase, journal: StoreJournal?, retention: StoreRetention, retentionEvery: Double,
         now: @escaping @Sendable () -> Double, importWindow: Duration = .milliseconds(20)) throws {
        try database.migrate()
        let metrics = StoreMetrics()
        try database.read { db in try StoreRetention.recount(db, metrics: metrics) }
        self.database = database
        self.retention = retention
        self.metrics = metrics
        self.now = now
        let shared = database.shared
        let writer = StoreWriter(database: database, afterBatch: retention.maxStoredBytes == nil ? nil : { db in
            try retention.pruneBytes(db, shared: shared, metrics: metrics)
        })
        self.writer = writer
        if let journal {
            let left = journal.replay()
            if !left.isEmpty {
                try writer.write { db in try Self.insert(left, into: db, metrics: metrics, counted: false) }
            }
            journal.clear(0)
            journal.clear(1)
            importer = JournalImporter(journal: journal, window: importWindow) { runs in
                try writer.write { db in try Self.insert(runs, into: db, metrics: metrics, counted: true) }
            }
        } else {
            importer = nil
        }
        try prune()
        writer.startTimer(every: retentionEvery) { [weak self] in _ = try? self?.prune(recount: shared) }
    }

    /// Stores a run and returns once it is durable (see the type's doc). Throws when it could not be:
    /// the caller must then not answer as if it was stored.
    public func store(_ run: StoredRun) throws {
        let clock = ContinuousClock.now
        let summary = run.summary
        if let importer {
            do {
                try importer.store(run)
            } catch {
                metrics.failed()
                throw error
            }
            // Counted now: retention by bytes at the next import counts it too.
            metrics.added(bytes: summary.bytes)
            metrics.stored(seconds: (ContinuousClock.now - clock).seconds)
            return
        }
        // Counted inside the transaction, so that retention by bytes after the batch sees this run;
        // taken back if the commit fails.
        let counted = Counted()
        do {
            try writer.write(statement: true) { [metrics] db in
                try Self.insert([run], into: db, metrics: metrics, counted: false, checked: false)
                counted.value = true
            }
        } catch {
            if counted.value { metrics.pruned(runs: 1, bytes: summary.bytes, byRetention: false) }
            metrics.failed()
            throw error
        }
        metrics.stored(seconds: (ContinuousClock.now - clock).seconds)
    }

    /// Inserts `runs` in `db`'s transaction. `counted`: ``StoreMetrics/added(bytes:)`` was called for
    /// them when they were journaled; else it is called here. `checked`: a run whose id is in the
    /// database already is left out, the first kept (a journal imported again after a crash between
    /// the import's commit and the journal's clearing; or a second run with a stored run's id, which
    /// the journal took and the import now drops: taken out of the metrics and counted as failed);
    /// else the insert fails on it.
    private static func insert(_ runs: [StoredRun], into db: any StoreConnection, metrics: StoreMetrics,
                               counted: Bool, checked: Bool = true) throws {
        for run in runs {
            let summary = run.summary
            if checked, try db.row("SELECT 1 FROM run WHERE id = ?", .text(summary.id)) != nil {
                if counted {
                    metrics.pruned(runs: 1, bytes: summary.bytes, byRetention: false)
                    metrics.failed()
                }
                continue
            }
            try db.execute("""
                INSERT INTO run (id, experiment, outcome, started_at, duration_ns, stored_at, bytes,
                                 trace_json, trace_text, trace_chrome)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, .text(summary.id), StoreValue(summary.experiment), .text(summary.outcome), .text(summary.startedAt),
                             .int(summary.durationNs), .double(summary.storedAt), .int(summary.bytes),
                             .blob(run.blobs[.json]!), .blob(run.blobs[.text] ?? StoredRun.derived),
                             .blob(run.blobs[.chrome] ?? StoredRun.derived))
            if !counted { metrics.added(bytes: summary.bytes) }
        }
    }

    /// Whether a write counted its run; read by the caller once the writer has signalled.
    private final class Counted: @unchecked Sendable {
        var value = false
    }

    /// Stores `trace` (see ``StoredRun/init(_:json:storedAt:)``), stamped with this store's clock.
    public func store(_ trace: Trace, json: [UInt8]? = nil) throws {
        try store(StoredRun(trace, json: json, storedAt: now()))
    }

    /// Returns once every run stored before the call is in the database (at once without a journal);
    /// throws when the database does not take them.
    public func flush() throws {
        try importer?.flush()
    }

    /// How many stored runs wait in the journal for the database (0 without a journal).
    public var journaled: Int { importer?.waitingCount ?? 0 }

    /// The store's `GET /metrics` lines: ``StoreMetrics/render()``, and with a journal the
    /// `ipclab_store_journaled` gauge (runs waiting for their import; it stays high while the
    /// database refuses them).
    public func renderMetrics() -> String {
        guard let importer else { return metrics.render() }
        return metrics.render() + """
            # HELP ipclab_store_journaled Stored runs in the journal, waiting for their import into the database.
            # TYPE ipclab_store_journaled gauge
            ipclab_store_journaled \(importer.waitingCount)

            """
    }

    /// The stored run `id` rendered as `format`, exactly as its answer was; nil when no run has that id.
    /// Text and Chrome are made from the stored JSON (``StoredRun``), unless the run has them stored.
    public func trace(id: String, format: StoredRun.Format) throws -> [UInt8]? {
        let json: [UInt8]?, other: [UInt8]?
        if let waiting = importer?.waitingRun(id: id) {
            (json, other) = (waiting.blobs[.json], format == .json ? nil : waiting.blobs[format])
        } else {
            let sql = format == .json ? "SELECT trace_json FROM run WHERE id = ?"
                : "SELECT trace_json, \(StoreSchema.column(format)) FROM run WHERE id = ?"
            guard let row = try database.read({ db in try db.row(sql, .text(id)) }) else { return nil }
            (json, other) = (row.blob(0), format == .json ? nil : row.blob(1))
        }
        let stored = other.flatMap { $0 == StoredRun.derived ? nil : $0 }
        guard let blob = stored ?? json, let bytes = TraceCompression.decompress(blob) else {
            throw StoreError.corrupt("run \(id) (\(format.rawValue))")
        }
        guard format != .json, stored == nil else { return bytes }
        let trace: Trace
        do {
            trace = try Trace(json: bytes)
        } catch {
            throw StoreError.corrupt("run \(id) (its JSON, for \(format.rawValue): \(error.message))")
        }
        return format == .text ? Array(trace.text().utf8) : trace.chromeJSON()
    }

    /// Whether a run with this id is stored.
    public func contains(id: String) throws -> Bool {
        if importer?.waitingRun(id: id) != nil { return true }
        return try database.read { db in try db.row("SELECT 1 FROM run WHERE id = ?", .text(id)) != nil }
    }

    /// Stored runs, newest first: at most `limit`, stored before the run `before` (nil: from the
    /// newest), of one `experiment` (`"custom"`: the custom scenarios) and/or `outcome`.
    /// Nil when `before` names no stored run.
    public func list(limit: Int, before: String? = nil, experiment: String? = nil, outcome: String? = nil) throws -> RunPage? {
        guard let importer else { return try listImported(limit: limit, before: before, experiment: experiment, outcome: outcome) }
        // The journaled runs are the newest, in the order they were stored: they come first, then the
        // database's. Read with the journal held still, so that a run is listed once, from one side:
        // one imported during the read is in both (its batch leaves the journal after its commit).
        return try importer.withWaiting { waiting in
            func matches(_ s: RunSummary) -> Bool {
                (experiment == "custom" ? s.experiment == nil : experiment.map { s.experiment == $0 } ?? true)
                    && (outcome.map { s.outcome == $0 } ?? true)
            }
            var journaled: ArraySlice<StoredRun> = []
            var databaseBefore = before
            if let before, let at = waiting.firstIndex(where: { $0.summary.id == before }) {
                journaled = waiting[..<at]
                databaseBefore = nil // every imported run is older
            } else if before == nil {
                journaled = waiting[...]
            }
            var runs = journaled.reversed().map(\.summary).filter(matches)
            // A page the journal fills alone needs no read of the database.
            if runs.count > limit {
                runs.removeLast(runs.count - limit)
                return RunPage(runs: runs, next: runs.last?.id)
            }
            let ids = Set(waiting.map(\.summary.id))
            let want = limit + 1 - runs.count
            guard let page = try listImported(limit: want + ids.count, before: databaseBefore, experiment: experiment,
                                              outcome: outcome) else { return nil }
            runs += page.runs.filter { !ids.contains($0.id) }
            let more = runs.count > limit || page.next != nil
            if runs.count > limit { runs.removeLast(runs.count - limit) }
            return RunPage(runs: runs, next: more ? runs.last?.id : nil)
        }
    }

    /// ``list(limit:before:experiment:outcome:)`` of the runs in the database.
    private func listImported(limit: Int, before: String?, experiment: String?, outcome: String?) throws -> RunPage? {
        try database.read { db in
            var conditions: [String] = []
            var arguments: [StoreValue] = []
            if let before {
                guard let seq = try db.row("SELECT seq FROM run WHERE id = ?", .text(before))?.int(0) else { return nil }
                conditions.append("seq < ?"); arguments.append(.int(seq))
            }
            if experiment == "custom" {
                conditions.append("experiment IS NULL")
            } else if let experiment {
                conditions.append("experiment = ?"); arguments.append(.text(experiment))
            }
            if let outcome {
                // `ok` runs are not in the outcome index (StoreSchema v3); the others are, and the
                // planner uses that partial index only when the query states its condition.
                conditions.append(outcome == "ok" ? "outcome = ?" : "outcome = ? AND outcome <> 'ok'")
                arguments.append(.text(outcome))
            }
            arguments.append(.int(limit + 1))
            let sql = """
                SELECT id, experiment, outcome, started_at, duration_ns, stored_at, bytes FROM run
                \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY seq DESC LIMIT ?
                """
            var runs = try db.rows(sql, arguments).map { row in
                RunSummary(id: row.string(0) ?? "", experiment: row.string(1), outcome: row.string(2) ?? "",
                           startedAt: row.string(3) ?? "", durationNs: row.int(4), storedAt: row.double(5), bytes: row.int(6))
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
        let blob = TraceCompression.compress(json)
        let storedAt = now()
        try writer.write(statement: true) { db in
            try db.execute("INSERT INTO grade (id, run_id, stored_at, grade_json) VALUES (?, ?, ?, ?)",
                           .text(id), StoreValue(runID), .double(storedAt), .blob(blob))
        }
    }

    /// The stored grade `id`'s JSON; nil when no grade has that id.
    public func grade(id: String) throws -> [UInt8]? {
        let blob = try database.read { db in try db.row("SELECT grade_json FROM grade WHERE id = ?", .text(id))?.blob(0) }
        guard let blob else { return nil }
        guard let bytes = TraceCompression.decompress(blob) else { throw StoreError.corrupt("grade \(id)") }
        return bytes
    }

    /// Applies retention now (it also runs at start, after every commit for bytes, and every
    /// `retentionEvery` seconds for days). `recount` reads the stored runs and bytes from the database first (on a
    /// shared database, other servers store too). Returns the number of runs removed.
    @discardableResult
    public func prune(recount: Bool = false) throws -> Int {
        // Retention by bytes counts the journaled runs (they are the newest): they go in first.
        try flush()
        let before = metrics.snapshot.pruned
        let shared = database.shared
        try writer.write { [retention, metrics, now] db in
            if recount { try StoreRetention.recount(db, metrics: metrics) }
            try retention.pruneDays(db, now: now(), metrics: metrics)
            try retention.pruneBytes(db, shared: shared, recount: recount, metrics: metrics)
        }
        return metrics.snapshot.pruned - before
    }

    /// Finishes the writes in flight, stops the writer and closes the database; later writes throw
    /// ``StoreError/closed``.
    public func close() {
        importer?.stop()
        writer.stop()
        database.close()
    }

    /// Closes as a killed server would: what waits in the journal stays there (tests).
    func abandon() {
        importer?.abandon()
        writer.stop()
        database.close()
    }

    /// The schema migrations applied, in order (for tests and `GET /healthz`-like checks).
    public func appliedMigrations() throws -> [String] {
        try database.appliedMigrations()
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
