import IPCLabCore
import IPCLabStore

/// Stored runs and grades: the store call at the end of a run (``storeRun(_:_:)``), and the
/// routes that read them back (``storedRoutes(_:)``): `GET /api/v1/runs`, `GET /api/v1/runs/{id}`,
/// `GET /api/v1/grades/{id}`.
extension LabAPI {
    /// The most runs one page of `GET /api/v1/runs` lists, and how many it lists by default.
    static let maxListLimit = 200
    static let defaultListLimit = 50

    /// Stores a finished run unless its request said `"store": false` or the server has no store.
    /// `json`: the trace's JSON when the answer rendered it already (stored as it is, not rendered again).
    /// Returns the error to answer instead of the trace when it could not be stored: a 200 means stored.
    func storeRun(_ trace: Trace, _ request: RunRequest, json: [UInt8]? = nil) -> LabError? {
        guard request.store, let store else { return nil }
        do {
            try store.store(trace, json: json)
            return nil
        } catch {
            logger.error("could not store a run", metadata: ["run": "\(trace.run.id)", "error": "\(error)"])
            return LabError(.unavailable, "the run finished but could not be stored (\(error)); send it again, "
                            + "or with \"store\": false to have it without storing")
        }
    }

    /// Stores a finished grade, and the trace of its first failing run (so the run behind a disputed grade
    /// can be fetched), unless its request said `"store": false` or the server has no store. The grade
    /// gets its `id`. The runs of a grade are not stored one by one. Returns the error to answer instead.
    func storeGrade(_ report: inout GradeReport, _ request: GradeRequest) -> LabError? {
        guard request.run.store, let store else { return nil }
        do {
            if let failing = report.failingTrace { try store.store(failing) }
            let id = RunStore.newID()
            report.id = id
            try store.storeGrade(id: id, runID: report.failingTrace?.run.id, json: report.json())
            return nil
        } catch {
            logger.error("could not store a grade", metadata: ["error": "\(error)"])
            return LabError(.unavailable, "the grade finished but could not be stored (\(error)); send it again, "
                            + "or with \"store\": false to have it without storing")
        }
    }

    /// The answer to a stored-run or grade route, or nil when `request` is for another route
    /// (`POST /api/v1/runs` among them).
    func storedRoutes(_ request: HTTPRequest) -> HTTPResponse? {
        let path = request.path
        let read = ["GET", "HEAD"]
        if path == "/api/v1/runs" {
            if request.method == "POST" { return nil }
            guard read.contains(request.method) else {
                return APIError.methodNotAllowed(request.method, allowed: ["GET", "HEAD", "POST"]).response
            }
            return listRuns(request)
        }
        for (prefix, kind) in [("/api/v1/runs/", "run"), ("/api/v1/grades/", "grade")] where path.hasPrefix(prefix) {
            let id = String(path.dropFirst(prefix.count))
            guard read.contains(request.method) else { return APIError.methodNotAllowed(request.method, allowed: read).response }
            return kind == "run" ? storedRun(id, request) : storedGrade(id)
        }
        return nil
    }

    /// `GET /api/v1/runs/{id}?format=json|text|chrome`.
    private func storedRun(_ id: String, _ request: HTTPRequest) -> HTTPResponse {
        let formatName = request.query["format"] ?? "json"
        guard let format = StoredRun.Format(rawValue: formatName) else {
            return APIError(.invalidParameter, "format must be \"json\", \"text\" or \"chrome\", not \"\(formatName)\"",
                            path: "format").response
        }
        guard let store else { return Self.noStore }
        do {
            guard let bytes = try store.trace(id: id, format: format) else {
                return APIError(.notFound, "no stored run \"\(id)\": it was never stored (\"store\": false, or another "
                                + "server), or retention has deleted it").response
            }
            switch format {
            case .text: return HTTPResponse(status: .ok, headers: ["Content-Type": HTTPResponse.ContentType.plainText], body: bytes)
            case .json, .chrome: return .json(bytes)
            }
        } catch {
            return storeFailure(error)
        }
    }

    /// `GET /api/v1/grades/{id}`.
    private func storedGrade(_ id: String) -> HTTPResponse {
        guard let store else { return Self.noStore }
        do {
            guard let bytes = try store.grade(id: id) else {
                return APIError(.notFound, "no stored grade \"\(id)\"").response
            }
            return .json(bytes)
        } catch {
            return storeFailure(error)
        }
    }

    /// `GET /api/v1/runs?limit=&before=&experiment=&outcome=`.
    private func listRuns(_ request: HTTPRequest) -> HTTPResponse {
        let q = request.query
        var limit = Self.defaultListLimit
        if let text = q["limit"] {
            guard let n = Int(text), (1...Self.maxListLimit).contains(n) else {
                return APIError(.invalidParameter, "limit must be an integer from 1 to \(Self.maxListLimit), not \"\(text)\"",
                                path: "limit").response
            }
            limit = n
        }
        let outcomes = Outcome.allCases.map(\.rawValue)
        if let outcome = q["outcome"], Outcome(rawValue: outcome) == nil {
            return APIError(.invalidParameter, "outcome must be one of \(outcomes.joined(separator: ", ")), not \"\(outcome)\"",
                            path: "outcome").response
        }
        if let experiment = q["experiment"], experiment != "custom", catalog.preset(experiment) == nil {
            return APIError(LabError(.unknownExperiment, "no experiment \"\(experiment)\"; GET /api/v1/experiments lists them "
                                     + "(\"custom\" lists the custom scenarios)", path: "experiment")).response
        }
        guard let store else { return .json(RunPage(runs: [], next: nil).json()) }
        do {
            guard let page = try store.list(limit: limit, before: q["before"].flatMap { $0.isEmpty ? nil : $0 },
                                            experiment: q["experiment"], outcome: q["outcome"]) else {
                return APIError(.invalidParameter, "before must be the id of a stored run (a page's \"next\"), "
                                + "not \"\(q["before"] ?? "")\"", path: "before").response
            }
            return .json(page.json())
        } catch {
            return storeFailure(error)
        }
    }

    private static var noStore: HTTPResponse {
        APIError(.notFound, "this server stores no runs (it was started without a store)").response
    }

    private func storeFailure(_ error: any Error) -> HTTPResponse {
        logger.error("could not read the store", metadata: ["error": "\(error)"])
        return APIError(LabError(.unavailable, "the store could not be read (\(error)); try again")).response
    }
}
