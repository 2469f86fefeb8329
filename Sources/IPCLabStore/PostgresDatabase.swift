import Foundation

/// The shared backend: a PostgreSQL database (`--database postgresql://…`) that several ipclab
/// servers store into at once, through libpq, with a small pool of connections per server.
///
/// Durability: ``write(_:)`` returns once PostgreSQL has committed, with `synchronous_commit` at
/// least `on` (raised from `off` on each connection): the commit is flushed to the database
/// server's WAL, so it survives this server's death and the database server's crash alike.
public final class PostgresDatabase: StoreDatabase, @unchecked Sendable {
    /// The advisory lock keys (any 64-bit numbers, the same in every server): one server migrates
    /// at a time, and one applies retention at a time.
    static let migrationLock = 0x6970_636c_6162_0001
    static let retentionLock = 0x6970_636c_6162_0002

    public let location: String
    public var shared: Bool { true }
    private let url: String
    private let maxConnections: Int
    private let waitSeconds: Double
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var closed = false

    /// A pool of at most `maxConnections` connections to `url`, opened as needed; a caller waits at
    /// most `waitSeconds` for one. Connects once here, so that a wrong URL stops the server at start.
    public init(url: String, maxConnections: Int = 4, waitSeconds: Double = 10) throws {
        self.url = url
        self.maxConnections = max(1, maxConnections)
        self.waitSeconds = waitSeconds
        location = Self.redacted(url)
        let first = try PostgresConnection(url: url)
        idle = [first]
        open = 1
    }

    public func migrate() throws {
        try transaction { pg in
            // Servers started together: the first migrates, the others then find it done.
            try pg.execute("SELECT pg_advisory_xact_lock(?)", [.int(Self.migrationLock)])
            try pg.script("""
                CREATE TABLE IF NOT EXISTS ipclab_migrations (
                    identifier TEXT PRIMARY KEY NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """)
            let applied = Set(try pg.rows("SELECT identifier FROM ipclab_migrations", []).compactMap { $0.string(0) })
            for migration in StoreSchema.migrations where !applied.contains(migration.name) {
                try pg.script(migration.postgres)
                try pg.execute("INSERT INTO ipclab_migrations (identifier) VALUES (?)", [.text(migration.name)])
            }
        }
    }

    public func appliedMigrations() throws -> [String] {
        let applied = Set(try read { db in
            try db.rows("SELECT identifier FROM ipclab_migrations", []).compactMap { $0.string(0) }
        })
        return StoreSchema.migrations.map(\.name).filter(applied.contains)
    }

    public func write(_ work: (any StoreConnection) throws -> Void) throws {
        try transaction { try work($0) }
    }

    public func writeStatement(_ work: (any StoreConnection) throws -> Void) throws {
        try withConnection { try work($0) }
    }

    /// Runs `work` between BEGIN and COMMIT (ROLLBACK when it throws).
    private func transaction(_ work: (PostgresConnection) throws -> Void) throws {
        try withConnection { pg in
            try pg.execute("BEGIN", [])
            do {
                try work(pg)
                try pg.execute("COMMIT", [])
            } catch {
                if pg.isHealthy { try? pg.execute("ROLLBACK", []) }
                throw error
            }
        }
    }

    /// Each statement sees what was committed when it started (no transaction around a read).
    public func read<T>(_ work: (any StoreConnection) throws -> T) throws -> T {
        try withConnection { try work($0) }
    }

    public func close() {
        condition.lock()
        closed = true
        idle.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// Lends a connection to `body`: an idle one, a new one while fewer than the most are open, or
    /// the next one given back. A connection that broke is dropped, not given back.
    private func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let deadline = Date(timeIntervalSinceNow: waitSeconds)
        condition.lock()
        while idle.isEmpty && open >= maxConnections && !closed {
            guard condition.wait(until: deadline) else {
                condition.unlock()
                throw PostgresError(message: "no database connection free within \(waitSeconds) s")
            }
        }
        guard !closed else {
            condition.unlock()
            throw StoreError.closed
        }
        var connection = idle.popLast()
        while let stale = connection, stale.isStale {
            open -= 1
            connection = idle.popLast()
        }
        if connection == nil { open += 1 }
        condition.unlock()
        do {
            if connection == nil { connection = try PostgresConnection(url: url) }
        } catch {
            giveBack(nil)
            throw error
        }
        let pg = connection!
        defer { giveBack(pg.isReusable ? pg : nil) }
        return try body(pg)
    }

    private func giveBack(_ connection: PostgresConnection?) {
        condition.lock()
        if let connection, !closed {
            idle.append(connection)
        } else {
            open -= 1
        }
        condition.signal()
        condition.unlock()
    }

    /// `url` with its password (in the user part, or as `password=`) replaced by `***`, for the log.
    static func redacted(_ url: String) -> String {
        var out = url
        if let scheme = out.range(of: "://"), let at = out.range(of: "@", range: scheme.upperBound..<out.endIndex),
           let colon = out.range(of: ":", range: scheme.upperBound..<at.lowerBound) {
            out.replaceSubrange(colon.upperBound..<at.lowerBound, with: "***")
        }
        if let range = out.range(of: #"password=[^&]*"#, options: .regularExpression) {
            out.replaceSubrange(range, with: "password=***")
        }
        return out
    }
}
