import Testing
@testable import IPCLabStore

/// The PostgreSQL backend's pure parts; the backend itself is tested end to end on a real cluster
/// (e2e/test_store.py runs every stored-run test on it, e2e/test_instances.py several servers on one).
@Suite("PostgreSQL backend helpers")
struct PostgresHelpersTests {
    @Test("? placeholders become $1, $2… in order, and a quoted ? stays")
    func numbered() {
        #expect(PostgresConnection.numbered("SELECT a FROM run WHERE id = ? AND seq < ? LIMIT ?")
                == "SELECT a FROM run WHERE id = $1 AND seq < $2 LIMIT $3")
        #expect(PostgresConnection.numbered("SELECT '?' , ?") == "SELECT '?' , $1")
        #expect(PostgresConnection.numbered("SELECT 1") == "SELECT 1")
    }

    @Test("bytea's text output (\\x and hex digits) decodes to the bytes")
    func bytea() {
        #expect(PostgresConnection.bytea("\\x") == [])
        #expect(PostgresConnection.bytea("\\x00ff10Ab") == [0x00, 0xff, 0x10, 0xab])
    }

    @Test("the log shows the URL without its password")
    func redacted() {
        #expect(PostgresDatabase.redacted("postgresql://ipclab:s3cret@db:5432/lab") == "postgresql://ipclab:***@db:5432/lab")
        #expect(PostgresDatabase.redacted("postgresql://ipclab@db/lab?password=s3cret&sslmode=require")
                == "postgresql://ipclab@db/lab?password=***&sslmode=require")
        #expect(PostgresDatabase.redacted("postgresql://db:5432/lab") == "postgresql://db:5432/lab")
    }

    @Test("a value reads back as the type the store asks for, whatever the backend sent")
    func rowValues() {
        let row = StoreRow(values: [.text("12345"), .int(7), .null, .double(1.5), .text("abc"), .blob([1, 2])])
        #expect(row.int(0) == 12345)
        #expect(row.int(1) == 7 && row.double(1) == 7)
        #expect(row.string(2) == nil && row.blob(2) == nil && row.int(2) == 0)
        #expect(row.double(3) == 1.5)
        #expect(row.string(4) == "abc")
        #expect(row.blob(5) == [1, 2])
    }
}
