/// Queries and parameters the message-queue presets share.
extension Trace {
    /// The sends into queue `channel` (`msgsnd`, `mq_send`), in the order they started.
    public func queueSends(on channel: String, by process: String? = nil) -> [TraceEvent] {
        events.filter { ($0.is(.messageQueues(.msgsnd)) || $0.is(.messageQueues(.mqSend))) && $0.channel == channel && (process == nil || $0.process == process) }
    }

    /// The receives from queue `channel` (`msgrcv`, `mq_receive`), in the order they started.
    public func queueReceives(on channel: String, by process: String? = nil) -> [TraceEvent] {
        events.filter { ($0.is(.messageQueues(.msgrcv)) || $0.is(.messageQueues(.mqReceive))) && $0.channel == channel && (process == nil || $0.process == process) }
    }

    /// The depth snapshots of a queue, in order.
    public func queueDepths(of channel: String) -> [ObjectSnapshot] {
        objects.filter { $0.kind == "message_queue" && $0.object == channel }
    }
}

extension TraceEvent {
    /// The text a message call moved (the preview, whole for messages up to 64 bytes).
    public var messageText: String {
        payload.map { String(decoding: $0.preview, as: UTF8.self) } ?? ""
    }

    /// A message's System V type (sent, or received) or POSIX priority.
    public var messageTag: Int64? {
        int(.mtype) ?? int(.msgPrio)
    }

    /// Whether the call moved the same message as `other`: same length, same preview.
    public func sameMessage(as other: TraceEvent) -> Bool {
        guard let a = payload, let b = other.payload else { return false }
        return a.bytes == b.bytes && a.preview == b.preview
    }
}

/// The `messages` parameter of the queue presets: words separated by spaces, as the course's
/// sender typed them one per line.
enum Words {
    static func split(_ text: String?) -> [String] {
        (text ?? "").split(separator: " ").map(String.init)
    }

    /// The parameter, with its bounds.
    static func parameter(_ description: String, default value: String) -> Parameter {
        Parameter("messages", .string, description + " Words separated by spaces (1…64 words of 1…128 bytes).",
                  default: .string(value), count: 1...4096)
    }

    /// Checks the words; `path` is the parameter's.
    static func check(_ words: [String], at path: String = "params.messages") throws(LabError) {
        guard (1...64).contains(words.count) else {
            throw LabError(.invalidParameter, "must have 1…64 words separated by spaces, not \(words.count)", path: path)
        }
        if let long = words.first(where: { $0.utf8.count > 128 }) {
            throw LabError(.invalidParameter, "\"\(long.prefix(20))…\" is longer than 128 bytes (the receiver's buffer)", path: path)
        }
    }

    /// Per-message tags from the integer-array parameter `parameter`: one for every message, or one each.
    static func tags(_ values: [Int], count: Int, parameter: String) throws(LabError) -> [Int] {
        if values.count == 1 { return Array(repeating: values[0], count: count) }
        guard values.count == count else {
            throw LabError(.invalidParameter, "give one value for every message, or one for each of the \(count) messages, not \(values.count)",
                           path: "params.\(parameter)")
        }
        return values
    }
}

extension Array where Element == TraceEvent {
    /// The texts the calls moved, quoted and joined: `"this", "is"`.
    var quotedTexts: String { map { "\"\($0.messageText)\"" }.joined(separator: ", ") }
}
