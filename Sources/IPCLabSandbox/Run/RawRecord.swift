import CIPCLab

/// A record copied out of the ring, in Swift values.
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
    var args: [Int64]
    var call: String
    var payload: [UInt8]

    init?(_ r: UnsafeMutablePointer<ipclab_record>, index: Int) {
        let state = ipclab_record_state(r)
        guard state != UInt32(IPCLAB_STATE_FREE.rawValue) else { return nil }
        let rec = r.pointee
        self.index = index
        done = state == UInt32(IPCLAB_STATE_DONE.rawValue)
        kind = ipclab_record_kind(rawValue: UInt32(rec.kind))
        process = Int(rec.process)
        pid = rec.pid
        step = rec.step >= 0 ? Int(rec.step) : nil
        tBegin = rec.t_begin
        tEnd = rec.t_end
        result = rec.result
        err = rec.err
        payloadLength = Int(rec.payload_len)
        args = withUnsafeBytes(of: rec.args) { Array($0.bindMemory(to: Int64.self)) }
        call = withUnsafeBytes(of: rec.call) { buf in
            let bytes = buf.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        let shown = min(payloadLength, Int(IPCLAB_PAYLOAD_MAX))
        payload = withUnsafeBytes(of: rec.payload) { Array($0.prefix(shown)) }
    }
}
