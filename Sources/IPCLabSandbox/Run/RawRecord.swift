import CIPCLab
import IPCLabCore

/// A record copied out of the ring, in Swift values, and checked: every field that picks a process,
/// a step, a length or a name is in range for the run's scenario, and every number the trace adds up
/// or subtracts is small enough that it cannot overflow (see ``EventRing/copyRecord(_:scenario:)``).
struct RawRecord {
    var index: Int
    var done: Bool
    var kind: ipclab_record_kind
    var process: Int
    var pid: Int32
    var step: Int?
    var tBegin: Int64
    var tEnd: Int64
    var result: Int64
    var err: Int32
    var payloadLength: Int
    var args: RecordArgs
    var call: String
    var payload: [UInt8]

    /// The largest |result| a record may carry: a byte count, a count, an address (user addresses are
    /// below 2^47) or -1. Sums of 2^16 such values stay far from overflowing 64 bits.
    static let maxResult: Int64 = 1 << 48
    /// The kinds a recorder writes.
    static let kinds: ClosedRange<UInt16> = UInt16(IPCLAB_REC_EVENT.rawValue)...UInt16(IPCLAB_REC_NOTE.rawValue)

    /// What reading one slot of the ring gave.
    enum Read {
        /// Not claimed, or claimed and not yet published: look again later.
        case unpublished
        case record(RawRecord)
        /// Published, but a field is out of range: dropped and counted, never trusted. The reason says which.
        case rejected(String)
    }

    /// Checks a record copied out of the ring; `state` is the one loaded (acquire) before the copy.
    static func checked(_ rec: ipclab_record, state: UInt32, index: Int, scenario: Scenario) -> Read {
        guard state != UInt32(IPCLAB_STATE_FREE.rawValue) else { return .unpublished }
        func reject(_ why: String) -> Read { .rejected("record \(index): \(why)") }
        guard state == UInt32(IPCLAB_STATE_BEGUN.rawValue) || state == UInt32(IPCLAB_STATE_DONE.rawValue) else {
            return reject("state \(state)")
        }
        let done = state == UInt32(IPCLAB_STATE_DONE.rawValue)
        guard kinds.contains(rec.kind) else { return reject("kind \(rec.kind)") }
        let process = Int(rec.process)
        guard process == -1 || scenario.processes.indices.contains(process) else { return reject("process \(process)") }
        // The run's init records as -1 with no step; a participant's step is one of its own, or none (-1).
        let steps = process >= 0 ? scenario.processes[process].steps.count : 0
        guard rec.step == -1 || (0..<steps).contains(Int(rec.step)) else { return reject("step \(rec.step)") }
        guard rec.pid > 0 else { return reject("pid \(rec.pid)") }
        guard (0...RingHeader.maxTime).contains(rec.t_begin) else { return reject("t_begin \(rec.t_begin)") }
        if done {
            guard (rec.t_begin...RingHeader.maxTime).contains(rec.t_end) else { return reject("t_end \(rec.t_end)") }
            guard (-maxResult...maxResult).contains(rec.result) else { return reject("result \(rec.result)") }
            guard (0...4095).contains(rec.err) else { return reject("errno \(rec.err)") }
        }
        // The call's name: printable ASCII, NUL-terminated inside its field.
        // Made straight from the record's field (printable ASCII is valid UTF-8), with no copy between.
        let name: String? = withUnsafeBytes(of: rec.call) { buf in
            guard let end = buf.firstIndex(of: 0), end > 0 else { return nil }
            let bytes = UnsafeRawBufferPointer(rebasing: buf[..<end])
            return bytes.allSatisfy { (0x20...0x7e).contains($0) } ? String(decoding: bytes, as: UTF8.self) : nil
        }
        guard let name else { return reject("a call name that is not a NUL-terminated printable string") }
        let payloadLength = done ? Int(rec.payload_len) : 0
        return .record(RawRecord(
            index: index, done: done, kind: ipclab_record_kind(rawValue: UInt32(rec.kind)), process: process, pid: rec.pid,
            step: rec.step >= 0 ? Int(rec.step) : nil, tBegin: rec.t_begin, tEnd: done ? rec.t_end : -1,
            result: done ? rec.result : 0, err: done ? rec.err : 0, payloadLength: payloadLength,
            args: RecordArgs(rec.args),
            call: name,
            payload: withUnsafeBytes(of: rec.payload) { Array($0.prefix(min(payloadLength, Int(IPCLAB_PAYLOAD_MAX)))) }))
    }
}

/// A record's arguments, held inline: the trace copies a record for every event of a run, and an array
/// each was one more allocation per event (for a 262,144-event run, some 29 MB at the server's peak).
struct RecordArgs {
    private let values: (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64)

    init(_ values: (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64)) { self.values = values }

    /// As many as a record holds (`IPCLAB_ARGS_MAX`).
    var count: Int { 8 }

    subscript(i: Int) -> Int64 {
        precondition((0..<count).contains(i), "argument \(i) of a record")
        return withUnsafeBytes(of: values) { $0.load(fromByteOffset: i * MemoryLayout<Int64>.stride, as: Int64.self) }
    }
}

extension EventRing {
    /// Copies record `index` out of the ring once and checks it against the scenario (``RawRecord/checked(_:state:index:scenario:)``).
    /// `index` must be below the ring's capacity (``count`` never exceeds it).
    func copyRecord(_ index: Int, scenario: Scenario) -> RawRecord.Read {
        let shared = record(index)
        // `state` first, with acquire order: a record read as published has every field final before it.
        let state = ipclab_record_state(shared)
        return RawRecord.checked(shared.pointee, state: state, index: index, scenario: scenario)
    }
}
