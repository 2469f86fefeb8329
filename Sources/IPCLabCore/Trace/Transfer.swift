/// Something that went from one call to another: bytes through a channel, a signal from its
/// sender to the handler that received it, a semaphore's wake-up, a descriptor. Computed once,
/// here, from the kernel's results alone (`Trace+Transfers.swift`), and emitted in the trace as
/// `transfers`; the page and the Chrome export draw them, they do not pair calls themselves.
public struct Transfer: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Bytes: a write and the read that got them (pipes, FIFOs, sockets, queues), or a store to
        /// shared memory and a load that found those bytes.
        case data
        /// A signal a process sent (`kill`, `sigqueue`) and the delivery it caused.
        case signal
        /// A `sem_post` and the blocked `sem_wait` it woke.
        case wake
        /// A descriptor passed in SCM_RIGHTS (`sendmsg`) and the `recvmsg` that received it.
        case descriptor
    }

    public var kind: Kind
    /// `seq` of the call that sent.
    public var from: Int
    /// `seq` of the call (or delivery) that received.
    public var to: Int
    /// The channel; for a signal, the signal's name.
    public var channel: String
    /// How many of the sender's bytes this receiver got (`data` only).
    public var bytes: Int64?
    /// For a standard signal: the `seq`s of other sends of it that merged into this one pending signal.
    public var merged: [Int]

    public init(kind: Kind, from: Int, to: Int, channel: String, bytes: Int64? = nil, merged: [Int] = []) {
        self.kind = kind
        self.from = from
        self.to = to
        self.channel = channel
        self.bytes = bytes
        self.merged = merged
    }
}
