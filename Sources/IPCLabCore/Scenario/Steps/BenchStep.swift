/// Measurement steps: one side of a throughput or latency phase between two processes.
///
/// A phase is a pair of steps in two processes, at the same place among their bench steps:
/// `bench_send` with `bench_receive` (bulk bytes), `bench_ping` with `bench_pong` (round trips
/// of a 64-byte message, or of a bare signal or semaphore post). Both name the same `sync`
/// channel, an anonymous shared mapping whose first 4 KiB hold the phase's barrier and whose
/// rest is the shared-memory ring. Only aggregates are recorded: `bench_throughput` by the
/// receiver, `bench_latency` by the pinger, and a few `progress` events.
public enum BenchStep: StepFamily {
    /// `bench_send` / `bench_receive`.
    case send(Transfer)
    case receive(Transfer)
    /// `bench_ping` / `bench_pong`.
    case ping(RoundTrips)
    case pong(RoundTrips)

    /// What a throughput phase moves, and through what.
    public struct Transfer: Sendable, Equatable {
        public var mechanism: BenchMechanism
        /// The data channel (none for `shm_ring`, which uses the sync region's ring).
        public var channel: String?
        public var sync: String
        public var totalBytes: Int
        public var chunkBytes: Int
        /// This side first pins itself to the `cpu`-th CPU it may run on (modulo their count).
        public var cpu: Int?

        public init(mechanism: BenchMechanism, channel: String?, sync: String, totalBytes: Int, chunkBytes: Int, cpu: Int? = nil) {
            self.mechanism = mechanism
            self.channel = channel
            self.sync = sync
            self.totalBytes = totalBytes
            self.chunkBytes = chunkBytes
            self.cpu = cpu
        }
    }

    /// What a latency phase exchanges, and through what.
    public struct RoundTrips: Sendable, Equatable {
        public var mechanism: BenchMechanism
        /// The channel pings go through (none for `shm_ring`, `signal` and `semaphore`).
        public var channel: String?
        /// The channel pongs come back through, for one-way mechanisms (a pipe, a queue).
        public var reply: String?
        public var sync: String
        public var roundTrips: Int
        /// This side first pins itself to the `cpu`-th CPU it may run on (modulo their count).
        public var cpu: Int?

        public init(mechanism: BenchMechanism, channel: String?, reply: String?, sync: String, roundTrips: Int, cpu: Int? = nil) {
            self.mechanism = mechanism
            self.channel = channel
            self.reply = reply
            self.sync = sync
            self.roundTrips = roundTrips
            self.cpu = cpu
        }
    }

    /// Bounds of the bench steps, also stated in `openapi.yaml`.
    public enum Bounds {
        public static let totalBytes = 1...1_073_741_824
        public static let chunkBytes = 1...1_048_576
        public static let roundTrips = 1...1_000_000
        /// The sync region's control block; the ring's data follows it.
        public static let controlBytes = 4096
        /// The smallest sync region: the control block and a page of ring.
        public static let syncBytes = 8192
        /// Bytes of one latency message.
        public static let messageBytes = 64
        /// Which of the CPUs a process may run on it pins itself to (modulo their count).
        public static let cpu = 0...1023
    }

