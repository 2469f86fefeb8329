import CIPCLab

/// Stored traces are deflated with zlib: a 4-byte little-endian length of the original bytes,
/// then the zlib stream. Traces are JSON and text, so they shrink to a fraction of their size.
/// zlib is bound once, in CIPCLab (`ipclab_zlib.h`), for this and the page's gzip alike.
enum Deflate {
    /// The largest trace this store inflates: a stored blob that claims more is corrupt.
    static let maxInflatedBytes = 256 << 20

    /// Deflates `bytes` (zlib level 1: fast, and most of the gain on JSON).
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 4 + ipclab_deflate_bound(bytes.count))
        let n = UInt32(bytes.count)
        out[0] = UInt8(n & 0xff); out[1] = UInt8((n >> 8) & 0xff); out[2] = UInt8((n >> 16) & 0xff); out[3] = UInt8(n >> 24)
        let produced = out.withUnsafeMutableBufferPointer { o in
            bytes.withUnsafeBufferPointer { i in
                ipclab_deflate(i.baseAddress, i.count, o.baseAddress! + 4, o.count - 4, 1, 0)
            }
        }
        // It fails only without memory or with a too-small buffer; the bound rules out the second.
        precondition(produced >= 0, "zlib deflate failed")
        out.removeLast(out.count - 4 - produced)
        return out
    }

    /// Inflates what ``compress(_:)`` made; nil when the blob is not such a stream.
    static func decompress(_ blob: [UInt8]) -> [UInt8]? {
        guard blob.count >= 4 else { return nil }
        let n = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard n <= maxInflatedBytes else { return nil }
        if n == 0 { return [] }
        var out = [UInt8](repeating: 0, count: n)
        let produced = out.withUnsafeMutableBufferPointer { o in
            blob.withUnsafeBufferPointer { i in
                ipclab_inflate(i.baseAddress! + 4, i.count - 4, o.baseAddress, o.count)
            }
        }
        guard produced == n else { return nil }
        return out
    }
}
