import IPCLabCore
import IPCLabSandbox
import IPCLabStore
import Logging

/// The lab's HTTP API: routes `/api/v1/…`, `/healthz` and `/openapi.yaml`, and hands
/// every other path to the static files of the page. See `openapi.yaml` for the contract.
public struct LabAPI: HTTPHandler {
    public let catalog: Catalog
    public let runner: LabRunner
    public let staticFiles: StaticFiles?
    /// The bytes of `openapi.yaml`, served as they are.
    public let openAPI: [UInt8]?
    public let version: String
    /// What the sandbox gave the start-up self-test run: the protections in force.
    public let sandbox: SandboxReport
    /// Each protection, active or missing, read from ``sandbox``.
    public let protections: SandboxProtections
    /// Started with `--insecure-no-sandbox`.
    public let insecure: Bool
    /// The threads `POST /api/v1/runs` runs on, so that a run never holds a server thread.
    public let executor: RunExecutor
    /// The thread a run or grade body larger than ``cachedBodyBytes`` is checked on (parsed, validated,
    /// expanded: up to ~0.3 s for the largest a body may ask for), so that it never holds a server thread
    /// either: with two of those, every connection would wait that long, `/healthz` too.
    let checker: RunExecutor
    public let metrics: LabMetrics
    /// Who a run request counts as for the fair sharing of ``executor``: address or API key.
    public let clients: RunClients
    /// Where runs are stored (see LabAPI+Store.swift); nil stores nothing.
    public var store: RunStore?
    let logger: Logger
    /// The unchanging part of `/healthz` (see ``health()``).
    let healthTail: [UInt8]
    /// The last `/healthz` answer, kept while the spawner's status stays the same.
    let healthCache = HealthCache()
    /// The checked requests of the run bodies sent lately (at most ``cachedBodyBytes`` each): clients send
    /// the same preset run again and again, and its body is parsed, checked and expanded once.
    let recentRuns = RecentCache<[UInt8], RunRequest>(capacity: 16)
    /// The largest body whose checked request ``recentRuns`` keeps.
    static let cachedBodyBytes = 4096
    /// The most steps a kept request's scenario has (a small body may ask a preset for a large one).
    static let cachedSteps = 1024

    public init(catalog: Catalog = .standard, runner: LabRunner, staticFiles: StaticFiles?, openAPI: [UInt8]?,
                version: String, sandbox: SandboxReport, protections: SandboxProtections? = nil, insecure: Bool = false,
                executor: RunExecutor = RunExecutor(), metrics: LabMetrics = LabMetrics(), clients: RunClients = RunClients(),
                logger: Logger) {
        self.catalog = catalog
        // One thread (one core of checking at most, whatever is sent), a short queue shared fairly.
        checker = RunExecutor(threads: 1, queueLimit: 32, perClientLimit: 4, name: "ipclab-check")
        self.clients = clients
        self.metrics = metrics
        self.executor = executor
        self.sandbox = sandbox
        self.protections = protections ?? SandboxProtections(sandbox)
        self.insecure = insecure
        self.runner = runner
        self.staticFiles = staticFiles
        self.openAPI = openAPI
        self.version = version
        self.logger = logger
        healthTail = Self.healthTail(insecure: insecure, sandbox: sandbox, protections: self.protections,
                                     maxWallMs: runner.maxWallMs, experiments: catalog.presets.count)
    }

