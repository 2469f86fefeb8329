/// Steps on pipes and FIFOs.
public enum PipeStep: StepFamily {
    /// What a write sends.
    public enum Data: Sendable, Equatable {
        /// These UTF-8 bytes (JSON `"data"`).
        case text(String)
        /// This many bytes of a repeating `a`…`z` pattern (JSON `"size"`).
        case size(Int)

        /// The bytes to write.
        public var bytes: [UInt8] {
            switch self {
            case .text(let s): return Array(s.utf8)
            case .size(let n): return (0..<n).map { UInt8(ascii: "a") + UInt8($0 % 26) }
            }
        }

        public var count: Int {
            switch self {
            case .text(let s): s.utf8.count
            case .size(let n): n
            }
        }
    }

    /// `write(2)` the data into the channel's write end, `repeat` times (stopping at an error).
    case write(channel: String, data: Data, repeat: Int)
    /// `read(2)` up to `size` bytes from the channel's read end, `repeat` times (stopping at an error).
    case read(channel: String, size: Int, repeat: Int)
    /// `read(2)` chunks of `size` until it returns 0 (end of file) or fails.
    case readAll(channel: String, size: Int)
    /// `write(2)` chunks of `size` without waiting (`O_NONBLOCK`, set with `fcntl` if the end was
    /// blocking) until the kernel says the pipe is full with `EAGAIN`; then, on a blocking end, `O_NONBLOCK`
    /// is cleared and one more write waits for the reader.
    case fill(channel: String, size: Int)
    /// `close(2)` one end.
    case close(channel: String, end: PipeEnd)
    /// `fstat(2)` of one end, with its `fcntl(F_GETFL)`: the inode it reaches (`st_dev`, `st_ino`),
    /// the file type, and the access mode of the open file behind the descriptor.
    case fstat(channel: String, end: PipeEnd)
    /// `mkfifo(3)` a FIFO channel's path now, in this process (for a FIFO made `before_fork: false`;
    /// on one that exists already it fails with `EEXIST`).
    case mkfifo(channel: String)
    /// `open(2)` a FIFO for reading or writing: blocks until the other side opens, unless
    /// `nonblocking` (`O_NONBLOCK`: a reader's open returns at once, a writer's fails with `ENXIO`).
    case open(channel: String, end: PipeEnd, nonblocking: Bool)
    /// `fcntl(F_SETFL)` to set or clear `O_NONBLOCK` on one end.
    case setNonblocking(channel: String, end: PipeEnd, enabled: Bool)
    /// `fcntl(F_SETPIPE_SZ)`.
    case setPipeSize(channel: String, size: Int)
    /// `fcntl(F_GETPIPE_SZ)`.
    case getPipeSize(channel: String)
    /// `dup2(2)` one end onto descriptor `fd` (0, 1 or 2), then `close(2)` the original, as a
    /// shell does: from then on the end *is* that standard stream.
    case dup2(channel: String, end: PipeEnd, fd: Int)
    /// A built-in program of a pipeline, reading its standard input (fd 0) and writing its
    /// standard output (fd 1) with `read(2)`/`write(2)` until end of file or an error.
    case stage(Program)

    /// The built-in programs of ``stage(_:)``, after the course's
    /// `head /dev/urandom | tr -dc A-Za-z0-9 | head -c 20`.
    public enum Program: Sendable, Equatable {
        /// Writes `bytes` random bytes (getrandom(2)) to standard output.
        case random(bytes: Int)
        /// Copies standard input to standard output keeping only `A-Za-z0-9` (`tr -dc`).
        case alnum
        /// Copies the first `count` bytes of standard input to standard output, then stops (`head -c`).
        case take(count: Int)

        public var name: String {
            switch self {
            case .random: "random"
            case .alnum: "alnum"
            case .take: "take"
            }
        }

        /// The program's count (bytes to produce, or bytes to pass), if it has one.
        public var count: Int? {
            switch self {
            case .random(let n), .take(let n): n
            case .alnum: nil
            }
        }

        public static let names = ["random", "alnum", "take"]
        /// Bytes `random` writes unless told: enough to outlast any reader.
        public static let defaultRandomBytes = 1_048_576
        public static let defaultTake = 20
        public static let randomBytes = 1...1_048_576
        public static let takeCount = 1...65_536

