/// One process of a run: its name from the scenario, its pid inside the run's
/// PID namespace, and how it ended as its reaper's `wait4` reported it.
public struct TraceProcess: Sendable {
    /// How a process ended.
    public enum Exit: Sendable, Equatable {
        case code(Int)
        case signal(name: String, coreDumped: Bool)
    }

    public var name: String
    public var pid: Int32
    /// The name of the parent process, or nil for the first process (its parent is the run's init).
    public var parent: String?
    /// Nil when no one reaped the process (e.g. the run was torn down).
    public var exit: Exit?
    public var userCPUNs: Int64?
    public var systemCPUNs: Int64?
    /// What a program's process wrote to its standard output and error (program runs only; nil for
    /// scenarios), each cut at ``outputLimit`` bytes, `truncated` when either was cut.
    public var stdout: String?
    public var stderr: String?
    public var truncated = false

    /// The bytes of each stream a trace keeps per process.
    public static let outputLimit = 8192

    public init(name: String, pid: Int32, parent: String?, exit: Exit?, userCPUNs: Int64?, systemCPUNs: Int64?) {
        self.name = name
        self.pid = pid
        self.parent = parent
        self.exit = exit
        self.userCPUNs = userCPUNs
        self.systemCPUNs = systemCPUNs
    }
}
