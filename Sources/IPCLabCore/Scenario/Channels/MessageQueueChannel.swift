/// A message queue: System V (`msgget(2)` with a key) or POSIX (`mq_open(3)` with a name).
/// The first process creates it before it forks; every process may use it (a POSIX queue
/// descriptor is inherited across fork; a System V queue is found by its id, or again by
/// its key with an `open_queue` step).
public enum MessageQueueChannel: ChannelFamily {
    /// `msgget(key, 0666 | IPC_CREAT)`.
    case sysv(key: Int)
    /// `mq_open(name, O_CREAT | O_RDWR, 0600, {maxMessages, messageSize})`. When `maxMessages` is
    /// above the IPC namespace's `fs.mqueue.msg_max` (10) and `raiseMsgMax` is set, the creator
    /// first raises that limit — inside the run's own IPC namespace, never the host's.
    case posix(name: String, maxMessages: Int, messageSize: Int, raiseMsgMax: Bool)

    /// Which API: `sysv` or `posix`.
    public enum API: String, Sendable, CaseIterable {
        case sysv
        case posix
    }

    public static let kinds = ["message_queue"]

    /// Bounds of the queue fields, also stated in `openapi.yaml`.
    public enum Bounds {
        public static let key = 1...Int(Int32.max)
        public static let maxMessages = 1...1000
        public static let messageSize = 1...8192
        /// What every IPC namespace starts with (`fs.mqueue.msg_max`).
        public static let namespaceMsgMax = 10
        /// The seed's key, `(key_t)1234`.
        public static let defaultKey = 1234
        public static let defaultMaxMessages = 10
        public static let defaultMessageSize = 128
        /// The bytes of POSIX queues a run may hold (its RLIMIT_MSGQUEUE). Each run is charged to a
        /// host uid of its own, so this no longer bounds how many runs hold full queues at once.
        public static let queueBytesLimit = 204_800
    }

    public static func decode(kind: String, _ r: inout JSONObjectReader) throws(LabError) -> MessageQueueChannel {
        guard let api = try r.choice("api", API.self) else { throw r.fail("api", "is required: \"sysv\" or \"posix\"") }
        let key = try r.int("key", in: Bounds.key)
        let name = try r.string("mq_name")
        let maxMessages = try r.int("max_messages", in: Bounds.maxMessages)
        let messageSize = try r.int("message_size", in: Bounds.messageSize)
        let raise = try r.bool("raise_msg_max")
        switch api {
        case .sysv:
            for (field, given) in [("mq_name", name != nil), ("max_messages", maxMessages != nil), ("message_size", messageSize != nil),
                                   ("raise_msg_max", raise != nil)] where given {
                throw r.fail(field, "is for a POSIX queue (\"api\": \"posix\"); a System V queue has a \"key\"")
            }
            return .sysv(key: key ?? Bounds.defaultKey)
        case .posix:
            if key != nil { throw r.fail("key", "is for a System V queue; a POSIX queue has an \"mq_name\"") }
            let channelName = try r.requiredString("name")
            let n = name ?? "/\(channelName)"
            try Self.checkName(n, at: r.path.key("mq_name"))
            let max = maxMessages ?? Bounds.defaultMaxMessages
            let size = messageSize ?? Bounds.defaultMessageSize
            if Self.bytesNeeded(maxMessages: max, messageSize: size) > Bounds.queueBytesLimit {
                throw r.fail("max_messages", "\(max) messages of \(size) bytes need more kernel memory than a run may hold in queues (its RLIMIT_MSGQUEUE, \(Bounds.queueBytesLimit) bytes)")
            }
            return .posix(name: n, maxMessages: max, messageSize: size, raiseMsgMax: raise ?? true)
        }
    }

    /// About what the kernel charges a POSIX queue against `RLIMIT_MSGQUEUE` (ipc/mqueue.c):
    /// each message's text plus its `struct msg_msg` and a priority-tree node.
    static func bytesNeeded(maxMessages: Int, messageSize: Int) -> Int {
        maxMessages * (messageSize + 96)
    }

    /// A POSIX queue name: `/` then 1…64 characters of a-z, 0-9, `_` or `-`.
    static func checkName(_ n: String, at path: JSONPath) throws(LabError) {
        let rest = n.utf8.dropFirst()
        let ok = n.hasPrefix("/") && (1...64).contains(rest.count)
            && rest.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
        guard ok else {
            throw LabError(.invalidScenario, "must be \"/\" then 1…64 characters of a-z, 0-9, _ and -, not \"\(n)\"", path: path.description)
        }
    }

    public var kind: String { "message_queue" }

    public var api: API {
        switch self {
        case .sysv: .sysv
        case .posix: .posix
        }
    }

    public var fields: [String: JSONValue] {
        switch self {
        case .sysv(let key):
            ["api": "sysv", "key": .integer(Int64(key))]
        case let .posix(name, max, size, raise):
            ["api": "posix", "mq_name": .string(name), "max_messages": .integer(Int64(max)), "message_size": .integer(Int64(size)),
             "raise_msg_max": .bool(raise)]
        }
    }
}

extension Channel {
    /// A System V message queue found by `key`.
    public static func sysvQueue(_ name: String, key: Int = MessageQueueChannel.Bounds.defaultKey) -> Channel {
        Channel(name: name, spec: .messageQueue(.sysv(key: key)))
    }

    /// A POSIX message queue `/name` holding at most `maxMessages` of `messageSize` bytes.
    public static func posixQueue(_ name: String, maxMessages: Int = MessageQueueChannel.Bounds.defaultMaxMessages,
                                  messageSize: Int = MessageQueueChannel.Bounds.defaultMessageSize, raiseMsgMax: Bool = true) -> Channel {
        Channel(name: name, spec: .messageQueue(.posix(name: "/\(name)", maxMessages: maxMessages, messageSize: messageSize,
                                                       raiseMsgMax: raiseMsgMax)))
    }
}
