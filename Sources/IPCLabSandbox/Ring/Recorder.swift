import CIPCLab

/// Records into the ring this process is bound to (`ipclab_recorder_bind`).
/// A thin Swift face over the C functions, which are async-signal-safe.
enum Recorder {
    static let none = UInt32.max

    /// Claims a record for a call that is starting; complete it with ``end(_:result:errno:payload:)``.
    static func begin(_ call: String, step: Int?, args: [Int64] = []) -> UInt32 {
        args.withUnsafeBufferPointer { a in
            ipclab_begin(UInt16(IPCLAB_REC_EVENT.rawValue), call, Int32(step ?? -1), a.baseAddress, Int32(a.count))
        }
    }

    static func end(_ index: UInt32, result: Int, errno: Int32, payload: UnsafeRawBufferPointer? = nil) {
        ipclab_end(index, Int64(result), errno, payload?.baseAddress, payload?.count ?? 0)
    }

    /// Records a call that cannot block, after it returned.
    @discardableResult
    static func instant(_ call: String, step: Int?, args: [Int64] = [],
                        result: Int, errno: Int32 = 0, payload: UnsafeRawBufferPointer? = nil) -> UInt32 {
        record(IPCLAB_REC_EVENT, call, step: step, args: args, result: result, errno: errno, payload: payload)
    }

    /// Records an instantaneous record of any kind (start, reap, object, set-up…).
    @discardableResult
    static func record(_ kind: ipclab_record_kind, _ call: String, step: Int?, args: [Int64] = [],
                       result: Int, errno: Int32 = 0, payload: UnsafeRawBufferPointer? = nil) -> UInt32 {
        args.withUnsafeBufferPointer { a in
            ipclab_record_now(UInt16(kind.rawValue), call, Int32(step ?? -1), a.baseAddress, Int32(a.count),
                              Int64(result), errno, payload?.baseAddress, payload?.count ?? 0)
        }
    }
}
