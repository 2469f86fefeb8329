import CIPCLab
import Glibc
import IPCLabCore

/// What a program run's processes wrote (stdout, stderr) and what the compiler said, carried from
/// the run's init to the server in the ring, after the plan's bytes: a sequence of entries
/// `{int32 id, uint8 stream, uint8 truncated, uint16 0, uint32 length, bytes, padding to 4}`,
/// ended by a zero stream or the end of the area. `id` is a pid for stdout and stderr, the
/// program's index for the compiler's messages.
///
/// The init writes it once every process of the run is gone, but the area is in the ring's mapping,
/// which the run could write while it ran: the server copies the area once and checks every entry
/// against the copy's bounds (``read(_:)``); nothing in it is trusted but as the program's own output.
enum ProgramOutput {
    enum Stream: UInt8 {
        case stdout = 1
        case stderr = 2
        /// The compiler's standard error (its JSON diagnostics).
        case compiler = 3
    }

    struct Entry: Equatable {
        var id: Int32
        var stream: Stream
        var truncated: Bool
        var bytes: [UInt8]
    }

    static let headerBytes = 12
    /// The most the compiler's messages may take per program (gcc stops at 50 errors anyway).
    static let compilerLimit = 16_384

    /// The room the server leaves after the plan: every stream of a run's usual processes, plus the
    /// compiler's messages. Pages of the ring are touched only when written.
    static func capacity(programs: Int) -> Int {
        16 * 2 * (TraceProcess.outputLimit + headerBytes) + programs * (compilerLimit + headerBytes) + 4
    }

    /// Appends entries into the area at `base` (`capacity` bytes), as many as fit (the last may be
    /// cut, and is then marked truncated); ends the list. For the run's init.
    static func write(_ entries: [Entry], to base: UnsafeMutableRawPointer, capacity: Int) {
        var at = 0
        for e in entries {
            let room = capacity - at - headerBytes - 4
            guard room > 0 else { break }
            let n = min(e.bytes.count, room)
            let p = base + at
            p.storeBytes(of: e.id, as: Int32.self)
            p.storeBytes(of: e.stream.rawValue, toByteOffset: 4, as: UInt8.self)
            p.storeBytes(of: e.truncated || n < e.bytes.count ? 1 : 0, toByteOffset: 5, as: UInt8.self)
            p.storeBytes(of: 0, toByteOffset: 6, as: UInt16.self)
            p.storeBytes(of: UInt32(n), toByteOffset: 8, as: UInt32.self)
            e.bytes.withUnsafeBytes { (p + headerBytes).copyMemory(from: $0.baseAddress!, byteCount: n) }
            at += headerBytes + (n + 3) & ~3
        }
        if at + 4 <= capacity { (base + at).storeBytes(of: 0, toByteOffset: 0, as: UInt32.self) }
        if at + headerBytes <= capacity { (base + at).storeBytes(of: 0, toByteOffset: 4, as: UInt8.self) }
    }

    /// The entries of an area copied out of the ring: each checked against the copy's bounds; the
    /// list ends at the first entry that is not whole or names no stream.
    static func read(_ area: [UInt8]) -> [Entry] {
        var entries: [Entry] = []
        var at = 0
        area.withUnsafeBytes { buf in
            while at + headerBytes <= buf.count {
                let id = buf.loadUnaligned(fromByteOffset: at, as: Int32.self)
                guard let stream = Stream(rawValue: buf[at + 4]) else { break }
                let length = Int(buf.loadUnaligned(fromByteOffset: at + 8, as: UInt32.self))
                guard length <= buf.count - at - headerBytes else { break }
                entries.append(Entry(id: id, stream: stream, truncated: buf[at + 5] != 0,
                                     bytes: Array(buf[(at + headerBytes)..<(at + headerBytes + length)])))
                at += headerBytes + (length + 3) & ~3
            }
        }
        return entries
    }
}

extension EventRing {
    /// A copy of the area after the plan (a program run's output), read once.
    func programOutputArea() -> [UInt8] {
        let start = planOffset + Int(planLength)
        let count = max(0, planCapacity - Int(planLength))
        guard count > 0, start + count <= size else { return [] }
        return Array(UnsafeRawBufferPointer(start: base + start, count: count))
    }
}
