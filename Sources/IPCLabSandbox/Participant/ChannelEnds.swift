import IPCLabCore

/// What one process holds for one channel. Pipes, FIFOs and sockets use the two
/// descriptors; other mechanisms keep their descriptor, id or mapping in the other slots.
/// -1 (or nil) means closed, or never opened.
struct ChannelEnds {
    var read: Int32 = -1
    var write: Int32 = -1
    /// A mechanism's single descriptor or id (a message queue, a SysV id, a socket…).
    var handle: Int64 = -1
    /// A mapping (shared memory) or an object in one (a semaphore).
    var address: UnsafeMutableRawPointer? = nil
    var size: Int = 0

    subscript(end: PipeEndKey) -> Int32 {
        get { end == .read ? read : write }
        set { if end == .read { read = newValue } else { write = newValue } }
    }

    /// Any open end, for queries such as `FIONREAD` that either end answers.
    var anyOpen: Int32? {
        if read >= 0 { return read }
        if write >= 0 { return write }
        return nil
    }
}

/// `PipeEnd` of the core, re-spelled here so the sandbox's hot loop needs no string compares.
enum PipeEndKey {
    case read
    case write

    init(_ end: PipeEnd) { self = end == .read ? .read : .write }
}
