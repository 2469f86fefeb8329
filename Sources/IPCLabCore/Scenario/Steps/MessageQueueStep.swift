/// Steps on message queues (besides `send`, which ``SendStep`` shares with sockets).
public enum MessageQueueStep: StepFamily {
    /// `msgrcv(2)` or `mq_receive(3)` into a buffer of `size` bytes (default: 8192 for System V,
    /// the queue's `message_size` for POSIX), `repeat` times — or, with `until`, until a message
    /// whose text starts with it arrives (the course's receiver stops at "end").
    /// System V: `type` is `msgtyp` (0 the first message, > 0 the first of that type, < 0 the lowest
    /// type ≤ |type|); `truncate` adds `MSG_NOERROR`. `nonblocking`: `IPC_NOWAIT` / `O_NONBLOCK`.
    case receive(channel: String, size: Int?, type: Int?, repeat: Int, until: String?, nonblocking: Bool, truncate: Bool)
    /// `mq_notify(3)` with `SIGEV_SIGNAL`: `signal` arrives when a message enters the empty queue.
    case notify(channel: String, signal: Signal)
    /// `msgget(key, 0666 | IPC_CREAT)` or `mq_open(name, O_RDWR)` again in this process: unrelated
    /// processes meet a queue by its key or name.
    case openQueue(channel: String)
    /// `msgctl(IPC_RMID)` or `mq_unlink(3)`.
    case removeQueue(channel: String)

    public static let ops = ["receive", "mq_notify", "open_queue", "remove_queue"]

    /// Bounds of the queue steps, also stated in `openapi.yaml`.
    public enum Bounds {
        public static let size = 1...65_536
        public static let msgtyp = Int(Int32.min)...Int(Int32.max)
        public static let until = 1...64
        /// The buffer a System V receive offers unless told (MSGMAX).
        public static let defaultSysVSize = 8192
        /// Receives `until` makes at most.
        public static let untilLimit = 4096
    }

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> MessageQueueStep {
        let channel = try r.requiredString("channel")
        switch op {
        case "receive":
            let count = try r.int("repeat", in: Scenario.Bounds.repeats)
            let until = try r.string("until")
            if let until {
                guard Bounds.until.contains(until.utf8.count) else { throw r.fail("until", "must be 1…\(Bounds.until.upperBound) bytes") }
                if count != nil { throw r.fail("until", "give \"repeat\" or \"until\", not both") }
            }
            return .receive(channel: channel, size: try r.int("size", in: Bounds.size), type: try r.int("type", in: Bounds.msgtyp),
                            repeat: count ?? 1, until: until, nonblocking: try r.bool("nonblocking") ?? false,
                            truncate: try r.bool("truncate") ?? false)
        case "mq_notify":
            let signal = try r.signal("signal") ?? .sigusr1
            guard !signal.isUncatchable else { throw r.fail("signal", "SIGKILL and SIGSTOP cannot be caught") }
            return .notify(channel: channel, signal: signal)
        case "open_queue":
            return .openQueue(channel: channel)
        default:
            return .removeQueue(channel: channel)
        }
    }

    public var op: String {
        switch self {
        case .receive: "receive"
        case .notify: "mq_notify"
        case .openQueue: "open_queue"
        case .removeQueue: "remove_queue"
        }
    }

    public var channel: String? {
        switch self {
        case .receive(let c, _, _, _, _, _, _), .notify(let c, _), .openQueue(let c), .removeQueue(let c): c
        }
    }

    public var fields: [String: JSONValue] {
        var o: [String: JSONValue] = ["channel": .string(channel ?? "")]
        switch self {
        case let .receive(_, size, type, count, until, nonblocking, truncate):
            if let size { o["size"] = .integer(Int64(size)) }
            if let type { o["type"] = .integer(Int64(type)) }
            if let until { o["until"] = .string(until) } else if count != 1 { o["repeat"] = .integer(Int64(count)) }
            if nonblocking { o["nonblocking"] = true }
            if truncate { o["truncate"] = true }
        case .notify(_, let signal):
            o["signal"] = .string(signal.description)
        case .openQueue, .removeQueue:
            break
        }
        return o
    }

    public func check(in scenario: Scenario, process: Int, at path: JSONPath) throws(LabError) {
        guard let name = channel, let c = scenario.channel(named: name) else { return }
        guard case .messageQueue(let q) = c.spec else {
            throw LabError(.invalidScenario, "\(op) works on a message_queue; \"\(name)\" is a \(c.kind)"
                           + (c.spec.isSocket && op == "receive" ? " (use recv)" : ""),
                           path: path.key("channel").description)
        }
        func bad(_ field: String, _ why: String) -> LabError { LabError(.invalidScenario, why, path: path.key(field).description) }
        switch self {
        case let .receive(_, _, type, _, _, _, truncate):
            if q.api == .posix, type != nil { throw bad("type", "\"type\" (msgtyp) is for a System V queue; a POSIX queue hands out the highest priority first") }
            if q.api == .posix, truncate { throw bad("truncate", "\"truncate\" (MSG_NOERROR) is for a System V queue") }
        case .notify:
            if q.api == .sysv { throw bad("channel", "mq_notify is for a POSIX queue; \"\(name)\" is a System V queue") }
        case .openQueue, .removeQueue:
            break
        }
    }
}

extension ChannelSpec {
    /// Whether the channel is a socket.
    var isSocket: Bool {
        if case .socket = self { return true }
        return false
    }
}

extension Step {
    public static func receive(channel: String, size: Int? = nil, type: Int? = nil, repeat count: Int = 1, until: String? = nil,
                               nonblocking: Bool = false, truncate: Bool = false) -> Step {
        .messageQueue(.receive(channel: channel, size: size, type: type, repeat: count, until: until,
                               nonblocking: nonblocking, truncate: truncate))
    }
    public static func mqNotify(channel: String, signal: Signal = .sigusr1) -> Step { .messageQueue(.notify(channel: channel, signal: signal)) }
    public static func openQueue(channel: String) -> Step { .messageQueue(.openQueue(channel: channel)) }
    public static func removeQueue(channel: String) -> Step { .messageQueue(.removeQueue(channel: channel)) }
}