        /// Reads `name` with an optional count; `fail` makes the error for a bad count.
        public static func make(_ name: String, count: Int?, fail: (String) -> LabError) throws(LabError) -> Program {
            switch name {
            case "random":
                let n = count ?? defaultRandomBytes
                guard randomBytes.contains(n) else { throw fail("random writes 1…\(randomBytes.upperBound) bytes, not \(n)") }
                return .random(bytes: n)
            case "alnum":
                guard count == nil else { throw fail("alnum takes no count") }
                return .alnum
            case "take":
                let n = count ?? defaultTake
                guard takeCount.contains(n) else { throw fail("take passes 1…\(takeCount.upperBound) bytes, not \(n)") }
                return .take(count: n)
            default:
                throw fail("unknown program \"\(name)\"; one of: \(names.joined(separator: ", "))")
            }
        }
    }

    public static let ops = ["write", "read", "read_all", "fill", "close", "open", "set_nonblocking",
                             "set_pipe_size", "get_pipe_size", "dup2", "stage", "fstat", "mkfifo"]

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> PipeStep {
        typealias B = Scenario.Bounds
        if op == "stage" {
            let name = try r.requiredString("program")
            guard Program.names.contains(name) else {
                throw r.fail("program", "unknown program \"\(name)\"; one of: \(Program.names.joined(separator: ", "))")
            }
            let count = try r.int("count", in: 1...Int(Int32.max))
            let at = r.path.key("count")
            return .stage(try Program.make(name, count: count) { LabError(.invalidScenario, $0, path: at.description) })
        }
        let channel = try r.requiredString("channel")
        switch op {
        case "write":
            let text = try r.string("data")
            let size = try r.int("size", in: B.bytes)
            let data: Data
            switch (text, size) {
            case let (t?, nil):
                guard B.textBytes.contains(t.utf8.count) else {
                    throw r.fail("data", "must be 1…\(B.textBytes.upperBound) bytes of UTF-8")
                }
                data = .text(t)
            case let (nil, n?): data = .size(n)
            case (nil, nil): throw r.fail("data", "a write needs \"data\" (a string) or \"size\" (a byte count)")
            default: throw r.fail("size", "give either \"data\" or \"size\", not both")
            }
            return .write(channel: channel, data: data, repeat: try r.int("repeat", in: B.repeats) ?? 1)
        case "read":
            return .read(channel: channel, size: try r.requiredInt("size", in: B.bytes), repeat: try r.int("repeat", in: B.repeats) ?? 1)
        case "read_all":
            return .readAll(channel: channel, size: try r.int("size", in: B.bytes) ?? 4096)
        case "fill":
            return .fill(channel: channel, size: try r.int("size", in: B.bytes) ?? 4096)
        case "close":
            return .close(channel: channel, end: try requiredEnd(&r))
        case "fstat":
            return .fstat(channel: channel, end: try requiredEnd(&r))
        case "mkfifo":
            return .mkfifo(channel: channel)
        case "open":
            return .open(channel: channel, end: try requiredEnd(&r), nonblocking: try r.bool("nonblocking") ?? false)
        case "dup2":
            return .dup2(channel: channel, end: try requiredEnd(&r), fd: try r.requiredInt("fd", in: 0...2))
        case "set_nonblocking":
            return .setNonblocking(channel: channel, end: try requiredEnd(&r), enabled: try r.bool("enabled") ?? true)
        case "set_pipe_size":
            return .setPipeSize(channel: channel, size: try r.requiredInt("size", in: B.pipeSize))
        default:
            return .getPipeSize(channel: channel)
        }
    }

    private static func requiredEnd(_ r: inout JSONObjectReader) throws(LabError) -> PipeEnd {
        guard let end = try r.choice("end", PipeEnd.self) else { throw r.fail("end", "is required: \"read\" or \"write\"") }
        return end
    }

    public var op: String {
        switch self {
        case .write: "write"
        case .read: "read"
        case .readAll: "read_all"
        case .fill: "fill"
        case .close: "close"
        case .fstat: "fstat"
        case .open: "open"
        case .mkfifo: "mkfifo"
        case .setNonblocking: "set_nonblocking"
        case .setPipeSize: "set_pipe_size"
        case .getPipeSize: "get_pipe_size"
        case .dup2: "dup2"
        case .stage: "stage"
        }
    }

