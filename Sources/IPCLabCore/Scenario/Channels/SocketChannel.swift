/// A socket channel: an address that processes make sockets for (`tcp`, `udp`, `unix_stream`,
/// `unix_dgram`), or a connected pair (`socketpair`).
///
/// Nothing is created before the processes fork except a socketpair: each process makes its
/// own socket with a `socket` step, as two separate programs would. TCP and UDP live in the
/// run's own network namespace, whose only interface is its loopback.
public enum SocketChannel: ChannelFamily {
    /// `AF_INET, SOCK_STREAM` at `address:port`.
    case tcp(address: IPv4Address, port: Int)
    /// `AF_INET, SOCK_DGRAM` at `address:port`.
    case udp(address: IPv4Address, port: Int)
    /// `AF_UNIX, SOCK_STREAM` bound at a path in the run's private `/tmp`.
    case unixStream(path: String)
    /// `AF_UNIX, SOCK_DGRAM` bound at a path in the run's private `/tmp`.
    case unixDgram(path: String)
    /// `socketpair(AF_UNIX, type, 0, sv)`, made by the first process before it forks. The
    /// first process talks on `sv[0]`, every other process on `sv[1]`.
    case socketpair(type: PairType)

    /// The type of a socketpair.
    public enum PairType: String, Sendable, CaseIterable {
        case stream
        case dgram
        case seqpacket
    }

    public static let kinds = ["tcp", "udp", "unix_stream", "unix_dgram", "socketpair"]

    /// Bounds of the socket fields, also stated in `openapi.yaml`.
    public enum Bounds {
        /// Ports below 1024 need `CAP_NET_BIND_SERVICE` in the network namespace's owner: the host.
        public static let port = 1024...65535
        public static let defaultPort = 8080
    }

    public static func decode(kind: String, _ r: inout JSONObjectReader) throws(LabError) -> SocketChannel {
        let name = try r.requiredString("name")
        switch kind {
        case "tcp", "udp":
            let text = try r.string("address") ?? "127.0.0.1"
            guard let address = IPv4Address(text) else {
                throw r.fail("address", "must be an IPv4 address such as \"127.0.0.1\", not \"\(text)\"")
            }
            let port = try r.int("port", in: Bounds.port) ?? Bounds.defaultPort
            return kind == "tcp" ? .tcp(address: address, port: port) : .udp(address: address, port: port)
        case "unix_stream", "unix_dgram":
            let path = try r.string("path") ?? "/tmp/\(name).sock"
            try FIFOPath.check(path, at: r.path.key("path"))
            return kind == "unix_stream" ? .unixStream(path: path) : .unixDgram(path: path)
        default:
            return .socketpair(type: try r.choice("type", PairType.self) ?? .stream)
        }
    }

    public var kind: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        case .unixStream: "unix_stream"
        case .unixDgram: "unix_dgram"
        case .socketpair: "socketpair"
        }
    }

    public var path: String? {
        switch self {
        case .unixStream(let p), .unixDgram(let p): p
        default: nil
        }
    }

    /// Whether the socket keeps message boundaries (`SOCK_DGRAM`, `SOCK_SEQPACKET`).
    public var isDatagram: Bool {
        switch self {
        case .udp, .unixDgram: true
        case .socketpair(let type): type != .stream
        case .tcp, .unixStream: false
        }
    }

    /// Whether its sockets connect to a listener (`listen`/`accept`): TCP and Unix streams.
    public var isListening: Bool {
        switch self {
        case .tcp, .unixStream: true
        default: false
        }
    }

    public var fields: [String: JSONValue] {
        switch self {
        case let .tcp(address, port), let .udp(address, port):
            ["address": .string(address.description), "port": .integer(Int64(port))]
        case .unixStream(let p), .unixDgram(let p):
            ["path": .string(p)]
        case .socketpair(let type):
            ["type": .string(type.rawValue)]
        }
    }
}

/// An IPv4 address, written in dotted-quad form.
public struct IPv4Address: Sendable, Equatable, CustomStringConvertible {
    /// The address in host byte order.
    public var value: UInt32

    public static let loopback = IPv4Address(value: 0x7F00_0001)
    public static let any = IPv4Address(value: 0)

    public init(value: UInt32) { self.value = value }

    /// Parses `a.b.c.d` (each 0…255, no leading zeros).
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard (1...3).contains(p.count), p.allSatisfy(\.isASCII), p.allSatisfy(\.isNumber),
                  p.count == 1 || p.first != "0", let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        value = v
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }
}

extension Channel {
    public static func tcp(_ name: String, address: IPv4Address = .loopback, port: Int = SocketChannel.Bounds.defaultPort) -> Channel {
        Channel(name: name, spec: .socket(.tcp(address: address, port: port)))
    }
    public static func udp(_ name: String, address: IPv4Address = .loopback, port: Int) -> Channel {
        Channel(name: name, spec: .socket(.udp(address: address, port: port)))
    }
    public static func unixStream(_ name: String, path: String? = nil) -> Channel {
        Channel(name: name, spec: .socket(.unixStream(path: path ?? "/tmp/\(name).sock")))
    }
    public static func unixDgram(_ name: String, path: String? = nil) -> Channel {
        Channel(name: name, spec: .socket(.unixDgram(path: path ?? "/tmp/\(name).sock")))
    }
    public static func socketpair(_ name: String, type: SocketChannel.PairType = .stream) -> Channel {
        Channel(name: name, spec: .socket(.socketpair(type: type)))
    }
}
