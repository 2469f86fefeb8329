import CIPCLab
import Foundation
import IPCLabCore
import Synchronization
import Testing
@testable import IPCLabStore

/// The time a test store reads, moved by the test.
final class ManualClock: Sendable {
    private let seconds = Mutex(1_800_000_000.0)
    var now: Double { seconds.withLock { $0 } }
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
}

/// A store in a new temporary folder, with a clock the test moves.
final class TestStore: @unchecked Sendable {
    let directory: String
    let clock = ManualClock()
    var store: RunStore

    /// `importWindow`: how long the journal collects runs before it imports them (long: they stay
    /// journaled until a read needs them, or the store closes).
    init(retention: StoreRetention = StoreRetention(), retentionEvery: Double = 60, directory: String? = nil,
         importWindow: Duration? = nil) throws {
        self.directory = directory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("ipclab-store-test-\(UInt64.random(in: 0...UInt64.max))").path
        let clock = self.clock
        if let importWindow {
            let data = self.directory + "/data"
            store = try RunStore(database: SQLiteDatabase(directory: data), journal: StoreJournal(directory: data), retention: retention,
                                 retentionEvery: retentionEvery, now: { clock.now }, importWindow: importWindow)
        } else {
            store = try RunStore(directory: self.directory + "/data", retention: retention, retentionEvery: retentionEvery,
                                 now: { clock.now })
        }
    }

    /// Opens the same folder again after a `kill -9`: the old store's journal is left as it was.
    func crashAndReopen() throws {
        store.abandon()
        let clock = self.clock
        store = try RunStore(directory: directory + "/data", now: { clock.now })
    }

    /// Closes and opens the same folder again, as a restarted server would.
    func reopen(retention: StoreRetention = StoreRetention()) throws {
        store.close()
        let clock = self.clock
        store = try RunStore(directory: directory + "/data", retention: retention, now: { clock.now })
    }

    var now: Double { clock.now }

    /// Stores a made-up run; its formats name its id so that a mix-up shows.
    @discardableResult
    func add(_ id: String, experiment: String? = "pipe.hello", outcome: String = "ok", size: Int = 100) throws -> StoredRun {
        let json = Self.json(id, size: size)
        let run = StoredRun(summary: RunSummary(id: id, experiment: experiment, outcome: outcome, startedAt: "2027-01-15T08:00:00.000Z",
                                                durationNs: 1234, storedAt: now, bytes: 0),
                            formats: [.json: json, .text: Array("# run \(id)\n".utf8), .chrome: Array("{\"traceEvents\":[],\"id\":\"\(id)\"}".utf8)])
        try store.store(run)
        return run
    }

    /// The JSON ``add(_:experiment:outcome:size:)`` stores for `id`.
    static func json(_ id: String, size: Int = 100) -> [UInt8] {
        Array("{\"run\":{\"id\":\"\(id)\"},\"pad\":\"\(String(repeating: "x", count: size))\"}".utf8)
    }

