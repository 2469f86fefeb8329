/// One system call made by a participant, or a signal delivered to one.
public struct TraceEvent: Sendable {
    /// 1-based position in the trace; events are ordered by the time the call started.
    public var seq: Int
    /// Nanoseconds from run start to the call.
    public var tNs: Int64
    /// Nanoseconds from run start to the return; nil if the call never returned.
    public var endNs: Int64?
    public var process: String
    public var pid: Int32
    /// Index of the scenario step that made the call, if any (in the process's steps as they run, loops expanded).
    public var step: Int?
    /// Where that step is written and in which iteration, when its process was written with loops (`step_path`, `iteration`).
    public var origin: StepOrigin?
    public var call: String
    /// The call's arguments, in order, with scenario names (`channel`, `end`) added.
    public var args: [(String, JSONValue)]
    /// What the kernel returned; nil if the call never returned.
    public var result: Int64?
    /// The errno name when the call failed.
    public var errno: String?
    /// Whether this call can block (then `end_ns` and `blocked_ns` are reported).
    public var canBlock: Bool
    public var payload: Payload?

    public init(seq: Int, tNs: Int64, endNs: Int64?, process: String, pid: Int32, step: Int?, call: String,
                args: [(String, JSONValue)], result: Int64?, errno: String?, canBlock: Bool, payload: Payload?) {
        self.seq = seq
        self.tNs = tNs
        self.endNs = endNs
        self.process = process
        self.pid = pid
        self.step = step
        self.call = call
        self.args = args
        self.result = result
        self.errno = errno
        self.canBlock = canBlock
        self.payload = payload
    }

    /// Whether the call returned before the run ended.
    public var returned: Bool { endNs != nil }

    /// How long the call took, for calls that can block.
    public var blockedNs: Int64? {
        guard canBlock, let endNs else { return nil }
        return endNs - tNs
    }

    /// An argument by name (the names are the call tables', `Call+<Family>.swift`).
    public func arg(_ name: ArgumentName) -> JSONValue? {
        args.first { $0.0 == name.rawValue }?.1
    }

    /// Whether this event is a call of `call`'s name (which families may share: `read`).
    public func `is`(_ call: Call) -> Bool { self.call == call.name }

    /// The `channel` argument, when the call used a scenario channel.
    public var channel: String? { string(.channel) }
}

/// The first bytes a call moved, as text and hex.
public struct Payload: Sendable, Equatable {
    /// How many bytes the call moved.
    public var bytes: Int
    /// The first of them (at most ``previewLimit``).
    public var preview: [UInt8]

    public static let previewLimit = 64

    public init(bytes: Int, preview: [UInt8]) {
        self.bytes = bytes
        self.preview = preview
    }

    public var truncated: Bool { preview.count < bytes }

    /// The preview as text; bytes that are not printable ASCII appear as `\u{…}` escapes in JSON.
    public var text: String { String(decoding: preview, as: UTF8.self) }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(preview.count * 2)
        for b in preview { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
