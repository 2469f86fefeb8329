/// One check of a grader: a claim about a run's trace, worth `points` when it holds.
///
/// Checks only read the trace: the same check gives the same result on the same trace.
/// A check that names a process or channel the scenario lacks does not fail the request:
/// it fails itself, saying so (student submissions differ).
public struct Check: Sendable {
    /// Unique among the checks of one request.
    public var id: String
    /// What graders show; the id when none was given.
    public var name: String
    /// Points when it holds (default 1).
    public var points: Int
    /// Shown with the message when the check fails.
    public var hint: String?
    public var kind: Kind

    public init(id: String, name: String? = nil, points: Int = 1, hint: String? = nil, kind: Kind) {
        self.id = id
        self.name = name ?? id
        self.points = points
        self.hint = hint
        self.kind = kind
    }

    /// What the check claims, by kind (the `kind` field of the JSON form).
    public enum Kind: Sendable {
        /// `{"kind":"outcome","is":"ok"}`: the run ended so.
        case outcome(Outcome)
        /// `{"kind":"exit","process":P,"code":N}` or `"signal":"SIGUSR2"`: how a process ended.
        case exit(process: String, code: Int?, signal: String?)
        /// `{"kind":"call","match":M,"count":{"min","max"}}`: how many events match (default at least one).
        case call(CheckMatch, min: Int, max: Int?)
        /// `{"kind":"no_call","match":M}`: no event matches.
        case noCall(CheckMatch)
        /// `{"kind":"order","first":M,"then":M}`: the first event matching `first` returned before
        /// the first event matching `then` started.
        case order(first: CheckMatch, then: CheckMatch)
        /// `{"kind":"received","process","channel","data":[…]}`: what the process took out of the
        /// channel, in order, as C strings.
        case received(process: String, channel: String, data: [String])
        /// `{"kind":"observation","id","roles","params"}`: a catalog observation, its preset's
        /// process and channel names (roles) bound to the scenario's.
        case observation(ObservationBinding)
        /// `{"kind":"no_deadlock"}`: the run did not end with its live processes all blocked.
        case noDeadlock
        /// `{"kind":"stdout","process":P,"contains":S}`: what a program's process wrote to its
        /// standard output (as captured, up to the capture's bound) contains `S`.
        case stdout(process: String, contains: String)

        /// The `kind` spelling.
        public var name: String {
            switch self {
            case .outcome: "outcome"
            case .exit: "exit"
            case .call: "call"
            case .noCall: "no_call"
            case .order: "order"
            case .received: "received"
            case .observation: "observation"
            case .noDeadlock: "no_deadlock"
            case .stdout: "stdout"
            }
        }

        public static let names = ["outcome", "exit", "call", "no_call", "order", "received", "observation", "no_deadlock", "stdout"]
    }

    /// The most checks one request may carry.
    public static let maxCount = 100

    /// The longest text a `stdout` check may look for (bytes of UTF-8).
    public static let maxStdoutNeedle = 4096
}