    public static let ops = ["bench_send", "bench_receive", "bench_ping", "bench_pong"]

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> BenchStep {
        guard let mechanism = try r.choice("mechanism", BenchMechanism.self) else {
            throw r.fail("mechanism", "is required: one of \(BenchMechanism.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let channel = try r.string("channel")
        let sync = try r.requiredString("sync")
        switch op {
        case "bench_send", "bench_receive":
            guard BenchMechanism.throughput.contains(mechanism) else {
                throw r.fail("mechanism", "\(op) moves bytes through one of \(BenchMechanism.throughput.map(\.rawValue).joined(separator: ", ")), not \(mechanism.rawValue)")
            }
            let t = Transfer(mechanism: mechanism, channel: channel, sync: sync,
                             totalBytes: try r.requiredInt("total_bytes", in: Bounds.totalBytes),
                             chunkBytes: try r.requiredInt("chunk_bytes", in: Bounds.chunkBytes),
                             cpu: try r.int("cpu", in: Bounds.cpu))
            return op == "bench_send" ? .send(t) : .receive(t)
        default:
            let t = RoundTrips(mechanism: mechanism, channel: channel, reply: try r.string("reply"), sync: sync,
                               roundTrips: try r.requiredInt("round_trips", in: Bounds.roundTrips),
                               cpu: try r.int("cpu", in: Bounds.cpu))
            return op == "bench_ping" ? .ping(t) : .pong(t)
        }
    }

    public var op: String {
        switch self {
        case .send: "bench_send"
        case .receive: "bench_receive"
        case .ping: "bench_ping"
        case .pong: "bench_pong"
        }
    }

    /// The op that pairs with this one in the other process.
    public var counterpart: String {
        switch self {
        case .send: "bench_receive"
        case .receive: "bench_send"
        case .ping: "bench_pong"
        case .pong: "bench_ping"
        }
    }

    public var mechanism: BenchMechanism {
        switch self {
        case .send(let t), .receive(let t): t.mechanism
        case .ping(let t), .pong(let t): t.mechanism
        }
    }

    public var channel: String? {
        switch self {
        case .send(let t), .receive(let t): t.channel
        case .ping(let t), .pong(let t): t.channel
        }
    }

    public var reply: String? {
        if case .ping(let t) = self { return t.reply }
        if case .pong(let t) = self { return t.reply }
        return nil
    }

    /// The CPU this side pins itself to, if any.
    public var cpu: Int? {
        switch self {
        case .send(let t), .receive(let t): t.cpu
        case .ping(let t), .pong(let t): t.cpu
        }
    }

    public var sync: String {
        switch self {
        case .send(let t), .receive(let t): t.sync
        case .ping(let t), .pong(let t): t.sync
        }
    }

    /// `throughput` or `latency`, as the `progress` events name the phase.
    public var bench: String {
        switch self {
        case .send, .receive: "throughput"
        case .ping, .pong: "latency"
        }
    }

    /// Whether this side starts the phase (sender, pinger): role 0 of the C loops.
    public var initiates: Bool {
        switch self {
        case .send, .ping: true
        case .receive, .pong: false
        }
    }

    public var fields: [String: JSONValue] {
        var o: [String: JSONValue] = ["mechanism": .string(mechanism.rawValue), "sync": .string(sync)]
        if let channel { o["channel"] = .string(channel) }
        if let cpu { o["cpu"] = .integer(Int64(cpu)) }
        switch self {
        case .send(let t), .receive(let t):
            o["total_bytes"] = .integer(Int64(t.totalBytes))
            o["chunk_bytes"] = .integer(Int64(t.chunkBytes))
        case .ping(let t), .pong(let t):
            if let reply = t.reply { o["reply"] = .string(reply) }
            o["round_trips"] = .integer(Int64(t.roundTrips))
        }
        return o
    }

    /// The same phase seen from the other side (where each side runs is its own).
    var mirrored: BenchStep {
        switch self {
        case .send(var t): t.cpu = nil; return .receive(t)
        case .receive(var t): t.cpu = nil; return .send(t)
        case .ping(var t): t.cpu = nil; return .pong(t)
        case .pong(var t): t.cpu = nil; return .ping(t)
        }
    }

    /// The step without its placement.
    var unplaced: BenchStep { mirrored.mirrored }
}

extension Step {
    public static func benchSend(_ t: BenchStep.Transfer) -> Step { .bench(.send(t)) }
    public static func benchReceive(_ t: BenchStep.Transfer) -> Step { .bench(.receive(t)) }
    public static func benchPing(_ t: BenchStep.RoundTrips) -> Step { .bench(.ping(t)) }
    public static func benchPong(_ t: BenchStep.RoundTrips) -> Step { .bench(.pong(t)) }
}
