/// The descriptors one process holds for one channel; -1 once closed or never opened.
struct ChannelEnds {
    var read: Int32 = -1
    var write: Int32 = -1

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
}
