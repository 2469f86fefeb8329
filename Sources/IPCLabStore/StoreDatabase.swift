/// A database the run store keeps its runs and grades in: the store's SQL is written once, with `?`
/// placeholders, and each backend runs it. Two backends: ``SQLiteDatabase`` (embedded, one server)
/// and ``PostgresDatabase`` (a server several ipclab instances share).
public protocol StoreDatabase: Sendable {
    /// Where it is, for the log (never a password).
    var location: String { get }
    /// Whether other servers may write the same database at once (PostgreSQL): the store then reads
    /// its counts from the database rather than keeping them itself, and takes a lock to apply retention.
    var shared: Bool { get }
    /// Applies the migrations of ``StoreSchema`` not yet applied, in order, once each.
    func migrate() throws
    /// The names of the migrations applied, in order.
    func appliedMigrations() throws -> [String]
    /// Runs `work` in one transaction, committed when it returns (durably, as the backend says),
    /// rolled back when it throws.
    func write(_ work: (any StoreConnection) throws -> Void) throws
    /// Runs `work`, which executes one statement, with no transaction around it: the statement is
    /// its own transaction, committed as durably as ``write(_:)``'s when it returns (one round trip
    /// to PostgreSQL instead of BEGIN, the statement and COMMIT).
    func writeStatement(_ work: (any StoreConnection) throws -> Void) throws
    /// Runs `work` on a consistent view of the committed data; never waits for a writer.
    func read<T>(_ work: (any StoreConnection) throws -> T) throws -> T
    /// Closes the connections; later calls throw.
    func close()
}

/// One connection, inside ``StoreDatabase/write(_:)`` or ``StoreDatabase/read(_:)``.
public protocol StoreConnection {
    /// Runs one statement.
    func execute(_ sql: String, _ arguments: [StoreValue]) throws
    /// Runs one query and answers all its rows.
    func rows(_ sql: String, _ arguments: [StoreValue]) throws -> [StoreRow]
    /// Runs `work` so that when it throws only its own changes are undone and the transaction
    /// goes on (a batch's other writes still commit).
    func attempt(_ work: () throws -> Void) throws
    /// Waits until no other server applies retention to this database (until the transaction ends).
    func lockRetention() throws
}

extension StoreConnection {
    func execute(_ sql: String, _ arguments: StoreValue...) throws { try execute(sql, arguments) }
    func rows(_ sql: String, _ arguments: StoreValue...) throws -> [StoreRow] { try rows(sql, arguments) }
    /// The first row, or nil when there is none.
    func row(_ sql: String, _ arguments: StoreValue...) throws -> StoreRow? { try rows(sql, arguments).first }
}

/// A value bound to a `?` or read from a column.
public enum StoreValue: Sendable, Equatable {
    case null
    case int(Int)
    case double(Double)
    case text(String)
    case blob([UInt8])

    init(_ text: String?) { self = text.map { .text($0) } ?? .null }
}

/// One row of a query's answer.
public struct StoreRow: Sendable {
    public var values: [StoreValue]

    /// Column `i` as an integer (0 for NULL or what is not a number).
    func int(_ i: Int) -> Int {
        switch values[i] {
        case .int(let n): n
        case .double(let d): Int(d)
        case .text(let s): Int(s) ?? Double(s).map { Int($0) } ?? 0
        case .null, .blob: 0
        }
    }

    func double(_ i: Int) -> Double {
        switch values[i] {
        case .int(let n): Double(n)
        case .double(let d): d
        case .text(let s): Double(s) ?? 0
        case .null, .blob: 0
        }
    }

    /// Column `i` as text; nil for NULL.
    func string(_ i: Int) -> String? {
        switch values[i] {
        case .text(let s): s
        case .int(let n): String(n)
        case .double(let d): String(d)
        case .blob(let b): String(decoding: b, as: UTF8.self)
        case .null: nil
        }
    }

    /// Column `i` as bytes; nil for NULL.
    func blob(_ i: Int) -> [UInt8]? {
        switch values[i] {
        case .blob(let b): b
        case .text(let s): Array(s.utf8)
        case .null, .int, .double: nil
        }
    }
}
