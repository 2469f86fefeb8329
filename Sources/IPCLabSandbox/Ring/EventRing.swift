import CIPCLab
import Glibc

/// The shared-memory event ring of one run (layout in `ipclab.h`): a `memfd`
/// mapped by the server, inherited by every process of the run, read back after it.
final class EventRing {
    /// Records per run. A record is 200 bytes; pages are only touched when used.
    static let defaultCapacity: UInt32 = 16_384

    let fd: Int32
    let base: UnsafeMutableRawPointer
    let size: Int

    /// Creates a ring with room for a plan of `planCapacity` bytes.
    init(capacity: UInt32 = EventRing.defaultCapacity, planCapacity: Int) throws {
        let fd = ipclab_memfd("ipclab-run")
        guard fd >= 0 else { throw SystemCallError("memfd_create") }
        let size = ipclab_ring_size(capacity, UInt32(planCapacity))
        guard ftruncate(fd, off_t(size)) == 0 else {
            let e = SystemCallError("ftruncate")
            close(fd)
            throw e
        }
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            let e = SystemCallError("mmap")
            close(fd)
            throw e
        }
        ipclab_ring_init(base, capacity, UInt32(planCapacity))
        self.fd = fd
        self.base = base
        self.size = size
    }

    /// Maps an existing ring from an inherited descriptor (inside a run).
    init(mapping fd: Int32) throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError("fstat") }
        let size = Int(st.st_size)
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw SystemCallError("mmap")
        }
        guard base.assumingMemoryBound(to: ipclab_ring_header.self).pointee.magic == IPCLAB_RING_MAGIC else {
            throw SystemCallError("ring magic", EINVAL)
        }
        self.fd = fd
        self.base = base
        self.size = size
    }

    deinit {
        munmap(base, size)
        close(fd)
    }

    var header: UnsafeMutablePointer<ipclab_ring_header> {
        base.assumingMemoryBound(to: ipclab_ring_header.self)
    }

    /// Stores the plan (the scenario's JSON) after the records.
    func writePlan(_ bytes: [UInt8]) {
        precondition(UInt64(bytes.count) <= header.pointee.plan_capacity)
        bytes.withUnsafeBytes { src in
            (base + Int(header.pointee.plan_offset)).copyMemory(from: src.baseAddress!, byteCount: src.count)
        }
        header.pointee.plan_length = UInt32(bytes.count)
    }

    /// The plan bytes.
    var plan: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + Int(header.pointee.plan_offset), count: Int(header.pointee.plan_length))
    }

    /// Records claimed so far.
    var count: Int { Int(ipclab_ring_count(base)) }

    func record(_ i: Int) -> UnsafeMutablePointer<ipclab_record> {
        ipclab_ring_record(base, UInt32(i))
    }
}
