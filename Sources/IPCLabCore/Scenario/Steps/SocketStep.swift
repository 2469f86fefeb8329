/// Steps on sockets (besides `send`, which ``SendStep`` shares with message queues).
///
/// Each process has, per socket channel, the socket it made with `socket` (a server's listening
/// socket) and its *connection*: the socket `accept` returned, or its own socket once made (for a
/// client, or any datagram socket), or its end of a socketpair. `recv`, `send`, `shutdown` and the
/// options act on the connection; `listen` and `accept` on the socket it made.
public enum SocketStep: StepFamily {
    /// The options `setsockopt`/`getsockopt` know, as the C names them.
    public enum Option: String, Sendable, CaseIterable {
        case reuseAddress = "SO_REUSEADDR"
        case reusePort = "SO_REUSEPORT"
        case keepAlive = "SO_KEEPALIVE"
        case sendBuffer = "SO_SNDBUF"
        case receiveBuffer = "SO_RCVBUF"
        /// In milliseconds (a `struct timeval` to the kernel).
        case receiveTimeout = "SO_RCVTIMEO"
        /// In milliseconds.
        case sendTimeout = "SO_SNDTIMEO"
        case noDelay = "TCP_NODELAY"
        /// Read-only.
        case type = "SO_TYPE"
        /// Read-only: the pending error, cleared by reading it.
        case error = "SO_ERROR"

        /// Whether `setsockopt` may set it.
        public var isSettable: Bool { self != .type && self != .error }
    }

    /// `shutdown(2)`'s `how`.
    public enum How: String, Sendable, CaseIterable {
        case read
        case write
        case both
    }

    /// Which call `send` makes on a socket.
    public enum SendCall: String, Sendable, CaseIterable {
        case send
        case write
    }

    /// Which call `recv` makes.
    public enum RecvCall: String, Sendable, CaseIterable {
        case recv
        case read
    }

    /// `socket(2)` of the channel's domain and type; it becomes this process's socket on the channel.
    case socket(channel: String)
    /// `setsockopt(2)` on this process's connection (or the socket it made, before any).
    case setsockopt(channel: String, option: Option, value: Int)
    /// `getsockopt(2)`.
    case getsockopt(channel: String, option: Option)
    /// `bind(2)` to the channel's address.
    case bind(channel: String)
    /// `listen(2)` with `backlog`.
    case listen(channel: String, backlog: Int)
    /// `accept(2)`: the new socket becomes this process's connection on the channel.
    case accept(channel: String)
    /// `connect(2)` to the channel's address.
    case connect(channel: String)
    /// Waits until a process of the run listens on (TCP, Unix stream) or has bound (UDP, Unix
    /// datagram) the channel's address: the lab's rendezvous — a futex on a page the run shares —
    /// standing in for "start the server first".
    case waitReady(channel: String)
    /// `recv(2)` (`recvfrom(2)` on a UDP socket, or `read(2)` with `call`) of up to `size` bytes,
    /// `repeat` times, or until it returns 0 (end of file) with `until_eof`. `nonblocking`: `MSG_DONTWAIT`.
    case recv(channel: String, size: Int, repeat: Int, untilEOF: Bool, nonblocking: Bool, call: RecvCall)
    /// `shutdown(2)`.
    case shutdown(channel: String, how: How)
    /// `send(2)` chunks of `size` with `MSG_DONTWAIT` until the kernel answers `EAGAIN` (the send
    /// buffer is full); then, unless `nonblocking`, one more blocking `send` that waits for room.
    case sendUntilFull(channel: String, size: Int, nonblocking: Bool)
    /// Opens `path` (creating it) and writes `data` into it, rewinds, then `sendmsg(2)`s one byte
    /// with the descriptor attached as `SCM_RIGHTS` (without it when `attach` is false); closes its
    /// own descriptor afterwards when `close` is set.
    case sendFD(channel: String, path: String, data: String, attach: Bool, close: Bool)
    /// `recvmsg(2)` one byte and a descriptor, then `read(2)` up to `size` bytes through it.
    case recvFD(channel: String, size: Int)

    public static let ops = ["socket", "setsockopt", "getsockopt", "bind", "listen", "accept", "connect", "wait_ready",
                             "recv", "shutdown", "send_until_full", "send_fd", "recv_fd"]

