/// A validated `POST /api/v1/runs` body: a preset with parameters, or a custom scenario.
public struct RunRequest: Sendable {
    /// The preset, when the request named one.
    public var preset: (any Preset)?
    public var parameters: Parameters?
    /// The scenario that will run (the preset's expansion, or the custom one).
    public var scenario: Scenario
    public var limits: RunLimits
    /// The checks to grade the trace with (`checks`), in order.
    public var checks: [Check] = []
    /// The perturbed schedule (`schedule`), if any.
    public var schedule: RunSchedule?
    /// Whether the server stores the run (`"store": false` in the body skips it).
    public var store = true
    /// The students' C programs the run compiles and runs (`programs`), instead of a preset or a
    /// scenario; ``scenario`` then has one process per program and no steps (``ProgramSpec/scenario(of:)``).
    public var programs: [ProgramSpec]?

    public var experimentID: String? { preset?.experiment.id }

    public init(preset: (any Preset)?, parameters: Parameters?, scenario: Scenario, limits: RunLimits) {
        self.preset = preset
        self.parameters = parameters
        self.scenario = scenario
        self.limits = limits
    }

    /// A run of a preset by id, with parameters given as JSON (as `ipclab run` and the API take them).
    public static func preset(_ id: String, params: JSONValue?, limits: JSONValue? = nil, catalog: Catalog = .standard,
                              maxWallMs: Int = 10_000) throws(LabError) -> RunRequest {
        var maxima = RunLimits.standardMaxima
        maxima.wallMs = maxWallMs
        return try preset(id, params: params, limits: limits, catalog: catalog, maxima: maxima)
    }

    /// A run of a preset by id, each limit bounded by the server's `maxima`.
    public static func preset(_ id: String, params: JSONValue?, limits: JSONValue? = nil, catalog: Catalog = .standard,
                              maxima: RunLimits) throws(LabError) -> RunRequest {
        guard let preset = catalog.preset(id) else {
            throw LabError(.unknownExperiment, "no experiment \"\(id)\"; GET /api/v1/experiments lists them", path: "experiment")
        }
        let parameters = try Parameters.decode(params, for: preset.experiment)
        try preset.validate(parameters)
        let scenario = preset.scenario(parameters)
        let limits = try RunLimits.decode(limits, maxima: maxima, defaultWallMs: preset.experiment.defaultWallMs)
        try limits.check(scenario, maxima: maxima)
        return RunRequest(preset: preset, parameters: parameters, scenario: scenario, limits: limits)
    }

    /// Reads a request body: `{"experiment": ID, "params": {…}}` or `{"scenario": {…}}`, optional `"limits"`.
    public static func decode(_ body: some Collection<UInt8>, catalog: Catalog = .standard,
                              maxWallMs: Int = 10_000) throws(LabError) -> RunRequest {
        var maxima = RunLimits.standardMaxima
        maxima.wallMs = maxWallMs
        return try decode(body, catalog: catalog, maxima: maxima)
    }

    /// Reads a request body, each limit bounded by the server's `maxima`. Every error of the body is
    /// reported at once (``LabError/errors``, in document order).
    public static func decode(_ body: some Collection<UInt8>, catalog: Catalog = .standard,
                              maxima: RunLimits) throws(LabError) -> RunRequest {
        let value = try JSONValue.parse(body)
        do throws(LabError) {
            try refuseNull(in: value)
            var errors = ErrorCollector()
            var r = try JSONObjectReader(value, at: JSONPath(), code: .invalidRequest)
            let fields = RunBody.read(&r, catalog: catalog, maxima: maxima, errors: &errors)
            try errors.check()
            var request = try fields.request()
            request.schedule = fields.schedule ?? nil
            return request
        } catch {
            throw error.inDocumentOrder(of: body)
        }
    }

    /// The run a body's `experiment`/`params` or `scenario`, and `limits`, ask for (also read by grades);
    /// the scenario's errors and the limits' are reported together.
    public static func request(experiment: String?, params: JSONValue?, scenario: JSONValue?, limits: JSONValue?,
                               catalog: Catalog, maxima: RunLimits) throws(LabError) -> RunRequest {
        switch (experiment, scenario) {
        case let (id?, nil):
            return try preset(id, params: params, limits: limits, catalog: catalog, maxima: maxima)
        case let (nil, s?):
            var errors = ErrorCollector()
            if params != nil {
                errors.add(LabError(.invalidRequest, "params go with \"experiment\"; a scenario carries its own values", path: "params"))
            }
            let scenario = errors.attempt { () throws(LabError) in try Scenario.decode(s) }
            let limits = errors.attempt { () throws(LabError) in try RunLimits.decode(limits, maxima: maxima) }
            if let scenario, let limits {
                errors.attempt { () throws(LabError) in try limits.check(scenario, maxima: maxima) }
            }
            try errors.check()
            guard let scenario, let limits else { throw LabError(.internalError, "a part of the request was lost") }
            return RunRequest(preset: nil, parameters: nil, scenario: scenario, limits: limits)
        case (nil, nil):
            throw LabError(.invalidRequest, "give \"experiment\" (a preset id) or \"scenario\"", path: "experiment")
        default:
            throw LabError(.invalidRequest, "give either \"experiment\" or \"scenario\", not both", path: "scenario")
        }
    }

