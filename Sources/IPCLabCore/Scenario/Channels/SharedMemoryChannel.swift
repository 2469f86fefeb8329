/// A shared-memory region: `{"kind": "shared_memory", "type": "anonymous" | "sysv" | "posix", "size": 4096, …}`.
///
/// The first process creates it before forking, so every process inherits what creation made:
/// - `anonymous`: `mmap(MAP_SHARED|MAP_ANONYMOUS)` (or `MAP_PRIVATE` with `"mapping": "private"`) — every
///   process starts with it mapped, at the same address, like the course's `shared_memory.c`;
/// - `sysv`: `mknod` of the key file, `ftok(3)`, `shmget(IPC_CREAT)` — each process attaches with `attach`
///   (`shmat`) and detaches with `detach` (`shmdt`); `shm_remove` is `shmctl(IPC_RMID)`;
/// - `posix`: `shm_open(O_CREAT)` and `ftruncate` — each process maps it with `attach` (`mmap` of the
///   inherited descriptor); `shm_unlink` removes the name.
public struct SharedMemoryChannel: ChannelFamily {
    public enum Kind: String, Sendable, CaseIterable {
        case anonymous
        case sysv
        case posix
    }

    /// `MAP_SHARED` (writes are seen by every process) or `MAP_PRIVATE` (copy-on-write: each process its own copy).
    public enum Mapping: String, Sendable, CaseIterable {
        case shared
        case `private`
    }

    public var type: Kind
    /// Bytes.
    public var size: Int
    public var mapping: Mapping
    /// Bytes the first process stores at offset 0 right after creating an anonymous region, before it forks.
    public var initial: String?
    /// SysV: the file `ftok(3)` turns into a key (made with `mknod` if missing) and the project id.
    public var ftokPath: String?
    public var ftokID: Int?
    /// POSIX: the object's name (`/name`; it lives at `/dev/shm/name`).
    public var shmName: String?

    public init(type: Kind, size: Int, mapping: Mapping = .shared, initial: String? = nil,
                ftokPath: String? = nil, ftokID: Int? = nil, shmName: String? = nil) {
        self.type = type
        self.size = size
        self.mapping = mapping
        self.initial = initial
        self.ftokPath = ftokPath
        self.ftokID = ftokID
        self.shmName = shmName
    }

    public static let kinds = ["shared_memory"]

    public static func decode(kind: String, _ r: inout JSONObjectReader) throws(LabError) -> SharedMemoryChannel {
        typealias B = Scenario.Bounds
        let name = try r.requiredString("name")
        let type = try r.choice("type", Kind.self) ?? .anonymous
        let size = try r.int("size", in: B.sharedMemorySize) ?? 4096
        let mapping = try r.choice("mapping", Mapping.self)
        let initial = try r.string("init")
        let ftokPath = try r.string("ftok_path")
        let ftokID = try r.int("ftok_id", in: B.ftokID)
        let shmName = try r.string("shm_name")

        func only(_ key: String, _ present: Bool, for allowed: Kind...) throws(LabError) {
            if present && !allowed.contains(type) {
                throw r.fail(key, "is for a \(allowed.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")) region, not \"\(type.rawValue)\"")
            }
        }
        try only("mapping", mapping != nil, for: .anonymous, .posix)
        try only("init", initial != nil, for: .anonymous)
        try only("ftok_path", ftokPath != nil, for: .sysv)
        try only("ftok_id", ftokID != nil, for: .sysv)
        try only("shm_name", shmName != nil, for: .posix)
        if let initial {
            guard (1...size).contains(initial.utf8.count) else {
                throw r.fail("init", "must be 1…\(size) bytes (the region's size), not \(initial.utf8.count)")
            }
        }
        var channel = SharedMemoryChannel(type: type, size: size, mapping: mapping ?? .shared, initial: initial)
        switch type {
        case .anonymous:
            break
        case .sysv:
            let path = ftokPath ?? "/tmp/\(name)"
            try FIFOPath.check(path, at: r.path.key("ftok_path"))
            channel.ftokPath = path
            channel.ftokID = ftokID ?? Int(UInt8(ascii: "A"))
        case .posix:
            let object = shmName ?? "/\(name)"
            try IPCName.check(object, at: r.path.key("shm_name"))
            channel.shmName = object
        }
        return channel
    }

    public var kind: String { "shared_memory" }

    /// Whether `other` names the same kernel object: the same POSIX name, or the same ftok path and id
    /// (an anonymous region is its channel's alone).
    func sameObject(as other: SharedMemoryChannel) -> Bool {
        switch (type, other.type) {
        case (.posix, .posix): return shmName == other.shmName
        case (.sysv, .sysv): return ftokPath == other.ftokPath && ftokID == other.ftokID
        default: return false
        }
    }

    /// The object as the error names it: `shm_name "/x"` or `ftok_path "/tmp/k", ftok_id 65`.
    var objectName: String {
        switch type {
        case .posix: return "shm_name \"\(shmName ?? "")\""
        case .sysv: return "ftok_path \"\(ftokPath ?? "")\", ftok_id \(ftokID ?? 0)"
        case .anonymous: return "an anonymous region"
        }
    }

    public var fields: [String: JSONValue] {
        var o: [String: JSONValue] = ["type": .string(type.rawValue), "size": .integer(Int64(size))]
        if type != .sysv { o["mapping"] = .string(mapping.rawValue) }
        if let initial { o["init"] = .string(initial) }
        if let ftokPath { o["ftok_path"] = .string(ftokPath) }
        if let ftokID { o["ftok_id"] = .integer(Int64(ftokID)) }
        if let shmName { o["shm_name"] = .string(shmName) }
        return o
    }
}

/// Rules for POSIX IPC names (`shm_open(3)`, `sem_open(3)`): a slash, then 1…63 characters
/// of `A-Z a-z 0-9 . _ -`, not `.` or `..`.
enum IPCName {
    static func check(_ name: String, at path: JSONPath) throws(LabError) {
        let bytes = Array(name.utf8)
        func allowed(_ b: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_")
                || b == UInt8(ascii: "-")
        }
        guard (2...64).contains(bytes.count), bytes[0] == UInt8(ascii: "/"), bytes.dropFirst().allSatisfy(allowed),
              name != "/.", name != "/.."
        else {
            throw LabError(.invalidScenario, "must be \"/\" followed by 1…63 characters of A-Z, a-z, 0-9, \".\", \"_\" and \"-\", not \"\(name)\"",
                           path: path.description)
        }
    }
}