    /// Bounds of the socket steps, also stated in `openapi.yaml`.
    public enum Bounds {
        public static let backlog = 0...4096
        public static let optionValue = 0...16_777_216
        public static let defaultBacklog = 3
        public static let chunk = 1...1_048_576
    }

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> SocketStep {
        let channel = try r.requiredString("channel")
        switch op {
        case "socket": return .socket(channel: channel)
        case "setsockopt":
            let option = try requiredOption(&r)
            guard option.isSettable else { throw r.fail("option", "\(option.rawValue) can only be read (getsockopt)") }
            return .setsockopt(channel: channel, option: option, value: try r.int("value", in: Bounds.optionValue) ?? 1)
        case "getsockopt": return .getsockopt(channel: channel, option: try requiredOption(&r))
        case "bind": return .bind(channel: channel)
        case "listen": return .listen(channel: channel, backlog: try r.int("backlog", in: Bounds.backlog) ?? Bounds.defaultBacklog)
        case "accept": return .accept(channel: channel)
        case "connect": return .connect(channel: channel)
        case "wait_ready": return .waitReady(channel: channel)
        case "recv":
            let count = try r.int("repeat", in: Scenario.Bounds.repeats)
            let untilEOF = try r.bool("until_eof") ?? false
            if untilEOF && count != nil { throw r.fail("until_eof", "give \"repeat\" or \"until_eof\", not both") }
            return .recv(channel: channel, size: try r.requiredInt("size", in: Scenario.Bounds.bytes), repeat: count ?? 1,
                         untilEOF: untilEOF, nonblocking: try r.bool("nonblocking") ?? false,
                         call: try r.choice("call", RecvCall.self) ?? .recv)
        case "shutdown":
            guard let how = try r.choice("how", How.self) else { throw r.fail("how", "is required: \"read\", \"write\" or \"both\"") }
            return .shutdown(channel: channel, how: how)
        case "send_until_full":
            return .sendUntilFull(channel: channel, size: try r.int("size", in: Bounds.chunk) ?? 4096,
                                  nonblocking: try r.bool("nonblocking") ?? false)
        case "send_fd":
            let path = try r.requiredString("path")
            try FIFOPath.check(path, at: r.path.key("path"))
            let data = try r.requiredString("data")
            guard Scenario.Bounds.textBytes.contains(data.utf8.count) else {
                throw r.fail("data", "must be 1…\(Scenario.Bounds.textBytes.upperBound) bytes of UTF-8")
            }
            return .sendFD(channel: channel, path: path, data: data, attach: try r.bool("attach") ?? true,
                           close: try r.bool("close") ?? true)
        default:
            return .recvFD(channel: channel, size: try r.int("size", in: Scenario.Bounds.bytes) ?? 4096)
        }
    }

