import Foundation

/// The runs ``RunStore`` has journaled and not yet imported into its database, and the thread that
/// imports them (``StoreJournal``): a run is stored once its record is in the journal; the thread
/// imports whatever came in during the last `window` (or at once when a reader needs the database
/// whole, ``flush(timeout:)``) in one transaction, through `importBatch`, and then empties the file
/// the batch was in. A batch that fails (a full disk) stays journaled and waiting, and is tried again
/// every `retryAfter`; meanwhile runs keep being stored up to `maxWaiting` of them.
final class JournalImporter: @unchecked Sendable {
    /// Imports runs into the database in one transaction; throws when none of them was.
    typealias ImportBatch = ([StoredRun]) throws -> Void

    private let journal: StoreJournal
    private let importBatch: ImportBatch
    private let window: Duration
    private let retryAfter: Duration
    private let maxWaiting: Int
    private let maxWaitingBytes: Int

    // Guarded by `condition`.
    private let condition = NSCondition()
    /// The runs waiting, in the order they were stored; `byID` indexes them.
    private var waiting: [(sequence: UInt64, run: StoredRun)] = []
    private var byID: [String: StoredRun] = [:]
    /// The stored bytes of the runs waiting (what they hold in memory).
    private var waitingBytes = 0
    /// The sequence number the next stored run gets, and the first not yet imported.
    private var nextSequence: UInt64 = 0
    private var importedBelow: UInt64 = 0
    /// A reader waits for the database to hold every run: the window is skipped.
    private var urgent = false
    private var stopping = false
    private var abandoned = false
    private var running = false
    private let stopped = DispatchSemaphore(value: 0)

    /// Starts the import thread. `window`: how long a batch collects runs; `retryAfter`: the pause
    /// after a failed import; `maxWaiting` and `maxWaitingBytes`: the most runs, and stored bytes, that
    /// may wait (then ``store(_:)`` refuses; one run alone is always taken).
    init(journal: StoreJournal, window: Duration = .milliseconds(20), retryAfter: Duration = .milliseconds(200),
         maxWaiting: Int = 20_000, maxWaitingBytes: Int = 256 << 20, importBatch: @escaping ImportBatch) {
        self.journal = journal
        self.importBatch = importBatch
        self.window = window
        self.retryAfter = retryAfter
        self.maxWaiting = maxWaiting
        self.maxWaitingBytes = maxWaitingBytes
        running = true
        let thread = Thread { [self] in run() }
        thread.name = "ipclab-store-import"
        thread.start()
    }

    /// How many runs wait to be imported (`GET /metrics`).
    var waitingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting.count
    }

    /// Journals `run`: stored when this returns. Throws when the journal could not take it (the disk),
    /// when a run with its id waits already, after ``stop()``, or when `maxWaiting` runs wait (the
    /// database is failing): the run is then not stored.
    func store(_ run: StoredRun) throws {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw StoreError.closed }
        guard byID[run.summary.id] == nil else { throw StoreError.duplicate(run.summary.id) }
        // The stored bytes, as the store counts them (``StoredRun`` sums its blobs into the summary).
        let bytes = run.summary.bytes
        guard waiting.isEmpty || (waiting.count < maxWaiting && waitingBytes + bytes <= maxWaitingBytes) else {
            throw StoreError.behind(waiting.count)
        }
        try journal.append(run, sequence: nextSequence)
        waiting.append((nextSequence, run))
        waitingBytes += bytes
        byID[run.summary.id] = run
        nextSequence += 1
        // The thread sleeps until a run comes; one wake per batch, not per run.
        if waiting.count == 1 { condition.broadcast() }
    }

    /// The run `id` if it waits to be imported.
    func waitingRun(id: String) -> StoredRun? {
        condition.lock()
        defer { condition.unlock() }
        return byID[id]
    }

    /// Calls `body` with the runs waiting, oldest first, while none is stored or leaves the journal
    /// (a run being imported stays among them until its batch is committed).
    func withWaiting<T>(_ body: ([StoredRun]) throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body(waiting.map(\.run))
    }

    /// Returns once every run stored before the call is in the database; throws when that took
    /// longer than `timeout` (the database is failing).
    func flush(timeout: Duration = .seconds(5)) throws {
        condition.lock()
        defer { condition.unlock() }
        let target = nextSequence
        guard importedBelow < target else { return }
        urgent = true
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout.seconds)
        while importedBelow < target {
            guard running, !abandoned, condition.wait(until: deadline) || importedBelow >= target else {
                throw StoreError.behind(waiting.count)
            }
        }
    }

    /// Imports what waits, stops the thread and empties the journal; later stores throw.
    func stop() {
        condition.lock()
        let wasRunning = running && !stopping
        stopping = true
        condition.broadcast()
        condition.unlock()
        if wasRunning { stopped.wait() }
    }

    /// Stops the thread without importing (tests: as if the server were killed); the journal keeps
    /// every run.
    func abandon() {
        condition.lock()
        let wasRunning = running && !stopping
        abandoned = true
        stopping = true
        condition.broadcast()
        condition.unlock()
        if wasRunning { stopped.wait() }
    }

    private func run() {
        // The batch being imported, and the journal file it is in; kept across a failed attempt.
        var batch: [(sequence: UInt64, run: StoredRun)] = []
        var sealed: Int?
        condition.lock()
        while true {
            while waiting.isEmpty && !stopping { condition.wait() }
            if abandoned || (stopping && waiting.isEmpty) { break }
            if sealed == nil {
                // Collect for the window, unless a reader or stop() is waiting.
                let until = Date(timeIntervalSinceNow: window.seconds)
                while !urgent && !stopping && condition.wait(until: until) {}
                if abandoned { break }
                batch = waiting
                sealed = journal.seal()
            }
            condition.unlock()
            var failed = false
            do { try importBatch(batch.map(\.run)) } catch { failed = true }
            condition.lock()
            if failed {
                if stopping { break } // left journaled: the next start imports it
                _ = condition.wait(until: Date(timeIntervalSinceNow: retryAfter.seconds))
                continue
            }
            if let sealed { journal.clear(sealed) }
            sealed = nil
            waiting.removeFirst(batch.count)
            for (_, run) in batch {
                byID[run.summary.id] = nil
                waitingBytes -= run.summary.bytes
            }
            if let last = batch.last { importedBelow = last.sequence + 1 }
            batch = []
            if waiting.isEmpty { urgent = false }
            condition.broadcast()
        }
        running = false
        // The files close (and the data directory's lock goes) with the thread: a journal left with
        // runs in it (abandon(), or an import that failed at stop) is the next start's to import.
        journal.release()
        condition.broadcast()
        condition.unlock()
        stopped.signal()
    }
}
