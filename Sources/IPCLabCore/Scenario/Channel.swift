/// A named kernel object that processes communicate through.
public struct Channel: Sendable, Equatable {
    public var name: String
    /// What kind of object it is, with that kind's settings.
    public var spec: ChannelSpec

    public init(name: String, spec: ChannelSpec) {
        self.name = name
        self.spec = spec
    }

    /// The `kind` word of the language: `pipe`, `fifo`, …
    public var kind: String { spec.family.kind }

    /// The path the object lives at in the run's private file system, if it has one.
    public var path: String? { spec.family.path }

    /// A pipe named `name`.
    public static func pipe(_ name: String) -> Channel { Channel(name: name, spec: .pipe(.pipe)) }

    /// A FIFO named `name` at `path` (under `/tmp/`).
    public static func fifo(_ name: String, path: String, beforeFork: Bool = true) -> Channel {
        Channel(name: name, spec: .pipe(.fifo(path: path, beforeFork: beforeFork)))
    }

    /// The channel in the JSON language.
    public var json: JSONValue {
        var o = spec.family.fields
        o["name"] = .string(name)
        o["kind"] = .string(kind)
        return .object(o)
    }

    /// Reads one channel object strictly.
    static func decode(_ value: JSONValue, at path: JSONPath) throws(LabError) -> Channel {
        var r = try JSONObjectReader(value, at: path, code: .invalidScenario)
        let name = try r.requiredString("name")
        try Names.check(name, at: path.key("name"))
        let kind = try r.requiredString("kind")
        guard let family = ChannelSpec.families.first(where: { $0.kinds.contains(kind) }) else {
            throw r.fail("kind", "unknown kind \"\(kind)\"; one of: \(ChannelSpec.kinds.joined(separator: ", "))")
        }
        let spec = try family.decode(kind, &r)
        try r.finish()
        return Channel(name: name, spec: spec)
    }
}

/// Every kind of channel, one case per family (mechanism).
public enum ChannelSpec: Sendable, Equatable {
    /// Pipes and FIFOs.
    case pipe(PipeChannel)
    /// Shared-memory regions.
    case sharedMemory(SharedMemoryChannel)
    /// Semaphores.
    case semaphore(SemaphoreChannel)
    /// Message queues (System V and POSIX).
    case messageQueue(MessageQueueChannel)
    /// Sockets.
    case socket(SocketChannel)

    static let families: [(kinds: [String], decode: @Sendable (String, inout JSONObjectReader) throws(LabError) -> ChannelSpec)] = [
        (PipeChannel.kinds, { kind, r throws(LabError) in .pipe(try PipeChannel.decode(kind: kind, &r)) }),
        (SharedMemoryChannel.kinds, { kind, r throws(LabError) in .sharedMemory(try SharedMemoryChannel.decode(kind: kind, &r)) }),
        (SemaphoreChannel.kinds, { kind, r throws(LabError) in .semaphore(try SemaphoreChannel.decode(kind: kind, &r)) }),
        (MessageQueueChannel.kinds, { kind, r throws(LabError) in .messageQueue(try MessageQueueChannel.decode(kind: kind, &r)) }),
        (SocketChannel.kinds, { kind, r throws(LabError) in .socket(try SocketChannel.decode(kind: kind, &r)) }),
    ]

    /// Every `kind` word of the language.
    public static var kinds: [String] { families.flatMap(\.kinds) }

    public var family: any ChannelFamily {
        switch self {
        case .pipe(let c): c
        case .sharedMemory(let c): c
        case .semaphore(let c): c
        case .messageQueue(let c): c
        case .socket(let c): c
        }
    }
}

/// The channel kinds of one mechanism. Each family lives in its own file under `Channels/`.
public protocol ChannelFamily: Sendable, Equatable {
    /// The `kind` words this family reads.
    static var kinds: [String] { get }
    /// Reads the fields of a channel of this family (`name` and `kind` are already read).
    static func decode(kind: String, _ r: inout JSONObjectReader) throws(LabError) -> Self
    var kind: String { get }
    /// The path the object lives at, if any.
    var path: String? { get }
    /// Fields besides `name` and `kind`, for the scenario's JSON.
    var fields: [String: JSONValue] { get }
}

extension ChannelFamily {
    public var path: String? { nil }
}
