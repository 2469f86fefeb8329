import Foundation
import GRDB
import GRDBSQLite

/// The embedded backend: one SQLite file under the data directory, through GRDB's `DatabasePool`
/// (WAL; readers never wait for the writer) with `synchronous=NORMAL`.
///
/// Durability: a commit is in the WAL (the kernel's page cache) when ``write(_:)`` returns, so a
/// process that dies (even by `kill -9`) right after loses nothing; a power cut or kernel crash may
/// lose the commits since the last checkpoint, as `synchronous=NORMAL` documents.
///
/// Checkpoints are not a writer's: SQLite's automatic one runs inside the commit that fills the WAL
/// past 1,000 pages, and with its two fsyncs that commit took 5–10 ms, every ~190 stored runs — the
/// 1-client p99 (README, Benchmarks). A thread of its own (``Checkpointer``) runs a passive checkpoint
/// on a connection of its own every ``checkpointInterval`` after writes, which waits for no writer
/// and no writer waits for; the automatic one stays as a backstop, at ``autoCheckpointPages``. Under
/// steady writes a passive checkpoint never finds the WAL wholly copied (commits land while it runs),
/// so SQLite does not start the WAL over until the backstop: the WAL file grows to ~64 MiB and stays
/// that size, and one commit in ~3,000 stored runs pays the backstop's fsyncs instead of one in ~190.
public final class SQLiteDatabase: StoreDatabase {
    /// How often the checkpointer looks for new commits to checkpoint.
    static let checkpointInterval: Duration = .milliseconds(250)
    /// Where SQLite's own checkpoint, inside a commit, still runs: a WAL this large means the
    /// checkpointer has not kept up (64 MiB of 4-KiB pages).
    static let autoCheckpointPages = 16_384
    /// The database file's name inside the data directory.
    public static let fileName = "ipclab.sqlite"

    public let directory: String
    public var location: String { (directory as NSString).appendingPathComponent(Self.fileName) }
    public var shared: Bool { false }
    private let pool: DatabasePool

    /// Opens (creating the directory and the file if they are missing) the database in `directory`.
    public init(directory: String) throws {
        try DataDirectory.create(directory)
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // WAL is DatabasePool's own; NORMAL syncs the WAL only at checkpoints (see the type's doc).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.autoCheckpointPages)")
        }
        self.directory = directory
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        pool = try DatabasePool(path: path, configuration: config)
        checkpointer = try Checkpointer(path: path, every: Self.checkpointInterval)
    }

    /// Passive checkpoints done by the checkpointer thread (tests read it).
    var checkpoints: Int { checkpointer.done }

    private let checkpointer: Checkpointer

    public func migrate() throws {
        try StoreSchema.migrator.migrate(pool)
    }

    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try StoreSchema.migrator.appliedMigrations(db) }
    }

    public func write(_ work: (any StoreConnection) throws -> Void) throws {
        try pool.write { db in try work(Connection(db: db)) }
        checkpointer.wrote()
    }

    public func writeStatement(_ work: (any StoreConnection) throws -> Void) throws {
        try pool.writeWithoutTransaction { db in try work(Connection(db: db)) }
        checkpointer.wrote()
    }

    public func read<T>(_ work: (any StoreConnection) throws -> T) throws -> T {
        try pool.read { db in try work(Connection(db: db)) }
    }

    public func close() {
        checkpointer.stop()
        try? pool.close()
    }

    /// GRDB's `Database` as a ``StoreConnection``.
    private struct Connection: StoreConnection {
        let db: Database

        // The store's statements are a handful of strings, each prepared once per connection
        // (GRDB's statement cache), not compiled again for every run. Writes bind and step the
        // prepared statement through SQLite's own calls: GRDB's arguments (an array of boxed values
        // with their generic metadata, then bound one by one) cost a stored run ~10 µs more, on the
        // path of its answer. The store's writes are INSERT and DELETE in or out of GRDB's
        // transactions: none begins or ends one, which is what GRDB's own bookkeeping would follow.
        func execute(_ sql: String, _ arguments: [StoreValue]) throws {
            let statement = try db.cachedStatement(sql: sql)
            let handle = statement.sqliteStatement
            defer {
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
            }
            guard Int(sqlite3_bind_parameter_count(handle)) == arguments.count else {
                throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "\(arguments.count) arguments for "
                                    + "\(sqlite3_bind_parameter_count(handle)) placeholders", sql: sql)
            }
            for (i, value) in arguments.enumerated() {
                let code = Self.bind(value, at: Int32(i + 1), to: handle)
                guard code == SQLITE_OK else { throw error(code, sql) }
            }
            let code = sqlite3_step(handle)
            guard code == SQLITE_DONE else { throw error(sqlite3_reset(handle), sql) }
        }

        /// SQLite's "copy the bytes now" destructor: the values bound outlive no Swift buffer.
        private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

        private static func bind(_ value: StoreValue, at index: Int32, to handle: OpaquePointer) -> Int32 {
            switch value {
            case .null: return sqlite3_bind_null(handle, index)
            case .int(let n): return sqlite3_bind_int64(handle, index, Int64(n))
            case .double(let d): return sqlite3_bind_double(handle, index, d)
            case .text(let s):
                return s.withCString { sqlite3_bind_text64(handle, index, $0, UInt64(s.utf8.count), transient, UInt8(SQLITE_UTF8)) }
            case .blob(let b):
                // An empty blob is a blob of no bytes, not NULL (which a null pointer would bind).
                guard !b.isEmpty else { return sqlite3_bind_zeroblob(handle, index, 0) }
                return b.withUnsafeBytes { sqlite3_bind_blob64(handle, index, $0.baseAddress, UInt64($0.count), transient) }
            }
        }

        /// The error of a failed bind or step, as GRDB reports its own.
        private func error(_ code: Int32, _ sql: String) -> DatabaseError {
            DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: sql)
        }

        func rows(_ sql: String, _ arguments: [StoreValue]) throws -> [StoreRow] {
            try Row.fetchAll(db.cachedStatement(sql: sql), arguments: Self.arguments(arguments)).map { row in
                StoreRow(values: (0..<row.count).map { i in
                    switch (row[i] as DatabaseValue).storage {
                    case .null: .null
                    case .int64(let n): .int(Int(n))
                    case .double(let d): .double(d)
                    case .string(let s): .text(s)
                    case .blob(let data): .blob(Array(data))
                    }
                })
            }
        }

        /// A failed statement in SQLite undoes only itself; the store's writes are one statement each.
        func attempt(_ work: () throws -> Void) throws { try work() }

        /// One server writes an SQLite file, and its writes are already one at a time.
        func lockRetention() throws {}

        static func arguments(_ values: [StoreValue]) -> StatementArguments {
            StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
                switch value {
                case .null: nil
                case .int(let n): n
                case .double(let d): d
                case .text(let s): s
                case .blob(let b): Data(b)
                }
            })
        }
    }
}