    /// `POST /api/v1/runs` is checked (a bad request is answered at once) and run on ``executor``
    /// (503 `unavailable` at once when it is full), streamed as NDJSON when the request accepts it
    /// (``streamRun(_:respond:)``); `POST /api/v1/grades` alike. A body up to ``cachedBodyBytes`` is
    /// checked on the calling (HTTP) thread, a larger one on ``checker``'s. Everything else is
    /// answered at once by ``handle(_:)``.
    public func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
        let routing = Self.route(request.method, request.path)
        guard case .route(let route, _) = routing else { return respond(answer(request, routing)) }
        if case .now = route.handler { return respond(answer(request, routing)) }
        guard request.body.count > Self.cachedBodyBytes else { return handleChecked(request, route, respond: respond) }
        // A large body is checked on the checker's thread, which then hands the run to the executor.
        let client = clients.client(of: request)
        let refusedBy = checker.submit(client: client, { _ in handleChecked(request, route, respond: respond) }, expired: {
            // The checker has no queue-wait limit today; should it get one, the client still gets an answer.
            metrics.rejected(reason: RunExecutor.Rejection.queueWait.rawValue)
            respond(checker.refusal(.queueWait, client: client).response(APIError.render))
        })
        if let refusedBy {
            metrics.rejected(reason: refusedBy.rawValue)
            respond(checker.refusal(refusedBy, client: client).response(APIError.render))
        }
    }

    /// A run or a grade: its body checked (on the calling thread), then run on ``executor``.
    private func handleChecked(_ request: HTTPRequest, _ route: Route, respond: @escaping HTTPResponder) {
        switch route.handler {
        case .now: return respond(handle(request))
        case .grade: return grade(request, respond: respond)
        case .run: break
        }
        switch prepareRun(request) {
        case .failure(let error):
            metrics.rejected(reason: error.code.rawValue)
            respond(error.response)
        case .success(let (runRequest, format)) where Self.wantsNDJSON(request):
            guard format == "json" else {
                let error = APIError(.invalidParameter,
                                     "a streamed run (Accept: application/x-ndjson) ends with the JSON trace; leave out format=\(format)",
                                     path: "format")
                metrics.rejected(reason: error.code.rawValue)
                return respond(error.response)
            }
            streamRun(runRequest, client: clients.client(of: request), respond: respond)
        case .success(let (runRequest, format)):
            // The executor answers 503 itself, without running the work, when full (or the
            // client has its most) or when the run waited too long for a thread or the budget.
            executor.respond(respond, client: clients.client(of: request), cost: Self.responseCost(events: runRequest.limits.events, format: format),
                             errors: APIError.render, rejected: { metrics.rejected(reason: $0.rawValue) },
                             answeringHere: true) { reservation in
                run(runRequest, format: format, reservation: reservation, fields: Self.fields(of: request))
            }
        }
    }

    /// Every request but a run, answered at once from the route table (``routes``).
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        answer(request, Self.route(request.method, request.path))
    }

    /// ``handle(_:)`` with the request's route already looked up (once per request).
    private func answer(_ request: HTTPRequest, _ routing: Routing) -> HTTPResponse {
        switch routing {
        case .route(let route, let id):
            switch route.handler {
            case .now(let answer): return answer(self, request, id)
            // Runs and grades never come here: handle(_:respond:) takes them to the executor.
            case .run: return APIError.internal("a run is answered by handle(_:respond:)").response
            case .grade: return APIError(.unavailable, "grades are answered asynchronously").response
            }
        case .notAllowed(let allowed):
            return APIError.methodNotAllowed(request.method, allowed: allowed).response
        case .none:
            if request.path == "/api" || request.path.hasPrefix("/api/") { return APIError.notFound(path: request.path).response }
            guard let staticFiles else { return APIError.notFound(path: request.path).response }
            return staticFiles.handle(request, errors: APIError.render)
        }
    }

    /// The checks of `POST /api/v1/runs` that need no run: the media type, `format`, the body.
    private func prepareRun(_ request: HTTPRequest) -> Result<(RunRequest, String), APIError> {
        guard request.mediaType == "application/json" else {
            return .failure(APIError(.unsupportedMediaType,
                                     "send the run as JSON with Content-Type: application/json, not \(request.mediaType.map { "\"\($0)\"" } ?? "no Content-Type")"))
        }
        let format = request.query["format"] ?? "json"
        guard ["json", "text", "chrome"].contains(format) else {
            return .failure(APIError(.invalidParameter, "format must be \"json\", \"text\" or \"chrome\", not \"\(format)\"", path: "format"))
        }
        if case .failure(let error) = Self.traceFields(request, format: format) { return .failure(error) }
        do {
            // A body is checked against this server's catalog and maxima, which never change: the same
            // bytes are the same request (an error is not kept, and is found again).
            guard request.body.count <= Self.cachedBodyBytes else {
                return .success((try RunRequest.decode(request.body, catalog: catalog, maxima: runner.maxima), format))
            }
            let small = { (r: RunRequest) in r.scenario.processes.reduce(0) { $0 + $1.steps.count } <= Self.cachedSteps }
            let runRequest = try recentRuns.value(for: request.body, keeps: small) { () throws(LabError) in
                try RunRequest.decode(request.body, catalog: catalog, maxima: runner.maxima)
            }
            return .success((runRequest, format))
        } catch {
            return .failure(APIError(error))
        }
    }

    /// Runs a checked request and renders its trace as `format` (JSON: only `fields`, when given); a
    /// large one is pulled in pieces while `reservation` (of the response budget) is held.
    private func run(_ runRequest: RunRequest, format: String, reservation: RunExecutor.Reservation?,
                     fields: TraceFields? = nil) -> HTTPResponse {
        metrics.countRun(experiment: runRequest.experimentID) { outcome in
            do throws(LabError) {
                let trace = try runner.run(runRequest)
                outcome = trace.run.outcome.rawValue
                // A JSON answer sent whole is rendered once: the bytes answered are the bytes stored.
                let json = format == "json" && (fields != nil || trace.events.count < Self.streamedEvents) ? trace.json() : nil
                if let refusal = storeRun(trace, runRequest, json: json) {
                    reservation?.release()
                    return APIError(refusal).response
                }
                logger.debug("run", metadata: ["experiment": "\(runRequest.experimentID ?? "custom")",
                                               "outcome": "\(trace.run.outcome.rawValue)"])
                if let json {
                    // A chosen part of the trace is cut from the whole (graders ask for fields to keep answers small).
                    defer { reservation?.release() }
                    return .json(fields.map { $0.select(json) } ?? json)
                }
                return traceResponse(trace, format: format,
                                     reservation: reservation ?? RunExecutor.Reservation(client: "", bytes: 0, core: nil))
            } catch {
                return APIError(error).response
            }
        }
    }

    /// `GET /healthz`: what protects runs, and whether the spawner is up. Only the spawner's state
    /// changes while the server runs: the rest of the body (``healthTail``) is written once.
    func health() -> HTTPResponse {
        let reports = runner.spawnerReports
        if let cached = healthCache.response(for: reports) { return cached }
        let spawner = runner.spawnerStatus
        let spawnerUp = spawner.running
        var w = JSONWriter()
        w.object { w in
            w.field("status", spawnerUp ? "ok" : "degraded")
            w.field("version", version)
            w.key("spawner")
            w.object { w in
                w.field("state", spawnerUp ? "running" : "stopped")
                w.field("pid", spawner.pid.map(Int.init))
                w.field("restarts", spawner.restarts)
            }
            w.key("spawners")
            w.array { w in
                for r in reports {
                    w.object { w in
                        w.field("image", r.image.rawValue)
                        w.field("state", r.status.running ? "running" : "stopped")
                        w.field("pid", r.status.pid.map(Int.init))
                        w.field("restarts", r.status.restarts)
                    }
                }
            }
        }
        // `{…}` + `{"insecure":…}` → `{…,"insecure":…}`: the same object, in the same key order.
        var body = w.bytes
        body.removeLast()
        body.append(UInt8(ascii: ","))
        body.append(contentsOf: healthTail.dropFirst())
        let response = HTTPResponse.json(status: spawnerUp ? .ok : .serviceUnavailable, body)
        healthCache.store(response, for: reports)
        return response
    }

    /// The fields of `/healthz` after `spawner`, as a JSON object (they do not change while the server runs).
    static func healthTail(insecure: Bool, sandbox: SandboxReport, protections: SandboxProtections,
                           maxWallMs: Int, experiments: Int) -> [UInt8] {
        var w = JSONWriter()
        w.object { w in
            w.field("insecure", insecure)
            w.key("sandbox")
            w.object { w in
                w.key("namespaces"); w.array { w in for n in sandbox.namespaces { w.value(n) } }
                w.field("user_namespace", sandbox.namespaces.contains("user"))
                w.key("setup"); w.array { w in for op in sandbox.setup where op.result == 0 { w.value(op.op) } }
                w.field("seccomp", sandbox.seccomp?.mode)
                w.field("max_wall_ms", maxWallMs)
            }
            w.key("protections")
            w.object { w in
                w.key("active"); w.array { w in for p in protections.active { w.value(p.name) } }
                for (key, list) in [("missing", protections.missing), ("unknown", protections.unknown)] {
                    w.key(key)
                    w.array { w in
                        for p in list { w.object { w in w.field("name", p.name); w.field("reason", p.reason) } }
                    }
                }
            }
            w.field("experiments", experiments)
        }
        return w.bytes
    }
}
