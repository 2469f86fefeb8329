/// What happened in one run, as the kernel reported it. Version 1 of the format.
///
/// Every value comes from the run itself: results and errno names are what the
/// system calls returned, times are `CLOCK_MONOTONIC` readings taken in the
/// participants. Nothing is filled in from what a preset expects.
public struct Trace: Sendable {
    /// The format version clients code against.
    public static let version = 1

    public var run: RunInfo
    public var scenario: Scenario
    public var processes: [TraceProcess]
    public var events: [TraceEvent]
    public var objects: [ObjectSnapshot]
    public var observations: [Observation]
    /// What went from one call to another (bytes, signals, wake-ups, descriptors), paired once
    /// here from the events (`Trace+Transfers.swift`).
    public var transfers: [Transfer]
    /// The results of the request's checks, in their order; nil when it gave none.
    public var checks: [CheckResult]?

    /// A trace of these events; their transfers are found here unless given.
    public init(run: RunInfo, scenario: Scenario, processes: [TraceProcess], events: [TraceEvent],
                objects: [ObjectSnapshot], observations: [Observation] = [], transfers: [Transfer]? = nil) {
        self.run = run
        self.scenario = scenario
        self.processes = processes
        self.events = events
        self.objects = objects
        self.observations = observations
        self.transfers = transfers ?? Trace.findTransfers(events: events, processes: processes, scenario: scenario)
    }

    /// The events of one process, in order.
    public func events(of process: String) -> [TraceEvent] {
        events.filter { $0.process == process }
    }

    /// The process entry with this name.
    public func process(_ name: String) -> TraceProcess? {
        processes.first { $0.name == name }
    }
}

/// How a run ended.
public enum Outcome: String, Sendable, CaseIterable {
    /// Every process ended by itself.
    case ok
    /// The wall-clock limit ran out and everything left in the run was killed.
    case timeout
    /// A resource limit was hit.
    case limitExceeded = "limit_exceeded"
    /// The sandbox could not run the scenario (set-up failed, the spawner died…).
    case error
    /// Every live process was blocked in a call no live process could complete; the run was ended
    /// at once (`run.deadlock` says who waited for what).
    case deadlock
    /// A program of the run did not compile: `run.diagnostics` says where and why; nothing ran.
    case compileError = "compile_error"
}

/// The run as a whole.
public struct RunInfo: Sendable {
    public var id: String
    public var experiment: String?
    /// ISO 8601 wall-clock time at which the run started.
    public var startedAt: String
    public var durationNs: Int64
    public var outcome: Outcome
    /// Why the run ended as it did, when that is not `ok`.
    public var reason: String?
    public var limits: RunLimits
    public var sandbox: SandboxReport
    /// Records the ring could not hold.
    public var eventsDropped: Int
    /// Records the server found in the ring out of range (a process, step, time, length or name no
    /// recorder writes: the run overwrote them) and left out of the trace. Shown only when not 0.
    public var recordsRejected = 0
    /// Who was blocked and why nobody could wake them, when the outcome is `deadlock`.
    public var deadlock: Deadlock?
    /// The perturbed schedule the run ran with (`schedule` of the request, or of its grade), if any.
    public var schedule: RunSchedule?
    /// How the calls of a program run were seen (`interposer`); nil for presets and scenarios,
    /// whose processes record their own calls.
    public var tracer: String?
    /// What the compiler said about a program run's programs (errors and warnings), in order.
    public var diagnostics: [Diagnostic]?

    public init(id: String, experiment: String?, startedAt: String, durationNs: Int64, outcome: Outcome,
                reason: String?, limits: RunLimits, sandbox: SandboxReport, eventsDropped: Int) {
        self.id = id
        self.experiment = experiment
        self.startedAt = startedAt
        self.durationNs = durationNs
        self.outcome = outcome
        self.reason = reason
        self.limits = limits
        self.sandbox = sandbox
        self.eventsDropped = eventsDropped
    }
}

/// What the sandbox did before the scenario ran, as data: each set-up operation and its result.
public struct SandboxReport: Sendable {
    public struct Operation: Sendable {
        public var op: String
        public var result: Int64
        public var errno: String?
        /// Nanoseconds from run start to the moment the operation finished.
        public var tNs: Int64
        public init(op: String, result: Int64, errno: String?, tNs: Int64 = 0) {
            self.op = op
            self.result = result
            self.errno = errno
            self.tNs = tNs
        }
    }

    /// The seccomp state of the run's init after its set-up: the kernel's `Seccomp:` and
    /// `Seccomp_filters:` (the C runner's init counts its filters from its runner's line and its own
    /// installs instead of opening its fresh /proc; see openapi.yaml).
    public struct Seccomp: Sendable, Equatable {
        /// `disabled`, `strict` or `filter` (the `Seccomp:` line: 0, 1, 2).
        public var mode: String
        /// How many filters are stacked on the init (`Seccomp_filters:`), nil when unknown.
        public var filters: Int?
        public init(mode: String, filters: Int?) {
            self.mode = mode
            self.filters = filters
        }
    }

    public var namespaces: [String]
    public var setup: [Operation]
    /// Nil when the run did not get as far as reading it.
    public var seccomp: Seccomp?

    public init(namespaces: [String], setup: [Operation], seccomp: Seccomp? = nil) {
        self.namespaces = namespaces
        self.setup = setup
        self.seccomp = seccomp
    }
}

/// One message of the compiler about a program (gcc's `-fdiagnostics-format=json`).
public struct Diagnostic: Sendable, Equatable {
    /// The program's name.
    public var program: String
    /// 1-based; nil when the message is about no line (a link error).
    public var line: Int?
    public var column: Int?
    /// `error`, `warning` or `note` (as gcc says).
    public var severity: String
    public var message: String

    public init(program: String, line: Int?, column: Int?, severity: String, message: String) {
        self.program = program
        self.line = line
        self.column = column
        self.severity = severity
        self.message = message
    }
}