    private static func requiredOption(_ r: inout JSONObjectReader) throws(LabError) -> Option {
        guard let option = try r.choice("option", Option.self) else {
            throw r.fail("option", "is required: one of \(Option.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return option
    }

    public var op: String {
        switch self {
        case .socket: "socket"
        case .setsockopt: "setsockopt"
        case .getsockopt: "getsockopt"
        case .bind: "bind"
        case .listen: "listen"
        case .accept: "accept"
        case .connect: "connect"
        case .waitReady: "wait_ready"
        case .recv: "recv"
        case .shutdown: "shutdown"
        case .sendUntilFull: "send_until_full"
        case .sendFD: "send_fd"
        case .recvFD: "recv_fd"
        }
    }

    public var channel: String? {
        switch self {
        case .socket(let c), .setsockopt(let c, _, _), .getsockopt(let c, _), .bind(let c), .listen(let c, _), .accept(let c),
             .connect(let c), .waitReady(let c), .recv(let c, _, _, _, _, _), .shutdown(let c, _), .sendUntilFull(let c, _, _),
             .sendFD(let c, _, _, _, _), .recvFD(let c, _):
            c
        }
    }

    public var fields: [String: JSONValue] {
        var o: [String: JSONValue] = ["channel": .string(channel ?? "")]
        func int(_ n: Int) -> JSONValue { .integer(Int64(n)) }
        switch self {
        case .socket, .bind, .accept, .connect, .waitReady:
            break
        case let .setsockopt(_, option, value):
            o["option"] = .string(option.rawValue); o["value"] = int(value)
        case let .getsockopt(_, option):
            o["option"] = .string(option.rawValue)
        case let .listen(_, backlog):
            o["backlog"] = int(backlog)
        case let .recv(_, size, count, untilEOF, nonblocking, call):
            o["size"] = int(size)
            if untilEOF { o["until_eof"] = true } else if count != 1 { o["repeat"] = int(count) }
            if nonblocking { o["nonblocking"] = true }
            if call != .recv { o["call"] = .string(call.rawValue) }
        case let .shutdown(_, how):
            o["how"] = .string(how.rawValue)
        case let .sendUntilFull(_, size, nonblocking):
            o["size"] = int(size)
            if nonblocking { o["nonblocking"] = true }
        case let .sendFD(_, path, data, attach, close):
            o["path"] = .string(path); o["data"] = .string(data); o["attach"] = .bool(attach); o["close"] = .bool(close)
        case let .recvFD(_, size):
            o["size"] = int(size)
        }
        return o
    }

    public func check(in scenario: Scenario, process: Int, at path: JSONPath) throws(LabError) {
        guard let name = channel, let c = scenario.channel(named: name) else { return }
        let at = path.key("channel").description
        guard case .socket(let s) = c.spec else {
            throw LabError(.invalidScenario, "\(op) works on a socket channel; \"\(name)\" is a \(c.kind)"
                           + (op == "recv" && c.kind == "message_queue" ? " (use receive)" : ""), path: at)
        }
        switch self {
        case .socket, .bind, .connect, .waitReady:
            if case .socketpair = s {
                throw LabError(.invalidScenario, "\(op) is for an address; a socketpair is made connected, by the first process before it forks",
                               path: at)
            }
        case .listen, .accept:
            guard s.isListening else {
                throw LabError(.invalidScenario, "\(op) is for a tcp or unix_stream channel; \"\(name)\" is a \(s.kind)", path: at)
            }
        case .sendFD, .recvFD:
            switch s {
            case .unixStream, .unixDgram, .socketpair: break
            default:
                throw LabError(.invalidScenario, "descriptors travel only over Unix-domain sockets; \"\(name)\" is \(s.kind)", path: at)
            }
        case .setsockopt(_, let option, _), .getsockopt(_, let option):
            if option == .noDelay, s.kind != "tcp" {
                throw LabError(.invalidScenario, "TCP_NODELAY is for a tcp channel", path: path.key("option").description)
            }
        case .recv, .shutdown, .sendUntilFull:
            break
        }
    }
}

extension Step {
    public static func socket(channel: String) -> Step { .socket(.socket(channel: channel)) }
    public static func setsockopt(channel: String, _ option: SocketStep.Option, value: Int = 1) -> Step {
        .socket(.setsockopt(channel: channel, option: option, value: value))
    }
    public static func getsockopt(channel: String, _ option: SocketStep.Option) -> Step { .socket(.getsockopt(channel: channel, option: option)) }
    public static func bind(channel: String) -> Step { .socket(.bind(channel: channel)) }
    public static func listen(channel: String, backlog: Int = SocketStep.Bounds.defaultBacklog) -> Step {
        .socket(.listen(channel: channel, backlog: backlog))
    }
    public static func accept(channel: String) -> Step { .socket(.accept(channel: channel)) }
    public static func connect(channel: String) -> Step { .socket(.connect(channel: channel)) }
    public static func waitReady(channel: String) -> Step { .socket(.waitReady(channel: channel)) }
    public static func recv(channel: String, size: Int, repeat count: Int = 1, untilEOF: Bool = false, nonblocking: Bool = false,
                            call: SocketStep.RecvCall = .recv) -> Step {
        .socket(.recv(channel: channel, size: size, repeat: count, untilEOF: untilEOF, nonblocking: nonblocking, call: call))
    }
    public static func shutdown(channel: String, _ how: SocketStep.How) -> Step { .socket(.shutdown(channel: channel, how: how)) }
    public static func sendUntilFull(channel: String, size: Int = 4096, nonblocking: Bool = false) -> Step {
        .socket(.sendUntilFull(channel: channel, size: size, nonblocking: nonblocking))
    }
    public static func sendFD(channel: String, path: String, data: String, attach: Bool = true, close: Bool = true) -> Step {
        .socket(.sendFD(channel: channel, path: path, data: data, attach: attach, close: close))
    }
    public static func recvFD(channel: String, size: Int = 4096) -> Step { .socket(.recvFD(channel: channel, size: size)) }
}
