/// A semaphore: `{"kind": "semaphore", "type": "posix_named" | "posix_unnamed" | "sysv", "value": 1, …}`.
///
/// The first process creates it before forking, with its initial `value`:
/// - `posix_named`: `sem_open(name, O_CREAT, 0600, value)`; the mapping it makes is inherited;
/// - `posix_unnamed`: an `mmap(MAP_SHARED|MAP_ANONYMOUS)` page and `sem_init(sem, 1, value)` in it
///   (a process-shared semaphore must live in memory the processes share);
/// - `sysv`: `mknod` of the key file, `ftok(3)`, `semget(key, 1, IPC_CREAT)`, `semctl(SETVAL)`.
public struct SemaphoreChannel: ChannelFamily {
    public enum Kind: String, Sendable, CaseIterable {
        case posixNamed = "posix_named"
        case posixUnnamed = "posix_unnamed"
        case sysv
    }

    public var type: Kind
    /// The initial value.
    public var value: Int
    /// POSIX named: the name (`/name`; it lives at `/dev/shm/sem.name`).
    public var semName: String?
    /// SysV: the key file and project id for `ftok(3)`.
    public var ftokPath: String?
    public var ftokID: Int?

    public init(type: Kind, value: Int, semName: String? = nil, ftokPath: String? = nil, ftokID: Int? = nil) {
        self.type = type
        self.value = value
        self.semName = semName
        self.ftokPath = ftokPath
        self.ftokID = ftokID
    }

    /// A semaphore with the defaults the language gives a channel named `name`: `/NAME` for a named
    /// POSIX one, `/tmp/NAME` and 'S' for a System V one.
    public static func defaults(name: String, type: Kind, value: Int) -> SemaphoreChannel {
        SemaphoreChannel(type: type, value: value, semName: type == .posixNamed ? "/\(name)" : nil,
                         ftokPath: type == .sysv ? "/tmp/\(name)" : nil, ftokID: type == .sysv ? Int(UInt8(ascii: "S")) : nil)
    }

    public static let kinds = ["semaphore"]

    public static func decode(kind: String, _ r: inout JSONObjectReader) throws(LabError) -> SemaphoreChannel {
        typealias B = Scenario.Bounds
        let name = try r.requiredString("name")
        let type = try r.choice("type", Kind.self) ?? .posixNamed
        let value = try r.int("value", in: B.semaphoreValue) ?? 1
        let semName = try r.string("sem_name")
        let ftokPath = try r.string("ftok_path")
        let ftokID = try r.int("ftok_id", in: B.ftokID)
        if semName != nil && type != .posixNamed { throw r.fail("sem_name", "is for a \"posix_named\" semaphore, not \"\(type.rawValue)\"") }
        if ftokPath != nil && type != .sysv { throw r.fail("ftok_path", "is for a \"sysv\" semaphore, not \"\(type.rawValue)\"") }
        if ftokID != nil && type != .sysv { throw r.fail("ftok_id", "is for a \"sysv\" semaphore, not \"\(type.rawValue)\"") }
        var channel = SemaphoreChannel.defaults(name: name, type: type, value: value)
        switch type {
        case .posixNamed:
            channel.semName = semName ?? channel.semName
            try IPCName.check(channel.semName ?? "", at: r.path.key("sem_name"))
        case .posixUnnamed:
            break
        case .sysv:
            channel.ftokPath = ftokPath ?? channel.ftokPath
            channel.ftokID = ftokID ?? channel.ftokID
            try FIFOPath.check(channel.ftokPath ?? "", at: r.path.key("ftok_path"))
        }
        return channel
    }

    public var kind: String { "semaphore" }

    public var fields: [String: JSONValue] {
        var o: [String: JSONValue] = ["type": .string(type.rawValue), "value": .integer(Int64(value))]
        if let semName { o["sem_name"] = .string(semName) }
        if let ftokPath { o["ftok_path"] = .string(ftokPath) }
        if let ftokID { o["ftok_id"] = .integer(Int64(ftokID)) }
        return o
    }
}

extension Channel {
    /// A semaphore named `name` of `type` with its initial `value`, and the language's defaults for the rest.
    public static func semaphore(_ name: String, type: SemaphoreChannel.Kind, value: Int) -> Channel {
        Channel(name: name, spec: .semaphore(.defaults(name: name, type: type, value: value)))
    }
}
