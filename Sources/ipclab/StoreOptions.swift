import ArgumentParser
import IPCLabStore
import Logging

/// The flags of `ipclab serve` that decide where runs are stored and for how long.
///
/// `--database postgresql://…` stores into PostgreSQL instead (several servers may share it).
/// Defaults: `--data-dir` `/var/lib/ipclab` for root, else `$XDG_STATE_HOME/ipclab` (or
/// `~/.local/state/ipclab`); runs kept forever (`--keep-days`, `--max-stored-bytes` unset).
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Directory of the run store (created on first start; default: /var/lib/ipclab as root, else $XDG_STATE_HOME/ipclab or ~/.local/state/ipclab).",
                               valueName: "DIR"))
    var dataDir: String?

    @Option(help: ArgumentHelp("Store into this PostgreSQL database instead of the data directory's SQLite file; several servers may share it (postgresql://USER[:PASSWORD]@HOST[:PORT]/DB, libpq's URI).",
                               valueName: "URL"))
    var database: String?

    @Option(help: "Delete stored runs and grades older than this many days (default: keep them).")
    var keepDays: Double?

    @Option(help: "Delete the oldest stored runs while their compressed traces take more than this many bytes (default: no limit).")
    var maxStoredBytes: Int?

    @Flag(help: "Store no runs (GET /api/v1/runs/{id} then answers 404).")
    var noStore = false

    func validate() throws {
        if let keepDays, !(keepDays > 0) { throw ValidationError("--keep-days must be more than 0") }
        if let maxStoredBytes, maxStoredBytes < 1 { throw ValidationError("--max-stored-bytes must be at least 1") }
        if let database {
            guard database.hasPrefix("postgresql://") || database.hasPrefix("postgres://") else {
                throw ValidationError("--database must be a postgresql:// URL")
            }
            guard dataDir == nil else { throw ValidationError("--database and --data-dir name two stores: give one") }
            guard !noStore else { throw ValidationError("--database and --no-store contradict each other: give one") }
        }
    }

    /// The store these flags name, opened and migrated; nil with `--no-store`.
    func open(logger: Logger) throws -> RunStore? {
        guard !noStore else {
            logger.warning("--no-store: runs are not stored")
            return nil
        }
        let retention = StoreRetention(keepDays: keepDays, maxStoredBytes: maxStoredBytes)
        let store = if let database {
            // Shared: every 10 s the counts are read again (other servers store too).
            try RunStore(database: PostgresDatabase(url: database), retention: retention, retentionEvery: 10)
        } else {
            try RunStore(directory: dataDir ?? DataDirectory.standard(), retention: retention)
        }
        let s = store.metrics.snapshot
        logger.info("store: \(store.database.location), \(s.runs) runs, \(s.bytes) bytes; keep \(keepDays.map { "\($0) days" } ?? "forever")\(maxStoredBytes.map { ", at most \($0) bytes" } ?? "")")
        return store
    }
}