    /// The run a body's `programs`, or its `experiment`/`params` or `scenario`, and `limits` ask for
    /// (runs and grades read them alike).
    public static func request(experiment: String?, params: JSONValue?, scenario: JSONValue?, programs: JSONValue?,
                               limits: JSONValue?, catalog: Catalog, maxima: RunLimits) throws(LabError) -> RunRequest {
        guard let programs else {
            return try request(experiment: experiment, params: params, scenario: scenario, limits: limits,
                               catalog: catalog, maxima: maxima)
        }
        if experiment != nil || scenario != nil || params != nil {
            throw LabError(.invalidRequest, "give \"programs\", or \"experiment\" or \"scenario\", not both",
                           path: experiment != nil ? "experiment" : scenario != nil ? "scenario" : "params")
        }
        return try programRequest(programs, limits: limits, maxima: maxima)
    }

    /// A run of students' programs (`programs`), under `limits` (which bound compiling and running alike).
    public static func programRequest(_ programs: JSONValue, limits: JSONValue?, maxima: RunLimits) throws(LabError) -> RunRequest {
        var errors = ErrorCollector()
        let list = errors.attempt { () throws(LabError) in try ProgramSpec.decodeList(programs, at: JSONPath().key("programs")) }
        let limits = errors.attempt { () throws(LabError) in try RunLimits.decode(limits, maxima: maxima) }
        try errors.check()
        guard let list, let limits else { throw LabError(.internalError, "a part of the request was lost") }
        var request = RunRequest(preset: nil, parameters: nil, scenario: ProgramSpec.scenario(of: list), limits: limits)
        request.programs = list
        return request
    }

    /// The results of ``checks`` on `trace`; nil when the request gave none.
    public func grade(_ trace: Trace) -> [CheckResult]? {
        guard !checks.isEmpty else { return nil }
        let run = preset.flatMap { p in parameters.map { (p.experiment.id, $0) } }
        return checks.map { $0.evaluate(trace, run: run) }
    }

    /// Refuses a `null` anywhere in a request body but as a value inside `params` (an open
    /// object whose members may be `null` for "the default"): the schema gives every other
    /// field a type without `null`, so a client sending one is told so, with its path, instead
    /// of having it read as "left out". Every null is reported (put in document order by the caller).
    static func refuseNull(in body: JSONValue) throws(LabError) {
        // `top`: the top-level field `value` is in; `nested`: below it (a top-level field
        // itself is the request's, invalid_request).
        var errors = ErrorCollector()
        func visit(_ value: JSONValue, at path: JSONPath, top: String?, nested: Bool) {
            switch value {
            case .null:
                let code: LabError.Code = switch nested ? top : nil {
                case "limits": .invalidLimit
                case "scenario": .invalidScenario
                default: .invalidRequest
                }
                errors.add(LabError(code, "must not be null; leave the field out for its default", path: path.description))
            case .object(let fields):
                for key in fields.keys.sorted() where !(top == nil && key == "params" && fields[key] != .null) {
                    visit(fields[key]!, at: path.key(key), top: top ?? key, nested: top != nil)
                }
            case .array(let items):
                for (index, item) in items.enumerated() {
                    visit(item, at: path.index(index), top: top, nested: true)
                }
            default:
                break
            }
        }
        // A body that is `null` itself is left to the reader ("must be an object").
        if case .object = body { visit(body, at: JSONPath(), top: nil, nested: false) }
        try errors.check()
    }

    /// The observations of this run, checked against its trace: a preset's own; for C programs, those
    /// whose shape their events have (``ProgramObservations``); none for a custom scenario.
    public func observe(_ trace: Trace) -> [Observation] {
        if programs != nil { return ProgramObservations.observe(trace) }
        guard let preset, let parameters else { return [] }
        return preset.observe(trace, parameters)
    }
}
