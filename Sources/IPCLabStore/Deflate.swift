import CIPCLab
import CLibDeflate
import Synchronization

/// Stored traces are deflated: a 4-byte little-endian length of the original bytes, then a zlib
/// stream. Traces are JSON and text, so they shrink to a fraction of their size. The stream is made
/// by libdeflate (level 1): the zlib format, so that zlib (bound once, in CIPCLab's `ipclab_zlib.h`,
/// for this and the page's gzip alike) inflates it, and blobs stored by earlier builds, which zlib
/// deflated, read the same. libdeflate takes about half zlib's time on a trace of a few KB (a
/// `pipe.hello` run's 5.4 KB: ~14 against ~24 µs, and 1.69 against 1.81 KB), and a stored run pays
/// it before its answer leaves.
enum Deflate {
    /// The largest trace this store inflates: a stored blob that claims more is corrupt.
    static let maxInflatedBytes = 256 << 20

    /// Deflates `bytes` (level 1: fast, and most of the gain on JSON).
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count <= Int(UInt32.max), "a trace over 4 GiB")
        let compressor = Compressors.take()
        defer { Compressors.give(compressor) }
        let bound = libdeflate_zlib_compress_bound(compressor, bytes.count)
        let out = [UInt8](unsafeUninitializedCapacity: 4 + bound) { buffer, count in
            let n = UInt32(bytes.count)
            buffer[0] = UInt8(n & 0xff); buffer[1] = UInt8((n >> 8) & 0xff)
            buffer[2] = UInt8((n >> 16) & 0xff); buffer[3] = UInt8(n >> 24)
            count = 4 + bytes.withUnsafeBytes { i in
                libdeflate_zlib_compress(compressor, i.baseAddress, i.count, buffer.baseAddress! + 4, bound)
            }
        }
        // 0 only when the output does not fit; the bound rules that out.
        precondition(out.count > 4, "libdeflate: the output did not fit its bound")
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

    /// libdeflate's compressors (one is used by one thread at a time), kept between traces: a new
    /// one is ~0.5 MB allocated and touched again. At most ``kept`` stay idle (the threads that
    /// store at once); the rest are freed.
    private enum Compressors {
        /// A compressor that no thread is using: moved between threads whole, never shared.
        struct Idle: @unchecked Sendable {
            let pointer: OpaquePointer
        }

        static let kept = 8
        static let idle = Mutex<[Idle]>([])

        static func take() -> OpaquePointer {
            if let compressor = idle.withLock({ $0.popLast() }) { return compressor.pointer }
            // Nil only without memory.
            guard let compressor = libdeflate_alloc_compressor(1) else { fatalError("libdeflate: out of memory") }
            return compressor
        }

        static func give(_ compressor: OpaquePointer) {
            let returned = Idle(pointer: compressor)
            let keep = idle.withLock { list in
                guard list.count < kept else { return false }
                list.append(returned)
                return true
            }
            if !keep { libdeflate_free_compressor(compressor) }
        }
    }
}
