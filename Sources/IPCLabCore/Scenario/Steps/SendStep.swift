/// `send`: one message into a message queue (`msgsnd(2)`, `mq_send(3)`) or through a socket
/// (`send(2)`, `sendto(2)`, or `write(2)`). It is its own family because both mechanisms
/// have it: a queue's message carries a type (System V) or a priority (POSIX).
public struct SendStep: StepFamily {
    /// The queue or socket channel.
    public var channelName: String
    public var data: PipeStep.Data
    /// How many times the message is sent (stopping at an error).
    public var count: Int
    /// The System V message type (`mtype`, > 0); nil means 1. System V queues only.
    public var type: Int?
    /// The POSIX message priority; nil means 0. POSIX queues only.
    public var priority: Int?
    /// `IPC_NOWAIT` (System V), `O_NONBLOCK` (POSIX, with `mq_setattr`) or `MSG_DONTWAIT` (sockets):
    /// fail with `EAGAIN` instead of waiting for room.
    public var nonblocking: Bool
    /// On a socket: `send(2)` (default; `sendto(2)` to the channel's address when the socket is not
    /// connected) or `write(2)`, as the course's client code does. Sockets only.
    public var call: SocketStep.SendCall?

    public init(channel: String, data: PipeStep.Data, count: Int = 1, type: Int? = nil, priority: Int? = nil,
                nonblocking: Bool = false, call: SocketStep.SendCall? = nil) {
        self.channelName = channel
        self.data = data
        self.count = count
        self.type = type
        self.priority = priority
        self.nonblocking = nonblocking
        self.call = call
    }

    /// Bounds of the message fields, also stated in `openapi.yaml`.
    public enum Bounds {
        /// `mtype` must be positive and fits a 32-bit long here.
        public static let type = 1...Int(Int32.max)
        /// `MQ_PRIO_MAX` is 32768 on Linux.
        public static let priority = 0...32767
    }

    public static let ops = ["send"]

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> SendStep {
        let channel = try r.requiredString("channel")
        let data = try PipeStep.Data.decode(&r)
        return SendStep(
            channel: channel, data: data,
            count: try r.int("repeat", in: Scenario.Bounds.repeats) ?? 1,
            type: try r.int("type", in: Bounds.type),
            priority: try r.int("priority", in: Bounds.priority),
            nonblocking: try r.bool("nonblocking") ?? false,
            call: try r.choice("call", SocketStep.SendCall.self))
    }

    public var op: String { "send" }

    public var channel: String? { channelName }

    public var fields: [String: JSONValue] {
        var o = data.fields
        o["channel"] = .string(channelName)
        if count != 1 { o["repeat"] = .integer(Int64(count)) }
        if let type { o["type"] = .integer(Int64(type)) }
        if let priority { o["priority"] = .integer(Int64(priority)) }
        if nonblocking { o["nonblocking"] = true }
        if let call { o["call"] = .string(call.rawValue) }
        return o
    }

    public func check(in scenario: Scenario, process: Int, at path: JSONPath) throws(LabError) {
        let channel = channelName
        guard let c = scenario.channel(named: channel) else { return }
        func bad(_ field: String, _ why: String) -> LabError {
            LabError(.invalidScenario, why, path: path.key(field).description)
        }
        switch c.spec {
        case .messageQueue(let q):
            if call != nil { throw bad("call", "\"call\" chooses the socket call; \"\(channel)\" is a message queue") }
            if q.api == .sysv, priority != nil {
                throw bad("priority", "a System V message has a \"type\", not a \"priority\" (that is for a POSIX queue)")
            }
            if q.api == .posix, type != nil {
                throw bad("type", "a POSIX message has a \"priority\", not a \"type\" (that is for a System V queue)")
            }
        case .socket:
            if type != nil { throw bad("type", "\"type\" is for a System V message queue; \"\(channel)\" is a socket") }
            if priority != nil { throw bad("priority", "\"priority\" is for a POSIX message queue; \"\(channel)\" is a socket") }
        default:
            throw bad("channel", "send works on a message queue or a socket; \"\(channel)\" is a \(c.kind) (use write)")
        }
    }
}

extension PipeStep.Data {
    /// Reads `data` (a string) or `size` (a byte count), exactly one of them.
    static func decode(_ r: inout JSONObjectReader) throws(LabError) -> PipeStep.Data {
        typealias B = Scenario.Bounds
        let text = try r.string("data")
        let size = try r.int("size", in: B.bytes)
        switch (text, size) {
        case let (t?, nil):
            guard B.textBytes.contains(t.utf8.count) else {
                throw r.fail("data", "must be 1…\(B.textBytes.upperBound) bytes of UTF-8")
            }
            return .text(t)
        case let (nil, n?):
            return .size(n)
        case (nil, nil):
            throw r.fail("data", "needs \"data\" (a string) or \"size\" (a byte count)")
        default:
            throw r.fail("size", "give either \"data\" or \"size\", not both")
        }
    }

    /// `data` or `size`, for the scenario's JSON.
    var fields: [String: JSONValue] {
        switch self {
        case .text(let t): ["data": .string(t)]
        case .size(let n): ["size": .integer(Int64(n))]
        }
    }
}

extension Step {
    /// `send` on a message queue or a socket.
    public static func send(channel: String, data: PipeStep.Data, repeat count: Int = 1, type: Int? = nil,
                            priority: Int? = nil, nonblocking: Bool = false, call: SocketStep.SendCall? = nil) -> Step {
        .send(SendStep(channel: channel, data: data, count: count, type: type, priority: priority,
                       nonblocking: nonblocking, call: call))
    }
}
