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

    /// Reads `{"experiment","params"} | {"scenario"} | {"programs"}`, `checks` (at least one), `repeat`, `limits`,
    /// `schedule`, `store`. Every error of the body is reported at once (``LabError/errors``, in document order).
    public static func decode(_ body: some Collection<UInt8>, catalog: Catalog = .standard,
                              maxima: RunLimits) throws(LabError) -> GradeRequest {
        let value = try JSONValue.parse(body)
        do throws(LabError) {
            // As for runs: a null is refused with its path, not read as "left out".
            try RunRequest.refuseNull(in: value)
            return try decode(value, catalog: catalog, maxima: maxima)
        } catch {
            throw error.inDocumentOrder(of: body)
        }
    }

    /// Reads a parsed body.
    public static func decode(_ value: JSONValue, catalog: Catalog = .standard, maxima: RunLimits) throws(LabError) -> GradeRequest {
        var errors = ErrorCollector()
        var r = try JSONObjectReader(value, at: JSONPath(), code: .invalidRequest)
        let repeatCount = errors.attempt { () throws(LabError) in try r.int("repeat", in: repeatRange) } ?? nil
        let body = RunBody.read(&r, catalog: catalog, maxima: maxima, errors: &errors)
        if body.checks?.isEmpty == true {
            errors.add(LabError(.invalidRequest, "a grade needs at least one check", path: "checks"))
        }
        try errors.check()
        return GradeRequest(run: try body.request(), repeatCount: repeatCount ?? defaultRepeat,
                            schedule: (body.schedule ?? nil) ?? RunSchedule())
    }
}
