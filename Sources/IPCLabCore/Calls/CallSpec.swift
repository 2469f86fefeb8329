/// What the lab knows about one call it records: the names and types of the arguments a trace
/// shows for it, whether it can block, whether it moves bytes and which way, and what it does.
/// One table per family (`Call+<Family>.swift`) holds these; the recorder, the describer, the
/// presets' queries and `GET /api/v1/calls` all read them.
public struct CallSpec: Sendable {
    /// The name a trace shows in `call` (`read`), which several families may share.
    public var name: String
    /// What the ring records (`sock.read`): unique across the table.
    public var key: String
    public var family: CallFamily
    /// The arguments a trace shows, in order.
    public var arguments: [CallArgument]
    /// Whether the call can block (its events then report `end_ns` and `blocked_ns`).
    public var blocks: Bool
    /// Whether it moves bytes (its events then carry a `payload`), and which way.
    public var moves: ByteDirection?
    /// What the call does, in a sentence (the man page's words where there is one).
    public var summary: String

    public init(_ name: String, key: String? = nil, family: CallFamily, _ arguments: [CallArgument], blocks: Bool = false,
                moves: ByteDirection? = nil, _ summary: String) {
        self.name = name
        self.key = key ?? name
        self.family = family
        self.arguments = arguments
        self.blocks = blocks
        self.moves = moves
        self.summary = summary
    }

    /// The argument called `name`, if the call has one.
    public func argument(_ name: ArgumentName) -> CallArgument? {
        arguments.first { $0.name == name }
    }
}

/// The families of calls, one table each.
public enum CallFamily: String, CaseIterable, Sendable {
    case pipes
    case fifos
    case sharedMemory = "shared_memory"
    case semaphores
    case messageQueues = "message_queues"
    case signals
    case sockets
    case process
    case sandbox
    case bench
}

/// Which way a call moves bytes through its channel.
public enum ByteDirection: String, Sendable {
    /// The bytes go into the channel (write, send, store, sigqueue's buffer).
    case sends
    /// The bytes come out of it (read, recv, load).
    case receives
}

/// One argument of a call as a trace shows it.
public struct CallArgument: Sendable {
    public var name: ArgumentName
    public var type: ArgumentType
    /// Whether it is always there, sometimes null, or sometimes left out (and when).
    public var presence: Presence

    public enum Presence: Sendable, Equatable {
        case always
        /// Present, and null in the case given.
        case nullable(String)
        /// Left out except in the case given.
        case optional(String)
    }

    public init(_ name: ArgumentName, _ type: ArgumentType, _ presence: Presence = .always) {
        self.name = name
        self.type = type
        self.presence = presence
    }

    /// A descriptor, count, size, offset or id.
    public static func integer(_ name: ArgumentName, _ presence: Presence = .always) -> CallArgument { .init(name, .integer, presence) }
    /// A word or a path.
    public static func string(_ name: ArgumentName, _ presence: Presence = .always) -> CallArgument { .init(name, .string, presence) }
    /// Flag names joined with `|` (`O_RDONLY|O_NONBLOCK`), or a mode in octal (`0600`).
    public static func flags(_ name: ArgumentName, _ presence: Presence = .always) -> CallArgument { .init(name, .flags, presence) }
    /// An address in hex (`0x7f3a5c000000`).
    public static func address(_ name: ArgumentName, _ presence: Presence = .always) -> CallArgument { .init(name, .address, presence) }
    /// A signal's name (`SIGUSR1`).
    public static func signal(_ name: ArgumentName, _ presence: Presence = .always) -> CallArgument { .init(name, .signal, presence) }
    /// The scenario channel the call used.
    public static let channel = CallArgument(.channel, .channel)
}

/// The JSON shape of an argument's value.
public enum ArgumentType: String, Sendable {
    case integer
    case string
    case boolean
    /// A string: flag names joined with `|`, or an octal mode.
    case flags
    /// A string: `0x…`, or `0x…-0x…` for a range.
    case address
    /// A string: a signal's name.
    case signal
    /// An array of signal names.
    case signals
    /// A string: a channel of the scenario.
    case channel
    /// A string: a process of the scenario.
    case process
    case array
    case object
}
