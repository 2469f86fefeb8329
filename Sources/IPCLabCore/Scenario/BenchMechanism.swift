/// What a measurement phase moves bytes or messages through.
public enum BenchMechanism: String, Sendable, CaseIterable {
    case pipe
    case unixStream = "unix_stream"
    case tcp
    case posixMQ = "posix_mq"
    case shmRing = "shm_ring"
    case signal
    case semaphore

    /// The mechanisms `bench_send`/`bench_receive` can move bulk bytes through.
    public static let throughput: [BenchMechanism] = [.pipe, .unixStream, .tcp, .posixMQ, .shmRing]

    /// The mechanisms `bench_ping`/`bench_pong` can measure.
    public static let latency: [BenchMechanism] = [.pipe, .unixStream, .tcp, .posixMQ, .shmRing, .signal, .semaphore]

    /// The number the C loops use (`enum ipclab_bench_mechanism`).
    public var number: Int32 { Int32(Self.allCases.firstIndex(of: self)!) }

    /// How many times each byte is copied between the sender's buffer and where the receiver
    /// reads it, in these loops: a pipe, socket or queue copies it into the kernel (`write`,
    /// `send`, `mq_send`) and out again (`read`, `recv`, `mq_receive`); the ring is written once by
    /// the sender (`memcpy` into the shared mapping) and read in place by the receiver.
    public var copiesPerByte: Int {
        switch self {
        case .shmRing: 1
        case .signal, .semaphore: 0
        default: 2
        }
    }

    /// What the `channel` field must name: a description of the channel kind, or nil when the
    /// mechanism uses no channel of its own (the ring and the semaphore pair live in the sync region).
    var channelKind: String? {
        switch self {
        case .pipe: "a pipe channel (kind pipe)"
        case .unixStream: "a socketpair channel of type stream"
        case .tcp: "a tcp channel"
        case .posixMQ: "a POSIX message queue channel (kind message_queue, api posix)"
        case .shmRing, .signal, .semaphore: nil
        }
    }

    /// Whether `spec` is the channel kind this mechanism moves data through.
    func accepts(_ spec: ChannelSpec) -> Bool {
        switch (self, spec) {
        case (.pipe, .pipe(.pipe)): true
        case (.unixStream, .socket(.socketpair(.stream))): true
        case (.tcp, .socket(.tcp)): true
        case (.posixMQ, .messageQueue(.posix)): true
        default: false
        }
    }

    /// One-way mechanisms need a second channel for the way back in a latency phase.
    var needsReply: Bool { self == .pipe || self == .posixMQ }

    /// The mechanisms a measurement's `mechanisms` parameter names, in its order; all of `all` when
    /// it names none.
    static func chosen(_ params: Parameters, from all: [BenchMechanism]) -> [BenchMechanism] {
        let words = params.strings("mechanisms")
        return words.isEmpty ? all : words.compactMap(BenchMechanism.init(rawValue:))
    }
}
