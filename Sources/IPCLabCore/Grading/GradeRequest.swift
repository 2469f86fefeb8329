/// A validated `POST /api/v1/grades` body: one run request repeated `repeat` times under a
/// perturbed `schedule`, each run graded by `checks`.
public struct GradeRequest: Sendable {
    /// The run each repetition makes (its `schedule` is the grade's; run i uses seed + i).
    public var run: RunRequest
    public var repeatCount: Int
    public var schedule: RunSchedule

    public static let repeatRange = 1...500
    public static let defaultRepeat = 20

    public var checks: [Check] { run.checks }

    public init(run: RunRequest, repeatCount: Int = defaultRepeat, schedule: RunSchedule = RunSchedule()) {
        self.run = run
        self.repeatCount = repeatCount
        self.schedule = schedule
    }

    /// The request of run `index` (0-based): the schedule's seed + index.
    public func runRequest(_ index: Int) -> RunRequest {
        var r = run
        r.schedule = schedule.run(index)
        return r
    }

    /// Reads `{"experiment","params"} | {"scenario"} | {"programs"}`, `checks` (at least one), `repeat`, `limits`, `schedule`, `store`.
    public static func decode(_ body: some Collection<UInt8>, catalog: Catalog = .standard,
                              maxima: RunLimits) throws(LabError) -> GradeRequest {
        let value = try JSONValue.parse(body)
        // As for runs: a null is refused with its path, not read as "left out".
        try RunRequest.refuseNull(in: value)
        return try decode(value, catalog: catalog, maxima: maxima)
    }

    /// Reads a parsed body.
    public static func decode(_ value: JSONValue, catalog: Catalog = .standard, maxima: RunLimits) throws(LabError) -> GradeRequest {
        var r = try JSONObjectReader(value, at: JSONPath(), code: .invalidRequest)
        let experiment = try r.string("experiment")
        let params = r.value("params")
        let scenario = r.value("scenario")
        let programs = r.value("programs")
        let limits = r.value("limits")
        let checks = r.value("checks")
        let repeatCount = try r.int("repeat", in: repeatRange) ?? defaultRepeat
        let schedule = r.value("schedule")
        let store = try r.bool("store")
        try r.finish()
        var run = try RunRequest.request(experiment: experiment, params: params, scenario: scenario, programs: programs,
                                         limits: limits, catalog: catalog, maxima: maxima)
        run.checks = try Check.decodeList(checks, at: JSONPath().key("checks"), catalog: catalog)
        run.store = store ?? true
        if run.checks.isEmpty {
            throw LabError(.invalidRequest, "a grade needs at least one check", path: "checks")
        }
        return GradeRequest(run: run, repeatCount: repeatCount,
                            schedule: try RunSchedule.decode(schedule, at: JSONPath().key("schedule")) ?? RunSchedule())
    }
}
