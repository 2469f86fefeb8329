/// Limits applied to one run. Each has a default and a server maximum (``standardMaxima`` unless
/// the server is started with other `--max-…` flags); a request may ask for any value from the
/// field's minimum up to the maximum. The trace's `run.limits` echoes every limit in force.
public struct RunLimits: Sendable, Equatable {
    /// Wall-clock time after which everything in the run is killed (outcome `timeout`).
    public var wallMs: Int
    /// CPU time (user + system) each process of the run may use: a timer on the process's CPU
    /// clock sends SIGXCPU when it runs out (RLIMIT_CPU is a backstop, in whole seconds).
    public var cpuMs: Int
    /// Memory the whole run may hold: its processes' pages, its tmpfs files in `/tmp` and `/dev/shm`,
    /// its trace records (a memory cgroup; RLIMIT_AS per process where cgroups are not writable).
    public var memoryBytes: Int
    /// Processes of the run at once, its init not counted (a pids cgroup).
    public var processes: Int
    /// Descriptors each process may hold (RLIMIT_NOFILE): an open past it fails with EMFILE.
    public var openFiles: Int
    /// The largest file a process may write (RLIMIT_FSIZE): past it, SIGXFSZ or EFBIG.
    public var fileBytes: Int
    /// Trace records the run's processes may make; past it they are dropped and counted.
    public var events: Int
    /// Bytes the scenario's `write`, `send` and `write_file` steps may ask to move in all
    /// (each step's size × repeat, summed): checked before the run, `400 invalid_limit` past it.
    public var payloadBytes: Int

    /// The default wall-clock limit of a run.
    public static let defaultWallMs = 2000

    /// The limit a request gets when it does not ask (capped by the server's maximum).
    public static let defaults = RunLimits()

    /// The server maxima unless `ipclab serve` is given others.
    public static let standardMaxima = RunLimits(
        wallMs: 10_000, cpuMs: 60_000, memoryBytes: 1 << 30, processes: 1024, openFiles: 4096,
        fileBytes: 64 << 20, events: 262_144, payloadBytes: 1 << 32)

    public init(wallMs: Int = RunLimits.defaultWallMs, cpuMs: Int = 10_000, memoryBytes: Int = 64 << 20,
                processes: Int = 32, openFiles: Int = 256, fileBytes: Int = 16 << 20, events: Int = 16_384,
                payloadBytes: Int = 256 << 20) {
        self.wallMs = wallMs
        self.cpuMs = cpuMs
        self.memoryBytes = memoryBytes
        self.processes = processes
        self.openFiles = openFiles
        self.fileBytes = fileBytes
        self.events = events
        self.payloadBytes = payloadBytes
    }

    /// One limit: its JSON key (also the `--max-<key>` flag of `ipclab serve`, with dashes) and its smallest value.
    public enum Field: String, CaseIterable, Sendable {
        case wallMs = "wall_ms"
        case cpuMs = "cpu_ms"
        case memoryBytes = "memory_bytes"
        case processes
        case openFiles = "open_files"
        case fileBytes = "file_bytes"
        case events
        case payloadBytes = "payload_bytes"

        /// The smallest value a request may ask for: below it the sandbox itself could not start.
        public var minimum: Int {
            switch self {
            case .memoryBytes: 4 << 20
            case .openFiles: 8
            case .events: 16
            default: 1
            }
        }

        /// The word a `limit_exceeded` reason starts with (`limit memory: …`).
        public var reasonWord: String {
            switch self {
            case .wallMs: "wall"
            case .cpuMs: "cpu"
            case .memoryBytes: "memory"
            default: rawValue
            }
        }
    }

    public subscript(field: Field) -> Int {
        get {
            switch field {
            case .wallMs: wallMs
            case .cpuMs: cpuMs
            case .memoryBytes: memoryBytes
            case .processes: processes
            case .openFiles: openFiles
            case .fileBytes: fileBytes
            case .events: events
            case .payloadBytes: payloadBytes
            }
        }
        set {
            switch field {
            case .wallMs: wallMs = newValue
            case .cpuMs: cpuMs = newValue
            case .memoryBytes: memoryBytes = newValue
            case .processes: processes = newValue
            case .openFiles: openFiles = newValue
            case .fileBytes: fileBytes = newValue
            case .events: events = newValue
            case .payloadBytes: payloadBytes = newValue
            }
        }
    }

    /// The defaults, each capped at the server's maximum.
    public static func defaults(under maxima: RunLimits) -> RunLimits {
        var limits = defaults
        for field in Field.allCases { limits[field] = min(limits[field], maxima[field]) }
        return limits
    }

    /// Reads `{"wall_ms": N, "cpu_ms": N, …}` (every field optional); a value outside
    /// minimum…maximum is `invalid_limit` at `limits.<field>`. `defaultWallMs` is what a request that
    /// gives no `wall_ms` gets (a preset's own default, such as a measurement's several seconds).
    public static func decode(_ value: JSONValue?, maxima: RunLimits = standardMaxima,
                              defaultWallMs: Int = RunLimits.defaultWallMs) throws(LabError) -> RunLimits {
        var limits = defaults(under: maxima)
        limits.wallMs = min(defaultWallMs, maxima.wallMs)
        guard let value else { return limits }
        var r = try JSONObjectReader(value, at: JSONPath("limits"), code: .invalidLimit)
        for field in Field.allCases {
            if let n = try r.int(field.rawValue, in: field.minimum...max(field.minimum, maxima[field])) { limits[field] = n }
        }
        try r.finish()
        return limits
    }

    /// Reads limits with the standard maxima except for the wall-clock limit.
    public static func decode(_ value: JSONValue?, maxWallMs: Int, defaultWallMs: Int = RunLimits.defaultWallMs) throws(LabError) -> RunLimits {
        var maxima = standardMaxima
        maxima.wallMs = maxWallMs
        return try decode(value, maxima: maxima, defaultWallMs: defaultWallMs)
    }
}