    deinit {
        store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite("Run store")
struct RunStoreTests {
    @Test("a new store creates its folder and applies every migration once, in order")
    func migrations() throws {
        let t = try TestStore()
        #expect(FileManager.default.fileExists(atPath: t.directory + "/data/" + RunStore.fileName))
        #expect(try t.store.appliedMigrations() == ["v1: runs", "v2: grades", "v3: runs cheaper to insert"])
        try t.add("a1")
        try t.reopen()
        #expect(try t.store.appliedMigrations() == ["v1: runs", "v2: grades", "v3: runs cheaper to insert"])
        #expect(try t.store.contains(id: "a1"))
        #expect(t.store.metrics.snapshot.runs == 1)
    }

    @Test("each format comes back byte for byte; an unknown id is nil")
    func roundTrip() throws {
        let t = try TestStore()
        try t.add("r1")
        try t.add("r2", size: 50_000)
        #expect(try t.store.trace(id: "r1", format: .json) == TestStore.json("r1"))
        #expect(try t.store.trace(id: "r1", format: .text) == Array("# run r1\n".utf8))
        #expect(try t.store.trace(id: "r2", format: .chrome) == Array("{\"traceEvents\":[],\"id\":\"r2\"}".utf8))
        #expect(try t.store.trace(id: "r2", format: .json) == TestStore.json("r2", size: 50_000))
        #expect(try t.store.trace(id: "r3", format: .json) == nil)
        // Deflated: 50,000 x's take far less than 50,000 bytes on disk.
        #expect(t.store.metrics.snapshot.bytes < 5_000)
    }

    @Test("a run stored from its answer's JSON: that JSON back as it is, its text and Chrome made from it")
    func derivedFormats() throws {
        let t = try TestStore()
        let run = RunInfo(id: "0123456789abcdef0123456789abcdef", experiment: "pipe.hello", startedAt: "2027-01-15T08:00:00.000Z",
                          durationNs: 2_500_000, outcome: .ok, reason: nil, limits: RunLimits(),
                          sandbox: SandboxReport(namespaces: ["pid"], setup: []), eventsDropped: 0)
        let events = [
            TraceEvent(seq: 1, tNs: 1000, endNs: 1_200_000, process: "parent", pid: 2, step: 0, call: "read",
                       args: [("fd", 3), ("count", 6), ("channel", "p"), ("end", "read")], result: 6, errno: nil,
                       canBlock: true, payload: Payload(bytes: 6, preview: Array("Hello\u{0}".utf8))),
            TraceEvent(seq: 2, tNs: 5000, endNs: 6000, process: "child", pid: 3, step: 0, call: "write",
                       args: [("fd", 4), ("count", 6), ("channel", "p"), ("end", "write")], result: 6, errno: nil,
                       canBlock: true, payload: Payload(bytes: 6, preview: Array("Hello\u{0}".utf8))),
        ]
        let trace = Trace(run: run, scenario: Scenario(channels: [], processes: []),
                          processes: [TraceProcess(name: "parent", pid: 2, parent: nil, exit: .code(0), userCPUNs: 1, systemCPUNs: 2),
                                      TraceProcess(name: "child", pid: 3, parent: "parent", exit: .code(0), userCPUNs: 1, systemCPUNs: 2)],
                          events: events, objects: [],
                          observations: [Observation(id: "o", claim: "c", holds: true, evidence: [1, 2], detail: "d")],
                          transfers: [Transfer(kind: .data, from: 2, to: 1, channel: "p", bytes: 6)])
        let json = trace.json()
        try t.store.store(trace, json: json)
        #expect(try t.store.trace(id: run.id, format: .json) == json)
        #expect(try t.store.trace(id: run.id, format: .text) == Array(trace.text().utf8))
        #expect(try t.store.trace(id: run.id, format: .chrome) == trace.chromeJSON())
        // Only the JSON is stored.
        #expect(t.store.metrics.snapshot.bytes == TraceCompression.compress(json).count)
        // A stored JSON that is not a trace's cannot be made into text: an error, not a crash.
        try t.store.store(StoredRun(summary: RunSummary(id: "bad", experiment: nil, outcome: "ok", startedAt: "", durationNs: 0,
                                                        storedAt: t.now, bytes: 0), formats: [.json: Array("{\"run\":{}}".utf8)]))
        #expect(try t.store.trace(id: "bad", format: .json) == Array("{\"run\":{}}".utf8))
        #expect(throws: StoreError.self) { try t.store.trace(id: "bad", format: .text) }
    }

    @Test("a second run with the same id never replaces the first: refused while the first waits in the journal, dropped at its import after")
    func duplicateID() throws {
        let t = try TestStore()
        try t.add("d1", outcome: "ok")
        // Refused at once (the first still waits), or journaled and dropped when imported: either way one failure.
        _ = try? t.add("d1", outcome: "timeout")
        try t.store.flush()
        #expect(try t.store.list(limit: 10)?.runs.map(\.outcome) == ["ok"])
        #expect(t.store.metrics.snapshot.failedTotal == 1)
        try t.add("d1", outcome: "error") // the first is in the database now: the journal takes it
        try t.store.flush()
        #expect(try t.store.list(limit: 10)?.runs.map(\.outcome) == ["ok"])
        #expect(t.store.metrics.snapshot.failedTotal == 2)
        #expect(t.store.metrics.snapshot.runs == 1)
    }

    @Test("compression round-trips, and a damaged, cut or mislabelled blob is nil rather than a crash or other bytes")
    func compression() {
        let bytes = Array((0..<10_000).map { UInt8($0 % 251) })
        let blob = TraceCompression.compress(bytes)
        #expect(Array(blob[4..<8]) == TraceCompression.lz4Magic)
        #expect(TraceCompression.decompress(blob) == bytes)
        #expect(TraceCompression.decompress(TraceCompression.compress([])) == [])
        // A flipped byte in the middle: the frame's checksum (or its structure) refuses it.
        var damaged = blob
        damaged[damaged.count / 2] ^= 0xff
        #expect(TraceCompression.decompress(damaged) == nil)
        #expect(TraceCompression.decompress(Array(blob.dropLast(3))) == nil)
        #expect(TraceCompression.decompress(blob + [0]) == nil)
        var short = blob
        short[0] = short[0] &- 1
        #expect(TraceCompression.decompress(short) == nil)
        #expect(TraceCompression.decompress([0xff, 0xff, 0xff, 0x7f, 1, 2]) == nil)
        #expect(TraceCompression.decompress([1]) == nil)
        #expect(TraceCompression.decompress([4, 0, 0, 0] + TraceCompression.lz4Magic) == nil)
    }

    @Test("the same bytes compress the same, every size round-trips, and the page's gzip (zlib's thread stream) in between changes nothing")
    func compressionRepeats() throws {
        let first = TraceCompression.compress(Array("{\"run\":1}".utf8))
        for size in [0, 1, 100, 70_000, 5_000, 300_000, 7] {
            let bytes = Array((0..<size).map { UInt8(($0 * 7 + size) % 253) })
            let blob = TraceCompression.compress(bytes)
            #expect(TraceCompression.decompress(blob) == bytes, "size \(size)")
            #expect(TraceCompression.compress(bytes) == blob, "size \(size)")
        }
        // A gzip member (the page's files) on the same thread, then a stored blob again.
        let text = Array(String(repeating: "gzip me ", count: 500).utf8)
        var gz = [UInt8](repeating: 0, count: ipclab_deflate_bound(text.count))
        let n = gz.withUnsafeMutableBufferPointer { o in
            text.withUnsafeBufferPointer { i in ipclab_deflate(i.baseAddress, i.count, o.baseAddress, o.count, 6, 1) }
        }
        #expect(n > 10 && gz[0] == 0x1f && gz[1] == 0x8b)
        #expect(TraceCompression.compress(Array("{\"run\":1}".utf8)) == first)
    }

    @Test("a blob stored by an earlier build (a zlib stream, level 1) still reads; a length that understates it is refused")
    func zlibCompatible() {
        // The length, then zlib.compress(b"hello, stored trace", 1) as Python's zlib makes it.
        let stream: [UInt8] = [0x78, 0x01, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0x28, 0x2e, 0xc9, 0x2f, 0x4a, 0x4d,
                               0x51, 0x28, 0x29, 0x4a, 0x4c, 0x4e, 0x05, 0x00, 0x47, 0x10, 0x07, 0x21]
        #expect(TraceCompression.decompress([19, 0, 0, 0] + stream) == Array("hello, stored trace".utf8))
        #expect(TraceCompression.decompress([18, 0, 0, 0] + stream) == nil)
        #expect(TraceCompression.decompress([19, 0, 0, 0] + stream.dropLast()) == nil)
    }

    @Test("pages go newest first and the cursor walks every run once")
    func paging() throws {
        let t = try TestStore()
        for i in 1...5 { try t.add("p\(i)") }
        let first = try #require(try t.store.list(limit: 2))
        #expect(first.runs.map(\.id) == ["p5", "p4"])
        #expect(first.next == "p4")
        let second = try #require(try t.store.list(limit: 2, before: first.next))
        #expect(second.runs.map(\.id) == ["p3", "p2"])
        let third = try #require(try t.store.list(limit: 2, before: second.next))
        #expect(third.runs.map(\.id) == ["p1"])
        #expect(third.next == nil)
        #expect(try t.store.list(limit: 5)?.next == nil)
        #expect(try t.store.list(limit: 2, before: "nope") == nil)
    }

    @Test("filters by experiment (custom: the scenarios) and by outcome")
    func filters() throws {
        let t = try TestStore()
        try t.add("f1", experiment: "pipe.hello", outcome: "ok")
        try t.add("f2", experiment: nil, outcome: "timeout")
        try t.add("f3", experiment: "pipe.eof", outcome: "ok")
        try t.add("f4", experiment: "pipe.hello", outcome: "error")
        #expect(try t.store.list(limit: 10, experiment: "pipe.hello")?.runs.map(\.id) == ["f4", "f1"])
        #expect(try t.store.list(limit: 10, experiment: "custom")?.runs.map(\.id) == ["f2"])
        #expect(try t.store.list(limit: 10, outcome: "ok")?.runs.map(\.id) == ["f3", "f1"])
        #expect(try t.store.list(limit: 10, experiment: "pipe.hello", outcome: "ok")?.runs.map(\.id) == ["f1"])
        let page = try #require(try t.store.list(limit: 1, experiment: "pipe.hello"))
        #expect(page.runs.map(\.id) == ["f4"])
        #expect(try t.store.list(limit: 1, before: page.next, experiment: "pipe.hello")?.runs.map(\.id) == ["f1"])
    }

    @Test("retention by days deletes what is older, oldest first, and keeps the rest")
    func retentionDays() throws {
        let t = try TestStore(retention: StoreRetention(keepDays: 2))
        try t.add("old1")
        t.clock.advance(86_400)
        try t.add("old2")
        t.clock.advance(86_400 + 3_600)
        try t.add("new")
        try t.store.storeGrade(id: "g-old", runID: "old1", json: Array("{}".utf8))
        #expect(try t.store.prune() == 1)
        #expect(try t.store.list(limit: 10)?.runs.map(\.id) == ["new", "old2"])
        t.clock.advance(86_400)
        #expect(try t.store.prune() == 1)
        #expect(try t.store.list(limit: 10)?.runs.map(\.id) == ["new"])
        #expect(t.store.metrics.snapshot.runs == 1)
        #expect(t.store.metrics.snapshot.pruned == 2)
        // A restarted store applies it at start too.
        t.clock.advance(3 * 86_400)
        try t.reopen(retention: StoreRetention(keepDays: 2))
        #expect(try t.store.list(limit: 10)?.runs.isEmpty == true)
        #expect(try t.store.grade(id: "g-old") == nil)
    }

    @Test("retention by days also runs by itself on the store's timer, while the server runs")
    func retentionDaysTimer() throws {
        let t = try TestStore(retention: StoreRetention(keepDays: 1), retentionEvery: 0.05)
        try t.add("t-old")
        t.clock.advance(2 * 86_400)
        try t.add("t-new")
        // Polled, not timed: a slow machine only makes this wait longer.
        let deadline = Date().addingTimeInterval(30)
        while try t.store.contains(id: "t-old"), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(try !t.store.contains(id: "t-old"))
        #expect(try t.store.contains(id: "t-new"))
        #expect(t.store.metrics.snapshot.pruned == 1)
    }

    @Test("retention by bytes deletes the oldest runs until the rest fit")
    func retentionBytes() throws {
        let one = try TestStore().add("size", size: 2_000).summary.bytes
        let t = try TestStore(retention: StoreRetention(maxStoredBytes: one * 3 + one / 2))
        for i in 1...6 { try t.add("b\(i)", size: 2_000) }
        // Retention by bytes runs after each import of the journal.
        try t.store.flush()
        #expect(try t.store.list(limit: 10)?.runs.map(\.id) == ["b6", "b5", "b4"])
        #expect(t.store.metrics.snapshot.bytes <= one * 3 + one / 2)
        #expect(t.store.metrics.snapshot.runs == 3)
        #expect(try t.store.trace(id: "b1", format: .json) == nil)
    }

    @Test("grades round-trip by id")
    func grades() throws {
        let t = try TestStore()
        let json = Array("{\"id\":\"g1\",\"score\":3}".utf8)
        try t.store.storeGrade(id: "g1", runID: "r1", json: json)
        #expect(try t.store.grade(id: "g1") == json)
        #expect(try t.store.grade(id: "g2") == nil)
        let ids = Set((0..<100).map { _ in RunStore.newID() })
        #expect(ids.count == 100)
        #expect(ids.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
    }

    @Test("runs stored from many threads at once are all there (group commits)")
    func concurrentStores() throws {
        let t = try TestStore()
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            do { try t.add("c\(i)") } catch { failures.withLock { $0 += 1 } }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(try t.store.list(limit: 100)?.runs.count == 64)
        #expect(t.store.metrics.snapshot.storedTotal == 64)
    }

    @Test("a closed store refuses to store")
    func closed() throws {
        let t = try TestStore()
        t.store.close()
        #expect(throws: StoreError.self) { try t.add("late") }
    }

    @Test("the default data directory: /var/lib/ipclab for root, else the XDG state folder")
    func defaultDirectory() {
        #expect(DataDirectory.standard(environment: [:], isRoot: true) == "/var/lib/ipclab")
        #expect(DataDirectory.standard(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"], isRoot: false) == "/s/ipclab")
        #expect(DataDirectory.standard(environment: ["HOME": "/h"], isRoot: false) == "/h/.local/state/ipclab")
    }
}

@Suite("SQLite checkpoints")
struct SQLiteCheckpointTests {
    @Test("commits leave the checkpoint to a thread of its own: the WAL is copied into the database while runs are stored, and a commit's own checkpoint only past 64 MiB")
    func checkpointsOffTheCommit() throws {
        let t = try TestStore()
        let db = try #require(t.store.database as? SQLiteDatabase)
        // The connection commits run on: SQLite's automatic checkpoint only as a backstop.
        var pages: StoreValue?
        try db.write { c in pages = try c.row("PRAGMA wal_autocheckpoint")?.values.first }
        #expect(pages == .int(SQLiteDatabase.autoCheckpointPages))
        #expect(db.checkpoints == 0, "nothing written yet: nothing to checkpoint")
        for i in 0..<20 { try t.add("run-\(i)", size: 20_000) }
        // The checkpointer's next round (every 250 ms) copies what was written.
        let deadline = Date().addingTimeInterval(5)
        while db.checkpoints == 0 && Date() < deadline { usleep(20_000) }
        #expect(db.checkpoints >= 1, "the checkpointer ran after the writes")
        let done = db.checkpoints
        usleep(700_000)
        #expect(db.checkpoints == done, "no write since: no checkpoint either")
        #expect(try t.store.trace(id: "run-7", format: .json) == TestStore.json("run-7", size: 20_000))
    }
}
