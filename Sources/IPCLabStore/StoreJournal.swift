import CIPCLab
import Foundation

/// The SQLite store's journal: two append-only files in the data directory, `runs.journal.0` and
/// `runs.journal.1`, where a stored run is written whole before its answer leaves, so that
/// ``RunStore/store(_:)`` returns after one `pwrite` instead of a SQLite transaction (~65 µs of B-tree
/// and WAL work for a `pipe.hello` run, on its answer's path). ``RunStore``'s importer moves the runs
/// into the database in batches, one transaction each, and then empties the file they were in.
///
/// Appends go to the active file; the importer seals it (``seal()``: appends switch to the other
/// file, which its last import left empty), imports what the sealed file holds, then empties it
/// (``clear(_:)``). So neither file grows past what one batch window brings.
///
/// Durability is the database's own: a record is in the kernel's page cache when ``append(_:sequence:)``
/// returns, as a commit is in SQLite's WAL (`synchronous=NORMAL`): a killed server loses nothing, and
/// the next start imports every whole record (``replay()``); a record cut short (a crash inside the
/// write, a power cut) fails its CRC-32 and ends that file's replay.
///
/// Not thread-safe: ``RunStore`` calls it under its lock.
///
/// A record: `IPJ1`, the payload's length (UInt32 LE), the payload's CRC-32, then the payload:
/// the run's sequence number (UInt64 LE), its summary (four strings as a UInt16 LE length and UTF-8,
/// the experiment's length 0xFFFF for none; `duration_ns`, `stored_at` as an IEEE double and `bytes`,
/// 8 bytes each) and its stored blobs (a count, then each as a format byte, a UInt32 LE length and
/// the blob as ``StoredRun`` holds it, compressed).
final class StoreJournal {
    /// The files' names in the data directory, by index.
    static let fileNames = ["runs.journal.0", "runs.journal.1"]
    static let magic: [UInt8] = Array("IPJ1".utf8)
    static let headerBytes = 12
    /// A payload larger than this is damage, not a run (a stored trace is at most 256 MiB inflated,
    /// and the store compresses it).
    static let maxPayloadBytes = 512 << 20

    private var files: [Int32]
    /// Where the next record goes in each file.
    private var ends: [Int]
    /// The file appends go to.
    private(set) var active = 0

