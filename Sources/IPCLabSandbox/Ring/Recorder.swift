import CIPCLab
import Glibc
import IPCLabCore

/// Records into the ring this process is bound to (`ipclab_recorder_bind`).
/// A thin Swift face over the C functions, which are async-signal-safe. Calls are named by
/// their table (`Call`); the ring keeps the call's key.
enum Recorder {
    static let none = UInt32.max

    /// Claims a record for a call that is starting; complete it with ``end(_:result:errno:payload:)``.
    static func begin(_ call: Call, step: Int?, args: [Int64] = []) -> UInt32 {
        begin(key: call.key, step: step, args: args)
    }

    /// A record under a name of the step's own (a bench loop's failed call, a sandbox probe).
    static func begin(key: String, step: Int?, args: [Int64] = []) -> UInt32 {
        args.withUnsafeBufferPointer { a in
            ipclab_begin(UInt16(IPCLAB_REC_EVENT.rawValue), key, Int32(step ?? -1), a.baseAddress, Int32(a.count))
        }
    }

    static func end(_ index: UInt32, result: Int, errno: Int32, payload: UnsafeRawBufferPointer? = nil) {
        ipclab_end(index, Int64(result), errno, payload?.baseAddress, payload?.count ?? 0)
    }

    /// Records a call that cannot block, after it returned.
    @discardableResult
    static func instant(_ call: Call, step: Int?, args: [Int64] = [],
                        result: Int, errno: Int32 = 0, payload: UnsafeRawBufferPointer? = nil) -> UInt32 {
        record(IPCLAB_REC_EVENT, call.key, step: step, args: args, result: result, errno: errno, payload: payload)
    }

    /// Records an instantaneous record of any kind (start, reap, object, set-up…).
    @discardableResult
    static func record(_ kind: ipclab_record_kind, _ key: String, step: Int?, args: [Int64] = [],
                       result: Int, errno: Int32 = 0, payload: UnsafeRawBufferPointer? = nil) -> UInt32 {
        args.withUnsafeBufferPointer { a in
            ipclab_record_now(UInt16(kind.rawValue), key, Int32(step ?? -1), a.baseAddress, Int32(a.count),
                              Int64(result), errno, payload?.baseAddress, payload?.count ?? 0)
        }
    }

    /// What a recorded call returned, the errno it left (0 unless it failed), and its record.
    struct Outcome {
        var result: Int
        var errno: Int32
        var slot: UInt32
    }

    /// Makes a call and records it around itself, in the spirit of NIO's `syscall`: begun before
    /// `body`, ended after it with the result and, when `failed`, the errno it left, read here (the
    /// one place participants read errno after a call). `payload` is the buffer the call moved
    /// bytes through: the record keeps as many as `moved(result)` (the result, by default).
    /// `started` runs once the record is begun (a snapshot as a wait begins); `amend` may add to
    /// the record's arguments what the call returned (a status, a port).
    @discardableResult
    static func call(_ call: Call, step: Int?, args: [Int64] = [], payload: UnsafeRawBufferPointer? = nil,
                     moved: (Int) -> Int = { $0 }, failed: (Int) -> Bool = { $0 < 0 }, started: (UInt32) -> Void = { _ in },
                     amend: (UnsafeMutablePointer<ipclab_record>) -> Void = { _ in }, _ body: () -> Int) -> Outcome {
        let slot = begin(call, step: step, args: args)
        started(slot)
        let r = body()
        let err = failed(r) ? Glibc.errno : 0
        if slot != none, let record = ipclab_ring_record(ringBase, slot) { amend(record) }
        end(slot, result: r, errno: err, payload: payload.map { shown($0, moved(r)) })
        return Outcome(result: r, errno: err, slot: slot)
    }

    /// Makes a call that cannot block and records it once it returned, with the errno it left when
    /// `failed` (read here). `args` are taken after the call, so they may hold what it returned;
    /// `record` may leave a result unrecorded (then the slot is ``none``).
    @discardableResult
    static func returned(_ call: Call, step: Int?, args: @autoclosure () -> [Int64] = [], payload: UnsafeRawBufferPointer? = nil,
                         moved: (Int) -> Int = { $0 }, failed: (Int) -> Bool = { $0 < 0 }, record: (Int) -> Bool = { _ in true },
                         _ body: () -> Int) -> Outcome {
        let r = body()
        let err = failed(r) ? Glibc.errno : 0
        guard record(r) else { return Outcome(result: r, errno: err, slot: none) }
        let slot = instant(call, step: step, args: args(), result: r, errno: err, payload: payload.map { shown($0, moved(r)) })
        return Outcome(result: r, errno: err, slot: slot)
    }

    /// The first `count` bytes of `buffer` (none when the call failed).
    private static func shown(_ buffer: UnsafeRawBufferPointer, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[0..<min(buffer.count, max(0, count))])
    }
}
