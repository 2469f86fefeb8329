import Foundation
import Synchronization
import Testing
@testable import IPCLabStore

@Suite("Store journal")
struct StoreJournalTests {
    /// The journal files' paths under a TestStore.
    static func files(_ t: TestStore) -> [String] { StoreJournal.fileNames.map { t.directory + "/data/" + $0 } }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1
    }

    @Test("a run is read back by id while it waits in the journal, and a list waits for its import")
    func readsWhileWaiting() throws {
        let t = try TestStore(importWindow: .seconds(3600))
        try t.add("w1")
        try t.add("w2", size: 20_000)
        #expect(t.store.journaled == 2)
        // Before its import: from the journal, byte for byte.
        #expect(try t.store.trace(id: "w1", format: .json) == TestStore.json("w1"))
        #expect(try t.store.trace(id: "w2", format: .text) == Array("# run w2\n".utf8))
        #expect(try t.store.contains(id: "w2"))
        #expect(t.store.metrics.snapshot.runs == 2)
        // A list shows them, newest first, without waiting for their import.
        #expect(try t.store.list(limit: 10)?.runs.map(\.id) == ["w2", "w1"])
        #expect(t.store.journaled == 2)
        try t.store.flush()
        #expect(t.store.journaled == 0)
        #expect(try t.store.trace(id: "w2", format: .json) == TestStore.json("w2", size: 20_000))
        // Imported runs leave the journal empty.
        #expect(Self.files(t).map(Self.size) == [0, 0])
    }

    @Test("a list pages across the journal and the database: newest first, each run once, filters and cursors on both sides")
    func listAcrossJournal() throws {
        let t = try TestStore(importWindow: .seconds(3600))
        try t.add("a1")
        try t.add("a2", experiment: nil)
        try t.add("a3", outcome: "timeout")
        try t.store.flush()
        try t.add("b1")
        try t.add("b2", experiment: nil)
        try t.add("b3", outcome: "timeout")
        #expect(t.store.journaled == 3)
        var ids: [String] = []
        var before: String?
        var pages = 0
        repeat {
            let page = try #require(try t.store.list(limit: 2, before: before))
            ids += page.runs.map(\.id)
            before = page.next
            pages += 1
        } while before != nil && pages < 10
        #expect(ids == ["b3", "b2", "b1", "a3", "a2", "a1"])
        #expect(try t.store.list(limit: 10, experiment: "custom")?.runs.map(\.id) == ["b2", "a2"])
        #expect(try t.store.list(limit: 10, outcome: "timeout")?.runs.map(\.id) == ["b3", "a3"])
        #expect(try t.store.list(limit: 1, before: "b2", outcome: "timeout")?.runs.map(\.id) == ["a3"])
        #expect(try t.store.list(limit: 10, before: "nope") == nil)
        // Nothing was imported for the lists.
        #expect(t.store.journaled == 3)
        try t.store.flush()
        #expect(try t.store.list(limit: 10)?.runs.map(\.id) == ["b3", "b2", "b1", "a3", "a2", "a1"])
    }

    @Test("runs a killed server left in the journal are imported at the next start, in order, once")
    func replayAfterKill() throws {
        let t = try TestStore(importWindow: .seconds(3600))
        for i in 0..<50 { try t.add("k\(i)") }
        try t.crashAndReopen()
        let page = try t.store.list(limit: 100)
        let ids = try #require(page).runs.map(\.id)
        #expect(ids == (0..<50).reversed().map { "k\($0)" })
        #expect(t.store.metrics.snapshot.runs == 50)
        #expect(try t.store.trace(id: "k7", format: .json) == TestStore.json("k7"))
        #expect(Self.files(t).map(Self.size) == [0, 0])
        // A clean restart finds nothing more to import.
        try t.reopen()
        #expect(try t.store.list(limit: 100)?.runs.count == 50)
    }

    @Test("a record cut short or damaged ends its file's replay: the whole records before it are imported")
    func tornTail() throws {
        for damage in ["cut", "flip"] {
            // Nothing imported before the "kill": all three stay in one journal file.
            let t = try TestStore(importWindow: .seconds(3600))
            try t.add("t0")
            try t.add("t1")
            try t.add("t2")
            t.store.abandon()
            let path = try #require(Self.files(t).first { Self.size($0) > 0 })
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let records = StoreJournal.records(in: bytes[...])
            #expect(records.map(\.1.summary.id) == ["t0", "t1", "t2"])
            // Where the third record starts: the length of the first two.
            let third = records.prefix(2).reduce(0) { $0 + StoreJournal.record($1.1, sequence: $1.0).count }
            if damage == "cut" {
                bytes.removeLast((bytes.count - third) / 2)
            } else {
                bytes[third + StoreJournal.headerBytes + 20] ^= 0x40
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let clock = t.clock
            t.store = try RunStore(directory: t.directory + "/data", now: { clock.now })
            #expect(try t.store.list(limit: 10)?.runs.map(\.id) == ["t1", "t0"], "\(damage)")
        }
    }

    @Test("a run imported and journaled still (killed between the import and the clearing) is imported once")
    func importedTwice() throws {
        let t = try TestStore()
        let run = try t.add("i1")
        try t.store.flush()
        t.store.abandon()
        // The record as the killed server had written it, back in the journal.
        let journal = try StoreJournal(directory: t.directory + "/data")
        try journal.append(run, sequence: 0)
        journal.release()
        let clock = t.clock
        t.store = try RunStore(directory: t.directory + "/data", now: { clock.now })
        #expect(try t.store.list(limit: 10)?.runs.map(\.id) == ["i1"])
        #expect(t.store.metrics.snapshot.runs == 1)
    }

    @Test("one store per data directory: a second one is refused while the first is open, and opens once it is closed")
    func oneStorePerDirectory() throws {
        let t = try TestStore()
        try t.add("o1")
        #expect(throws: StoreError.self) { try RunStore(directory: t.directory + "/data") }
        let second = try? RunStore(directory: t.directory + "/data")
        #expect(second == nil)
        do {
            _ = try RunStore(directory: t.directory + "/data")
        } catch {
            #expect("\(error)".contains("one server per data directory"), "\(error)")
        }
        t.store.close()
        let again = try RunStore(directory: t.directory + "/data")
        #expect(try again.contains(id: "o1"))
        again.close()
        let clock = t.clock
        t.store = try RunStore(directory: t.directory + "/data", now: { clock.now })
    }

    @Test("random bytes and records with random bytes changed are never read as more than the whole, intact records before them")
    func garbage() {
        var rng = SystemRandomNumberGenerator()
        let runs = (0..<3).map { i in
            StoredRun(summary: RunSummary(id: "g\(i)", experiment: i == 1 ? nil : "pipe.hello", outcome: "ok", startedAt: "t",
                                          durationNs: i, storedAt: Double(i), bytes: 0),
                      formats: [.json: Array("{\"i\":\(i)}".utf8)])
        }
        let whole = runs.enumerated().flatMap { StoreJournal.record($1, sequence: UInt64($0)) }
        for _ in 0..<2_000 {
            let noise = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(StoreJournal.records(in: (Array("IPJ1".utf8) + noise)[...]).isEmpty)
            var damaged = whole
            let at = Int.random(in: 0..<damaged.count, using: &rng)
            damaged[at] ^= UInt8.random(in: 1...255, using: &rng)
            let read = StoreJournal.records(in: damaged[...])
            // Only records wholly before the damaged byte are read back, each as it was written.
            var end = 0
            var before = 0
            for (i, run) in runs.enumerated() {
                end += StoreJournal.record(run, sequence: UInt64(i)).count
                if end <= at { before += 1 }
            }
            #expect(read.count == before, "byte \(at)")
            for (i, (sequence, run)) in read.enumerated() {
                #expect(sequence == UInt64(i) && run.summary == runs[i].summary && run.blobs == runs[i].blobs)
            }
        }
    }

    @Test("a record round-trips: summary (an experiment or none) and every blob")
    func recordRoundTrip() throws {
        let summary = RunSummary(id: "rt", experiment: nil, outcome: "timeout", startedAt: "2027-01-15T08:00:00.000Z",
                                 durationNs: -5, storedAt: 1_800_000_000.25, bytes: 0)
        let run = StoredRun(summary: summary, formats: [.json: Array("{}".utf8), .chrome: Array("[]".utf8)])
        let record = StoreJournal.record(run, sequence: 9)
        let back = StoreJournal.records(in: (record + Array("IPJ1 and then".utf8))[...])
        #expect(back.count == 1)
        #expect(back.first?.0 == 9)
        #expect(back.first?.1.summary == run.summary)
        #expect(back.first?.1.blobs == run.blobs)
        var named = summary
        named.experiment = "pipe.hello"
        let other = StoreJournal.records(in: StoreJournal.record(StoredRun(summary: named, formats: [.json: []]), sequence: 1)[...])
        #expect(other.first?.1.summary.experiment == "pipe.hello")
    }

    @Test("while the database refuses imports, runs stay journaled and readable, a flush says so, and stores stop at the limit")
    func databaseRefuses() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ipclab-journal-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: directory + "/bytes", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let refusing = Mutex(true)
        let imported = Mutex<[String]>([])
        let journal = try StoreJournal(directory: directory)
        let importer = JournalImporter(journal: journal, window: .milliseconds(1),
                                       retryAfter: .milliseconds(5), maxWaiting: 3) { runs in
            if refusing.withLock({ $0 }) { throw StoreError.closed }
            imported.withLock { $0 += runs.map(\.summary.id) }
        }
        func run(_ id: String) -> StoredRun {
            StoredRun(summary: RunSummary(id: id, experiment: nil, outcome: "ok", startedAt: "", durationNs: 0, storedAt: 0, bytes: 0),
                      formats: [.json: Array(id.utf8)])
        }
        try importer.store(run("a"))
        try importer.store(run("b"))
        #expect(throws: StoreError.self) { try importer.store(run("a")) }
        try importer.store(run("c"))
        #expect(throws: StoreError.self) { try importer.store(run("d")) } // three wait: the limit
        #expect(throws: StoreError.self) { try importer.flush(timeout: .milliseconds(50)) }
        #expect(importer.waitingRun(id: "b")?.blobs[.json] == TraceCompression.compress(Array("b".utf8)))
        #expect(importer.waitingCount == 3)
        refusing.withLock { $0 = false }
        try importer.flush(timeout: .seconds(10))
        #expect(imported.withLock { $0 } == ["a", "b", "c"])
        #expect(importer.waitingCount == 0 && importer.waitingRun(id: "b") == nil)
        try importer.store(run("d"))
        importer.stop()
        // By bytes as well: one run alone is always taken, a second past the bytes is not.
        let small = JournalImporter(journal: try StoreJournal(directory: directory + "/bytes"), window: .seconds(3600),
                                    maxWaitingBytes: 10) { _ in }
        try small.store(run("big-enough-alone"))
        #expect(throws: StoreError.self) { try small.store(run("x")) }
        small.abandon()
        #expect(imported.withLock { $0 } == ["a", "b", "c", "d"])
        #expect(throws: StoreError.self) { try importer.store(run("e")) }
    }
}