    public var channel: String? {
        switch self {
        case .write(let c, _, _), .read(let c, _, _), .readAll(let c, _), .fill(let c, _), .close(let c, _), .fstat(let c, _),
             .open(let c, _, _), .setNonblocking(let c, _, _), .setPipeSize(let c, _), .getPipeSize(let c), .dup2(let c, _, _),
             .mkfifo(let c):
            c
        case .stage:
            nil
        }
    }

    public var fields: [String: JSONValue] {
        var o: [String: JSONValue] = channel.map { ["channel": .string($0)] } ?? [:]
        func int(_ n: Int) -> JSONValue { .integer(Int64(n)) }
        switch self {
        case let .write(_, data, rep):
            switch data {
            case .text(let t): o["data"] = .string(t)
            case .size(let n): o["size"] = int(n)
            }
            if rep != 1 { o["repeat"] = int(rep) }
        case let .read(_, size, rep):
            o["size"] = int(size)
            if rep != 1 { o["repeat"] = int(rep) }
        case let .readAll(_, size), let .fill(_, size), let .setPipeSize(_, size):
            o["size"] = int(size)
        case let .close(_, end), let .fstat(_, end):
            o["end"] = .string(end.rawValue)
        case let .open(_, end, nonblocking):
            o["end"] = .string(end.rawValue)
            if nonblocking { o["nonblocking"] = true }
        case let .dup2(_, end, fd):
            o["end"] = .string(end.rawValue); o["fd"] = int(fd)
        case let .stage(program):
            o["program"] = .string(program.name)
            if let n = program.count { o["count"] = int(n) }
        case let .setNonblocking(_, end, enabled):
            o["end"] = .string(end.rawValue); o["enabled"] = .bool(enabled)
        case .getPipeSize, .mkfifo:
            break
        }
        return o
    }

    public func check(in scenario: Scenario, process: Int, at path: JSONPath) throws(LabError) {
        guard let name = channel, let c = scenario.channel(named: name) else { return }
        guard case .pipe(let kind) = c.spec else {
            throw LabError(.invalidScenario, "\(op) works on a pipe or fifo; \"\(name)\" is a \(c.kind)",
                           path: path.key("channel").description)
        }
        if case .mkfifo = self, kind == .pipe {
            throw LabError(.invalidScenario, "mkfifo is for a fifo channel; \"\(name)\" is a pipe",
                           path: path.key("channel").description)
        }
        if case .open = self, kind == .pipe {
            throw LabError(.invalidScenario, "open is for a fifo channel; \"\(name)\" is a pipe (its ends are open from the start)",
                           path: path.key("channel").description)
        }
    }
}

extension Step {
    public static func write(channel: String, data: PipeStep.Data, repeat count: Int) -> Step {
        .pipe(.write(channel: channel, data: data, repeat: count))
    }
    public static func read(channel: String, size: Int, repeat count: Int) -> Step { .pipe(.read(channel: channel, size: size, repeat: count)) }
    public static func readAll(channel: String, size: Int) -> Step { .pipe(.readAll(channel: channel, size: size)) }
    public static func fill(channel: String, size: Int) -> Step { .pipe(.fill(channel: channel, size: size)) }
    public static func close(channel: String, end: PipeEnd) -> Step { .pipe(.close(channel: channel, end: end)) }
    public static func fstat(channel: String, end: PipeEnd) -> Step { .pipe(.fstat(channel: channel, end: end)) }
    public static func open(channel: String, end: PipeEnd, nonblocking: Bool = false) -> Step {
        .pipe(.open(channel: channel, end: end, nonblocking: nonblocking))
    }
    public static func dup2(channel: String, end: PipeEnd, fd: Int) -> Step { .pipe(.dup2(channel: channel, end: end, fd: fd)) }
    public static func stage(_ program: PipeStep.Program) -> Step { .pipe(.stage(program)) }
    public static func mkfifo(channel: String) -> Step { .pipe(.mkfifo(channel: channel)) }
    public static func setNonblocking(channel: String, end: PipeEnd, enabled: Bool) -> Step {
        .pipe(.setNonblocking(channel: channel, end: end, enabled: enabled))
    }
    public static func setPipeSize(channel: String, size: Int) -> Step { .pipe(.setPipeSize(channel: channel, size: size)) }
    public static func getPipeSize(channel: String) -> Step { .pipe(.getPipeSize(channel: channel)) }
}
