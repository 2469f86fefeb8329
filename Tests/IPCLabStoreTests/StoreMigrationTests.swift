import CIPCLab
import Foundation
import GRDB
import Testing
@testable import IPCLabStore

/// A database written by an earlier build (the schema of its migrations only) opens with this one:
/// the later migrations apply once, every run and grade is kept, and new runs store after them.
@Suite("Run store migrations")
struct StoreMigrationTests {
    /// A data folder whose database has only the migrations up to `last` (as a build of then left it),
    /// holding the runs `ids` (oldest first, a day apart from `start`, with all three formats stored
    /// as builds before v1's derived formats did) and a grade.
    static func oldDatabase(through last: String, ids: [String], start: Double) throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ipclab-store-migration-\(UInt64.random(in: 0...UInt64.max))").path
        try DataDirectory.create(directory + "/data")
        let pool = try DatabasePool(path: directory + "/data/" + RunStore.fileName)
        var migrator = DatabaseMigrator()
        for migration in StoreSchema.migrations.prefix(through: StoreSchema.migrations.firstIndex { $0.name == last }!) {
            migrator.registerMigration(migration.name) { db in try db.execute(sql: migration.sqlite) }
        }
        try migrator.migrate(pool)
        try pool.write { db in
            for (i, id) in ids.enumerated() {
                let experiment: String? = i % 2 == 0 ? "pipe.hello" : nil
                let json = Self.zlibBlob(Array("{\"run\":{\"id\":\"\(id)\"}}".utf8))
                try db.execute(sql: """
                    INSERT INTO run (id, experiment, outcome, started_at, duration_ns, stored_at, bytes,
                                     trace_json, trace_text, trace_chrome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, experiment, i == 1 ? "timeout" : "ok", "2027-01-15T08:00:00.000Z",
                                     1000 + i, start + Double(i) * 86_400, json.count * 3, Data(json),
                                     Data(Self.zlibBlob(Array("# run \(id)\n".utf8))),
                                     Data(Self.zlibBlob(Array("{\"traceEvents\":[],\"id\":\"\(id)\"}".utf8)))])
            }
            try db.execute(sql: "INSERT INTO grade (id, run_id, stored_at, grade_json) VALUES (?, ?, ?, ?)",
                           arguments: ["g-old", ids.first, start, Data(Self.zlibBlob(Array("{\"score\":1}".utf8)))])
        }
        try pool.close()
        return directory
    }

    /// A blob as builds of then stored it: the length, then a zlib stream (level 1).
    static func zlibBlob(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ipclab_deflate_bound(bytes.count))
        let n = out.withUnsafeMutableBufferPointer { o in
            bytes.withUnsafeBufferPointer { i in ipclab_deflate(i.baseAddress, i.count, o.baseAddress, o.count, 1, 0) }
        }
        let length = UInt32(bytes.count)
        return [UInt8(length & 0xff), UInt8((length >> 8) & 0xff), UInt8((length >> 16) & 0xff), UInt8(length >> 24)]
            + out.prefix(n)
    }

    @Test("a database of v1 and v2 opens: v3 applies once, every run keeps its place, formats and fields, and new runs come after them")
    func fromV2() throws {
        let ids = ["m1", "m2", "m3", "m4"]
        let t = try TestStore(directory: try Self.oldDatabase(through: "v2: grades", ids: ids, start: 1_799_000_000))
        #expect(try t.store.appliedMigrations() == StoreSchema.migrations.map(\.name))
        #expect(StoreSchema.migrations.map(\.name).suffix(1) == ["v3: runs cheaper to insert"])
        #expect(t.store.metrics.snapshot.runs == 4)
        let old = try #require(try t.store.list(limit: 10))
        #expect(old.runs.map(\.id) == ["m4", "m3", "m2", "m1"])
        #expect(old.runs.map(\.experiment) == [nil, "pipe.hello", nil, "pipe.hello"])
        #expect(old.runs.map(\.durationNs) == [1003, 1002, 1001, 1000])
        #expect(try t.store.list(limit: 10, outcome: "timeout")?.runs.map(\.id) == ["m2"])
        #expect(try t.store.list(limit: 10, experiment: "pipe.hello")?.runs.map(\.id) == ["m3", "m1"])
        #expect(try t.store.trace(id: "m2", format: .json) == Array("{\"run\":{\"id\":\"m2\"}}".utf8))
        #expect(try t.store.trace(id: "m2", format: .text) == Array("# run m2\n".utf8))
        #expect(try t.store.grade(id: "g-old") == Array("{\"score\":1}".utf8))
        // New runs store, after the old ones, and pages walk across both.
        try t.add("n1")
        try t.add("n2")
        let page = try #require(try t.store.list(limit: 3))
        #expect(page.runs.map(\.id) == ["n2", "n1", "m4"])
        #expect(try t.store.list(limit: 10, before: page.next)?.runs.map(\.id) == ["m3", "m2", "m1"])
        // What an insert writes: no AUTOINCREMENT (its sqlite_sequence row) and no stored_at index.
        let (sql, indexes, sequence) = try t.store.database.read { db in
            (try db.row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'run'")?.string(0) ?? "",
             try db.rows("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'run' AND sql IS NOT NULL ORDER BY name")
                .compactMap { $0.string(0) },
             try db.rows("SELECT seq FROM sqlite_sequence WHERE name = 'run'").count)
        }
        #expect(sql.contains("seq INTEGER PRIMARY KEY,"))
        #expect(!sql.uppercased().contains("AUTOINCREMENT"))
        #expect(indexes == ["run_by_experiment", "run_by_outcome"])
        #expect(sequence == 0)
        // Opened again: nothing more to apply, everything still there.
        try t.reopen()
        #expect(try t.store.appliedMigrations() == StoreSchema.migrations.map(\.name))
        #expect(try t.store.list(limit: 10)?.runs.map(\.id) == ["n2", "n1", "m4", "m3", "m2", "m1"])
    }

    @Test("a migrated database keeps retention: by days in the order runs were stored, by bytes oldest first")
    func retentionAfterMigration() throws {
        let ids = ["r1", "r2", "r3"]
        let start = 1_800_000_000.0 - 10 * 86_400
        let t = try TestStore(directory: try Self.oldDatabase(through: "v2: grades", ids: ids, start: start))
        try t.add("fresh")
        try t.reopen(retention: StoreRetention(keepDays: 8.5))
        // r1 (10 days old) and r2 (9) go, r3 (8) stays; the grade of 10 days ago goes too.
        #expect(try t.store.list(limit: 10)?.runs.map(\.id) == ["fresh", "r3"])
        #expect(try t.store.grade(id: "g-old") == nil)
        #expect(t.store.metrics.snapshot.pruned == 2)
    }

    @Test("lists by outcome: `ok` runs walk seq back, other outcomes use the partial index (not a scan of every run)")
    func outcomeIndex() throws {
        let t = try TestStore()
        for i in 0..<20 { try t.add("o\(i)", outcome: i % 5 == 0 ? "error" : "ok") }
        #expect(try t.store.list(limit: 10, outcome: "error")?.runs.map(\.id) == ["o15", "o10", "o5", "o0"])
        #expect(try t.store.list(limit: 3, outcome: "ok")?.runs.map(\.id) == ["o19", "o18", "o17"])
        let plan = { (outcome: String) in
            try t.store.database.read { db in
                try db.rows("EXPLAIN QUERY PLAN SELECT id FROM run WHERE "
                            + (outcome == "ok" ? "outcome = ?" : "outcome = ? AND outcome <> 'ok'") + " ORDER BY seq DESC LIMIT 51",
                            .text(outcome)).compactMap { $0.string(3) }.joined(separator: "; ")
            }
        }
        #expect(try plan("error").contains("USING INDEX run_by_outcome"))
        #expect(try !plan("ok").contains("run_by_outcome"))
        // An ok run is not in the index: it has no entry there to write.
        let sql = try t.store.database.read { db in
            try db.row("SELECT sql FROM sqlite_master WHERE name = 'run_by_outcome'")?.string(0)
        }
        #expect(sql?.hasSuffix("WHERE outcome <> 'ok'") == true)
    }

    @Test("retention by days walks more than one page of runs, and stops at the first run young enough")
    func retentionDaysWalk() throws {
        let t = try TestStore(retention: StoreRetention(keepDays: 1))
        for i in 0..<300 { try t.add("w\(i)", size: 10) }
        t.clock.advance(2 * 86_400)
        try t.add("young")
        #expect(try t.store.prune() == 300)
        #expect(try t.store.list(limit: 10)?.runs.map(\.id) == ["young"])
        #expect(t.store.metrics.snapshot.runs == 1)
        #expect(try t.store.prune() == 0)
    }
}
