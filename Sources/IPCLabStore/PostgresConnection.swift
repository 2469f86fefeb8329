import CLibPQ
import Foundation

/// One libpq connection (`PGconn`), used by one thread at a time (``PostgresDatabase`` lends it).
/// Synchronous, like the server's threads: a run's thread sends its insert and waits for the commit.
final class PostgresConnection: StoreConnection, @unchecked Sendable {
    private let conn: OpaquePointer
    /// The statements prepared on this connection, by their SQL: the store runs a handful of them,
    /// each parsed and planned by the server once per connection, not once per run.
    private var prepared: [String: String] = [:]

    /// Connects to `url` (`postgresql://…`; libpq reads its parameters, and `PGPASSWORD` and the like).
    init(url: String) throws {
        // Ours come before `dbname` (the URL), so that the URL's own `connect_timeout` wins.
        // Swift's strings are UTF-8 whatever the database's own encoding.
        let keywords = ["connect_timeout", "application_name", "client_encoding", "dbname"]
        let values = ["10", "ipclab", "UTF8", url]
        let cKeywords = keywords.map { strdup($0) }
        let cValues = values.map { strdup($0) }
        defer { (cKeywords + cValues).forEach { free($0) } }
        var k: [UnsafePointer<CChar>?] = cKeywords.map { UnsafePointer($0) } + [nil]
        var v: [UnsafePointer<CChar>?] = cValues.map { UnsafePointer($0) } + [nil]
        guard let conn = PQconnectdbParams(&k, &v, 1) else { throw PostgresError(message: "out of memory") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let error = PostgresError(message: String(cString: PQerrorMessage(conn)))
            PQfinish(conn)
            throw error
        }
        self.conn = conn
        // A 200 means stored: never weaker than a commit flushed to the server's WAL.
        try execute("SELECT set_config('synchronous_commit', 'on', false) WHERE current_setting('synchronous_commit') = 'off'", [])
    }

    deinit { PQfinish(conn) }

    /// Whether the connection still works (false once the server is gone): a broken one is dropped.
    var isHealthy: Bool { PQstatus(conn) == CONNECTION_OK }

    /// Whether it can go back to the pool: working, and outside any transaction.
    var isReusable: Bool { isHealthy && PQtransactionStatus(conn) == PQTRANS_IDLE }

    /// Whether the server spoke or hung up while the connection sat idle (a restarted database sends
    /// its last error, then closes): its socket is readable. Checked before lending it, so that the first
    /// request after a database restart is not answered 503 for a connection that was dead already. An
    /// idle connection has nothing to read otherwise but a rare notice, and dropping it then costs only
    /// a new connection.
    var isStale: Bool {
        var p = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        return PQstatus(conn) != CONNECTION_OK || poll(&p, 1, 0) != 0
    }

    func execute(_ sql: String, _ arguments: [StoreValue]) throws {
        _ = try run(sql, arguments)
    }

    func rows(_ sql: String, _ arguments: [StoreValue]) throws -> [StoreRow] {
        try run(sql, arguments)
    }

    /// Several statements (a migration) in one string, without arguments.
    func script(_ sql: String) throws {
        try check(PQexec(conn, sql))
    }

    func attempt(_ work: () throws -> Void) throws {
        // A failed statement aborts a PostgreSQL transaction: a savepoint keeps the batch's others.
        try execute("SAVEPOINT store_write", [])
        do {
            try work()
            try execute("RELEASE SAVEPOINT store_write", [])
        } catch {
            if isHealthy { try execute("ROLLBACK TO SAVEPOINT store_write", []) }
            throw error
        }
    }

    func lockRetention() throws {
        try execute("SELECT pg_advisory_xact_lock(?)", [.int(PostgresDatabase.retentionLock)])
    }

    /// Runs `sql` (its `?` numbered as `$1`, `$2`…) with `arguments`, prepared once per connection:
    /// blobs in binary (no escaping), the rest as text; answers the rows, each column by its type.
    private func run(_ sql: String, _ arguments: [StoreValue]) throws -> [StoreRow] {
        var buffers: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        defer { buffers.forEach { free($0) } }
        for argument in arguments {
            switch argument {
            case .null: buffers.append(nil); lengths.append(0); formats.append(0)
            case .int(let n): buffers.append(strdup(String(n))); lengths.append(0); formats.append(0)
            case .double(let d): buffers.append(strdup("\(d)")); lengths.append(0); formats.append(0)
            case .text(let s): buffers.append(strdup(s)); lengths.append(0); formats.append(0)
            case .blob(let b):
                let p = malloc(max(b.count, 1))!.assumingMemoryBound(to: CChar.self)
                b.withUnsafeBytes { raw in if let base = raw.baseAddress { memcpy(p, base, b.count) } }
                buffers.append(p); lengths.append(Int32(b.count)); formats.append(1)
            }
        }
        let values = buffers.map { UnsafePointer($0) }
        let name: String
        if let known = prepared[sql] {
            name = known
        } else {
            name = "ipclab_\(prepared.count)"
            try check(PQprepare(conn, name, Self.numbered(sql), Int32(arguments.count), nil))
            prepared[sql] = name
        }
        return try check(PQexecPrepared(conn, name, Int32(arguments.count), values, lengths, formats, 0))
    }

    /// The rows of `result` (freed here), or its error.
    @discardableResult
    private func check(_ result: OpaquePointer?) throws -> [StoreRow] {
        guard let result else { throw PostgresError(message: String(cString: PQerrorMessage(conn))) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw PostgresError(message: String(cString: PQresultErrorMessage(result)), sqlState: state)
        }
        let columns = PQnfields(result)
        let types = (0..<columns).map { PQftype(result, $0) }
        return (0..<PQntuples(result)).map { r in
            StoreRow(values: (0..<columns).map { c in
                if PQgetisnull(result, r, c) != 0 { return .null }
                let text = String(cString: PQgetvalue(result, r, c))
                switch types[Int(c)] {
                case 20, 21, 23: return Int(text).map { .int($0) } ?? .text(text)  // int8, int2, int4
                case 700, 701: return Double(text).map { .double($0) } ?? .text(text)  // float4, float8
                case 17: return .blob(Self.bytea(text))
                default: return .text(text)  // text, and numeric (sum) read as a number by StoreRow
                }
            })
        }
    }

    /// `?` placeholders as PostgreSQL's `$1`, `$2`…, leaving quoted text alone.
    static func numbered(_ sql: String) -> String {
        var out = ""
        var n = 0
        var quoted = false
        for c in sql {
            if c == "'" { quoted.toggle() }
            if c == "?" && !quoted {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// A `bytea` in PostgreSQL's text output (`\x` then hex digits) as bytes.
    static func bytea(_ text: String) -> [UInt8] {
        let hex = Array(text.utf8.dropFirst(2))
        func digit(_ c: UInt8) -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: 0
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(hex.count / 2)
        var i = 0
        while i + 1 < hex.count {
            out.append(digit(hex[i]) << 4 | digit(hex[i + 1]))
            i += 2
        }
        return out
    }
}

/// What PostgreSQL (or libpq) answered instead of a result.
public struct PostgresError: Error, CustomStringConvertible {
    /// libpq's message, its trailing newline removed.
    public var message: String
    /// The SQLSTATE code (`23505`: a unique key already there), when the server sent one.
    public var sqlState: String?

    init(message: String, sqlState: String? = nil) {
        self.message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        self.sqlState = sqlState
    }

    public var description: String { "PostgreSQL: " + message }
}
