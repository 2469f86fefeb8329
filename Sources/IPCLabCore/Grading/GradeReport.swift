/// What a grade found over its runs: per check, in how many runs it passed, and the first failure.
///
/// Runs may finish in any order; ``add(run:trace:)`` takes them as they come and the report is
/// the same whatever the order (the first failure is the one of the lowest run index).
public struct GradeReport: Sendable {
    /// The first run in which a check failed.
    public struct Failure: Sendable {
        public var run: Int
        public var seed: Int64
        public var message: String
        public var evidence: [Int]
        public var hint: String?
    }

    /// One check over every run.
    public struct CheckSummary: Sendable {
        public var id: String
        public var name: String
        public var points: Int
        public var passedRuns = 0
        public var failedRuns = 0
        public var firstFailure: Failure?
        /// The message of the lowest run in which it passed (shown when it always passed).
        public var firstPass: (run: Int, message: String)?

        /// Passed in every run.
        public var passed: Bool { failedRuns == 0 && passedRuns > 0 }
    }

    public var checks: [CheckSummary]
    public var runs = 0
    public var outcomes: [String: Int] = [:]
    public let schedule: RunSchedule
    /// The trace of the lowest-numbered run in which a check failed.
    public var failingTrace: Trace?
    private var failingRun: Int?
    public var durationMs: Int = 0
    /// The grade's id when the server stored it (`GET /api/v1/grades/{id}` reads it back); nil when not stored.
    public var id: String?

    public init(checks: [Check], schedule: RunSchedule) {
        self.checks = checks.map { CheckSummary(id: $0.id, name: $0.name, points: $0.points) }
        self.schedule = schedule
    }

    /// Every check passed in every run.
    public var passed: Bool { runs > 0 && checks.allSatisfy(\.passed) }
    /// The points of the checks that passed in every run.
    public var score: Int { checks.filter(\.passed).reduce(0) { $0 + $1.points } }
    public var maxScore: Int { checks.reduce(0) { $0 + $1.points } }

    /// Counts run `index` (0-based), graded: `trace.checks` holds its results.
    public mutating func add(run index: Int, trace: Trace) {
        runs += 1
        outcomes[trace.run.outcome.rawValue, default: 0] += 1
        let seed = trace.run.schedule?.seed ?? schedule.run(index).seed
        var failed = false
        for result in trace.checks ?? [] {
            guard let i = checks.firstIndex(where: { $0.id == result.id }) else { continue }
            if result.passed {
                checks[i].passedRuns += 1
                if checks[i].firstPass.map({ index < $0.run }) ?? true { checks[i].firstPass = (index, result.message) }
            } else {
                failed = true
                checks[i].failedRuns += 1
                if checks[i].firstFailure.map({ index < $0.run }) ?? true {
                    checks[i].firstFailure = Failure(run: index, seed: seed, message: result.message,
                                                     evidence: result.evidence, hint: result.hint)
                }
            }
        }
        if failed, failingRun.map({ index < $0 }) ?? true {
            failingRun = index
            failingTrace = trace
        }
    }
}
