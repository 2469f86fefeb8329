/// The top-level fields a run's body and a grade's share — `experiment`/`params` | `scenario` |
/// `programs`, `limits`, `checks`, `schedule`, `store` — read with every error collected, so that
/// `POST /api/v1/runs` and `POST /api/v1/grades` read them by one rule.
struct RunBody {
    /// The run they ask for; nil when a part of it was refused (its errors are in the collector).
    var run: RunRequest?
    /// The checks; nil when they were refused.
    var checks: [Check]?
    /// The schedule (`.some(nil)` when the body has none); nil when it was refused.
    var schedule: RunSchedule??
    var store: Bool?

    /// Reads the shared fields from `r` and finishes it: a caller reads its own fields (a grade's
    /// `repeat`) before, so that `finish` knows them.
    static func read(_ r: inout JSONObjectReader, catalog: Catalog, maxima: RunLimits,
                     errors: inout ErrorCollector) -> RunBody {
        let experiment = errors.attempt { () throws(LabError) in try r.string("experiment") } ?? nil
        let params = r.value("params")
        let scenario = r.value("scenario")
        let programs = r.value("programs")
        let limits = r.value("limits")
        let checks = r.value("checks")
        let schedule = r.value("schedule")
        var body = RunBody()
        body.store = errors.attempt { () throws(LabError) in try r.bool("store") } ?? nil
        errors.attempt { () throws(LabError) in try r.finish() }
        body.run = errors.attempt { () throws(LabError) in
            try RunRequest.request(experiment: experiment, params: params, scenario: scenario, programs: programs,
                                   limits: limits, catalog: catalog, maxima: maxima)
        }
        body.checks = errors.attempt { () throws(LabError) in try Check.decodeList(checks, at: JSONPath().key("checks"), catalog: catalog) }
        body.schedule = errors.attempt { () throws(LabError) in try RunSchedule.decode(schedule, at: JSONPath().key("schedule")) }
        return body
    }

    /// The run with its checks and store choice, once the collector held no error.
    func request() throws(LabError) -> RunRequest {
        guard var run, let checks, schedule != nil else { throw LabError(.internalError, "a part of the request was lost") }
        run.checks = checks
        run.store = store ?? true
        return run
    }
}
