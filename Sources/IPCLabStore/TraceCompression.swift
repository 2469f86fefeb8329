import CIPCLab
import CLibLZ4

/// Stored traces (and grades) are compressed: a 4-byte little-endian length of the original bytes,
/// then an LZ4 frame (liblz4, Debian's liblz4-dev) with its content checksum, so that a damaged blob
/// reads as corrupt rather than as other bytes. Blobs stored by builds before hold a zlib stream
/// instead; they read as they were, through zlib (bound once, in CIPCLab's `ipclab_zlib.h`). The
/// two are told apart by the frame's magic number: a zlib stream's first byte is 0x78, an LZ4
/// frame's 0x04.
///
/// Why LZ4 and not deflate: a stored run compresses its trace before its answer leaves. A
/// `pipe.hello` run's 5.4 KB JSON takes ~10 µs to an LZ4 frame of 2.5 KB, against ~24 µs with
/// libdeflate and ~50 µs with zlib (level 1 both) to 1.7–1.8 KB, on this machine with each call after
/// an idle gap as between runs; in the server, zlib cost a stored run ~60 µs and libdeflate ~45. The
/// store is larger by half; the answer is faster by the difference (README "Stored runs").
enum TraceCompression {
    /// The largest trace this store reads back: a stored blob that claims more is corrupt.
    static let maxInflatedBytes = 256 << 20

    /// The LZ4 frame's magic number (little-endian 0x184D2204), the first bytes after the length.
    static let lz4Magic: [UInt8] = [0x04, 0x22, 0x4d, 0x18]

    /// Compresses `bytes` into a stored blob.
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count <= maxInflatedBytes, "a trace over \(maxInflatedBytes) bytes")
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        // One block for any trace the store takes whole; the frame says its size.
        preferences.frameInfo.blockSizeID = LZ4F_max4MB
        preferences.frameInfo.contentSize = UInt64(bytes.count)
        let bound = LZ4F_compressFrameBound(bytes.count, &preferences)
        return [UInt8](unsafeUninitializedCapacity: 4 + bound) { buffer, count in
            let n = UInt32(bytes.count)
            buffer[0] = UInt8(n & 0xff); buffer[1] = UInt8((n >> 8) & 0xff)
            buffer[2] = UInt8((n >> 16) & 0xff); buffer[3] = UInt8(n >> 24)
            let made = bytes.withUnsafeBytes { input in
                LZ4F_compressFrame(buffer.baseAddress! + 4, bound, input.baseAddress, input.count, &preferences)
            }
            // It fails only with a too-small buffer, which the bound rules out.
            precondition(LZ4F_isError(made) == 0, "LZ4F_compressFrame failed")
            count = 4 + made
        }
    }

    /// The bytes `compress(_:)` (or an earlier build's zlib) stored; nil when the blob is not such
    /// a blob, is damaged, or does not hold exactly the length it claims.
    static func decompress(_ blob: [UInt8]) -> [UInt8]? {
        guard blob.count >= 4 else { return nil }
        let n = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard n <= maxInflatedBytes else { return nil }
        if n == 0 { return [] }
        var out = [UInt8](repeating: 0, count: n)
        let whole: Bool
        if blob.count >= 8, blob[4..<8].elementsEqual(lz4Magic) {
            var context: OpaquePointer?
            guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0 else { return nil }
            defer { LZ4F_freeDecompressionContext(context) }
            var produced = n, consumed = blob.count - 4
            let rc = out.withUnsafeMutableBytes { o in
                blob.withUnsafeBytes { i in LZ4F_decompress(context, o.baseAddress, &produced, i.baseAddress! + 4, &consumed, nil) }
            }
            // 0: the frame ended and its checksum held; all of the blob read, exactly n bytes made.
            whole = rc == 0 && produced == n && consumed == blob.count - 4
        } else {
            let produced = out.withUnsafeMutableBufferPointer { o in
                blob.withUnsafeBufferPointer { i in ipclab_inflate(i.baseAddress! + 4, i.count - 4, o.baseAddress, o.count) }
            }
            whole = produced == n
        }
        return whole ? out : nil
    }
}