    /// Opens (creating them when missing) the two files in `directory`, which must exist.
    init(directory: String) throws {
        var opened: [Int32] = []
        for name in Self.fileNames {
            let path = (directory as NSString).appendingPathComponent(name)
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                let code = errno
                for f in opened { close(f) }
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                                                              NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)])
            }
            opened.append(fd)
        }
        // One server per data directory: a second one would append to the same files (and its
        // import empty them) without the first knowing. The lock goes with the process.
        guard flock(opened[0], LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            for f in opened { close(f) }
            throw code == EWOULDBLOCK ? StoreError.inUse(directory) : POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        files = opened
        ends = opened.map { fd in Int(lseek(fd, 0, SEEK_END)) }
        // After a replay both are cleared; until then appends go after what is there.
        active = ends[0] <= ends[1] ? 0 : 1
    }

    deinit { release() }

    /// Closes the files, which gives up the directory's lock; later calls fail (EBADF).
    func release() {
        for fd in files where fd >= 0 { close(fd) }
        files = files.map { _ in -1 }
    }

    /// Writes `run` at the end of the active file. On a failed or short write the file is cut back
    /// to what it held, and the error thrown: the run is then not stored.
    func append(_ run: StoredRun, sequence: UInt64) throws {
        let record = Self.record(run, sequence: sequence)
        let fd = files[active]
        let at = ends[active]
        let written = record.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(at)) }
        guard written == record.count else {
            let code = written < 0 ? errno : ENOSPC
            _ = ftruncate(fd, off_t(at))
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        ends[active] = at + record.count
    }

    /// Switches appends to the other file and answers the one that was active, whose records the
    /// caller now imports.
    func seal() -> Int {
        let sealed = active
        active = 1 - active
        return sealed
    }

    /// Empties file `index` (its runs are in the database now).
    func clear(_ index: Int) {
        if ftruncate(files[index], 0) == 0 { ends[index] = 0 }
    }

    /// Every whole record of both files, in the order they were stored (by sequence number). A file's
    /// records end at the first that is cut short or damaged.
    func replay() -> [StoredRun] {
        var found: [(UInt64, StoredRun)] = []
        for fd in files {
            let size = Int(lseek(fd, 0, SEEK_END))
            guard size > 0 else { continue }
            var bytes = [UInt8](repeating: 0, count: size)
            let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
            guard read > 0 else { continue }
            found += Self.records(in: bytes[0..<read])
        }
        return found.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The records at the start of `bytes`, up to the first that is not whole and intact.
    static func records(in bytes: ArraySlice<UInt8>) -> [(UInt64, StoredRun)] {
        var out: [(UInt64, StoredRun)] = []
        var at = bytes.startIndex
        while bytes.endIndex - at >= headerBytes, Array(bytes[at..<at + 4]) == magic {
            var reader = Reader(bytes: bytes, at: at + 4)
            guard let length = reader.u32().map(Int.init), let crc = reader.u32(),
                  length <= maxPayloadBytes, bytes.endIndex - reader.at >= length else { break }
            let payload = bytes[reader.at..<reader.at + length]
            let sum = payload.withUnsafeBufferPointer { ipclab_crc32($0.baseAddress, $0.count) }
            guard sum == crc, let parsed = Self.run(from: payload) else { break }
            out.append(parsed)
            at = reader.at + length
        }
        return out
    }

    // MARK: - Encoding

    static func record(_ run: StoredRun, sequence: UInt64) -> [UInt8] {
        var payload: [UInt8] = []
        payload.reserveCapacity(96 + run.blobs.values.reduce(0) { $0 + $1.count + 5 })
        put(sequence, into: &payload)
        let s = run.summary
        put(s.id, into: &payload)
        if let experiment = s.experiment { put(experiment, into: &payload) } else { put(UInt16.max, into: &payload) }
        put(s.outcome, into: &payload)
        put(s.startedAt, into: &payload)
        put(UInt64(bitPattern: Int64(s.durationNs)), into: &payload)
        put(s.storedAt.bitPattern, into: &payload)
        put(UInt64(bitPattern: Int64(s.bytes)), into: &payload)
        let formats = StoredRun.Format.allCases.filter { run.blobs[$0] != nil }
        payload.append(UInt8(formats.count))
        for format in formats {
            let blob = run.blobs[format]!
            payload.append(UInt8(StoredRun.Format.allCases.firstIndex(of: format)!))
            put(UInt32(blob.count), into: &payload)
            payload += blob
        }
        var record = magic
        record.reserveCapacity(headerBytes + payload.count)
        put(UInt32(payload.count), into: &record)
        put(payload.withUnsafeBufferPointer { ipclab_crc32($0.baseAddress, $0.count) }, into: &record)
        record += payload
        return record
    }

    private static func put<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private static func put(_ text: String, into bytes: inout [UInt8]) {
        let utf8 = Array(text.utf8.prefix(Int(UInt16.max) - 1))
        put(UInt16(utf8.count), into: &bytes)
        bytes += utf8
    }

    private static func run(from payload: ArraySlice<UInt8>) -> (UInt64, StoredRun)? {
        var r = Reader(bytes: payload, at: payload.startIndex)
        guard let sequence = r.u64(), let id = r.string(), let experimentLength = r.u16() else { return nil }
        var experiment: String?
        if experimentLength != UInt16.max {
            guard let text = r.text(Int(experimentLength)) else { return nil }
            experiment = text
        }
        guard let outcome = r.string(), let startedAt = r.string(), let duration = r.u64(), let storedAt = r.u64(),
              let size = r.u64(), let count = r.u8() else { return nil }
        var blobs: [StoredRun.Format: [UInt8]] = [:]
        for _ in 0..<count {
            guard let index = r.u8(), Int(index) < StoredRun.Format.allCases.count, let length = r.u32(),
                  let blob = r.take(Int(length)) else { return nil }
            blobs[StoredRun.Format.allCases[Int(index)]] = blob
        }
        guard blobs[.json] != nil, r.at == payload.endIndex else { return nil }
        let summary = RunSummary(id: id, experiment: experiment, outcome: outcome, startedAt: startedAt,
                                 durationNs: Int(Int64(bitPattern: duration)), storedAt: Double(bitPattern: storedAt),
                                 bytes: Int(Int64(bitPattern: size)))
        return (sequence, StoredRun(summary: summary, blobs: blobs))
    }

    /// Little-endian fields from a slice, each nil past its end.
    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var at: Int

        mutating func take(_ n: Int) -> [UInt8]? {
            guard n >= 0, bytes.endIndex - at >= n else { return nil }
            defer { at += n }
            return Array(bytes[at..<at + n])
        }

        mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard let raw = take(MemoryLayout<T>.size) else { return nil }
            return raw.reversed().reduce(T.zero) { $0 << 8 | T($1) }
        }

        mutating func u8() -> UInt8? { integer(UInt8.self) }
        mutating func u16() -> UInt16? { integer(UInt16.self) }
        mutating func u32() -> UInt32? { integer(UInt32.self) }
        mutating func u64() -> UInt64? { integer(UInt64.self) }

        mutating func text(_ n: Int) -> String? {
            guard let raw = take(n) else { return nil }
            return String(validating: raw, as: UTF8.self)
        }

        mutating func string() -> String? {
            guard let n = u16() else { return nil }
            return text(Int(n))
        }
    }
}
