import CIPCLab
import Glibc

/// The shared-memory event ring of one run (layout in `ipclab.h`): a `memfd`
/// mapped by the server, inherited by every process of the run, read back after it.
///
/// Every process of the run can write anywhere in this mapping, header included. So what bounds
/// the server's reads — the capacity, the records' offset, the plan's place — is kept here, outside
/// the mapping, as the server chose it; the header is only read through ``readHeader()`` (one copy,
/// checked against these) and records only through ``copyRecord(_:scenario:)`` (one copy each, checked).
final class EventRing {
    /// Records per run. A record is 200 bytes; pages are only touched when used.
    static let defaultCapacity: UInt32 = 16_384

    let fd: Int32
    let base: UnsafeMutableRawPointer
    let size: Int
    /// Records the ring holds, as the server made it.
    let capacity: UInt32
    /// Where the plan starts, and how many bytes it may take, as the server made it.
    let planOffset: Int
    let planCapacity: Int
    /// What the server wrote into the header besides the layout: checked again when the header is read.
    private(set) var planLength: UInt32 = 0
    private(set) var limits = ipclab_run_limits()
    /// Records `0..<released` were freed (``releaseRecords(below:)``).
    private(set) var released = 0

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
        // Its size sealed: whoever holds the descriptor (a run's init, for a moment) cannot shrink it
        // under the server's mapping, whose reads past the new end would be SIGBUS.
        guard ipclab_memfd_seal_size(fd) == 0 else {
            let e = SystemCallError("fcntl(F_ADD_SEALS)")
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
        self.capacity = capacity
        self.planOffset = ipclab_ring_records_offset() + Int(capacity) * MemoryLayout<ipclab_record>.stride
        self.planCapacity = planCapacity
    }

    /// A new ring of the same shape as `other`, holding a copy of its bytes, and expecting what the server
    /// wrote into `other` (for tests that corrupt a real run's ring without touching it).
    convenience init(copyOf other: EventRing) throws {
        try self.init(capacity: other.capacity, planCapacity: other.planCapacity)
        base.copyMemory(from: other.base, byteCount: size)
        planLength = other.planLength
        limits = other.limits
    }

    deinit {
        munmap(base, size)
        close(fd)
    }

    /// The shared header, for writing what the server sets before the run. Never read through this
    /// after the run started: ``readHeader()`` copies and checks it.
    var header: UnsafeMutablePointer<ipclab_ring_header> {
        base.assumingMemoryBound(to: ipclab_ring_header.self)
    }

    /// Stores the plan (the scenario's JSON) after the records.
    func writePlan(_ bytes: [UInt8]) {
        precondition(bytes.count <= planCapacity)
        bytes.withUnsafeBytes { src in
            (base + planOffset).copyMemory(from: src.baseAddress!, byteCount: src.count)
        }
        planLength = UInt32(bytes.count)
        header.pointee.plan_length = planLength
    }

    /// Stores the run's limits in the header, for the spawner and the run's init.
    func writeLimits(_ limits: ipclab_run_limits) {
        self.limits = limits
        header.pointee.limits = limits
    }

    /// Records claimed so far: the header's `next`, at most ``capacity`` (a larger `next` is reported
    /// by ``readHeader()``).
    var count: Int { Int(ipclab_ring_claimed(base, capacity)) }

    /// Frees the pages that hold records `0..<end` (whole pages: the header's and the one `end` is in
    /// stay), for the last read of a run that is over: the largest run's records are 50 MB the server
    /// would otherwise hold mapped while it builds the trace from its copies. The memory goes back to
    /// the system (a hole punched in the memfd); a freed record reads as never claimed (all zero).
    func releaseRecords(below end: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let offset = ipclab_ring_records_offset(), stride = MemoryLayout<ipclab_record>.stride
        let end = min(end, Int(capacity))
        // From the first page after the header, or from the page the last release stopped in.
        let from = max((offset + page - 1) / page * page, (offset + released * stride) / page * page)
        guard end > released else { return }
        _ = ipclab_release_pages(fd, base, from, offset + end * stride)
        released = end
    }

    /// Makes the ring as new for another run of the same shape (``RingPool``): every byte of the file
    /// zeroed (``ipclab_memfd_wipe``: in place where it holds a few pages, else a hole punched), then the
    /// header written again.
    /// Only for a ring no process of its run can still reach. False when it could not be (the file was
    /// resized by its run, or the kernel refused): the ring must then not be used again.
    func wipe() -> Bool {
        guard ipclab_memfd_wipe(fd, base, size) == 0 else { return false }
        ipclab_ring_init(base, capacity, UInt32(planCapacity))
        planLength = 0
        limits = ipclab_run_limits()
        released = 0
        return true
    }

    /// Record `i` in the mapping, for the recorder of this process (tests). `i` must be below ``capacity``.
    func record(_ i: Int) -> UnsafeMutablePointer<ipclab_record> {
        precondition(i >= 0 && i < Int(capacity), "record \(i) of a ring of \(capacity)")
        return ipclab_ring_record(base, UInt32(i))
    }
}
