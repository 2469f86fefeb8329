import IPCLabCore

/// The API's routes as data, in the spirit of Hummingbird's router: a method, a path pattern
/// and a handler each. A path some route matches with another method is answered 405 with
/// `Allow`; HEAD is answered wherever GET is (the transport sends no body for it).
struct Route: Sendable {
    enum Handler: Sendable {
        /// Answered at once, on the calling thread; gets the path's `{id}`, if the pattern has one.
        case now(@Sendable (LabAPI, HTTPRequest, String?) -> HTTPResponse)
        /// `POST /api/v1/runs`: checked at once, then run on the executor (``LabAPI/handle(_:respond:)``).
        case run
        /// `POST /api/v1/grades`: checked at once, then its runs on the executor (``LabAPI/grade(_:respond:)``).
        case grade
    }

    var method: String
    /// A path, or a path ending in `{id}` (which matches the rest of the path, possibly empty).
    var path: String
    var handler: Handler

    init(_ method: String, _ path: String, _ handler: Handler) {
        self.method = method
        self.path = path
        self.handler = handler
    }

    /// Whether `path` matches: `.some(id)` (nil id for a pattern without one), or nil.
    func match(_ path: String) -> String?? {
        if self.path.hasSuffix("{id}") {
            let prefix = self.path.dropLast(4)
            return path.hasPrefix(prefix) ? .some(String(path.dropFirst(prefix.count))) : nil
        }
        return path == self.path ? .some(nil) : nil
    }
}

extension LabAPI {
    /// Every route of the API (`openapi.yaml` is the contract); any other path under `/api` is 404,
    /// anything else the page's static files.
    static let routes: [Route] = [
        Route("GET", "/healthz", .now { api, _, _ in api.health() }),
        Route("GET", "/openapi.yaml", .now { api, request, _ in
            guard let openAPI = api.openAPI else { return APIError.notFound(path: request.path).response }
            return HTTPResponse(status: .ok, headers: ["Content-Type": HTTPResponse.ContentType.yaml], body: openAPI)
        }),
        Route("GET", "/metrics", .now { api, _, _ in
            HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                         body: Array((api.metrics.render(api.executor.snapshot(), budgetBytes: api.executor.responseBudgetBytes)
                                      + api.runner.readings.render() + (api.store?.renderMetrics() ?? "")).utf8))
        }),
        Route("GET", "/api/v1/experiments", .now { api, _, _ in .json(api.catalog.json()) }),
        Route("GET", "/api/v1/calls", .now { _, _, _ in .json(Call.tableJSON()) }),
        Route("GET", "/api/v1/programs", .now { _, _, _ in .json(ProgramGallery.embeddedJSON) }),
        Route("GET", "/api/v1/experiments/{id}", .now { api, _, id in
            let id = id ?? ""
            guard let body = api.catalog.json(for: id) else {
                return APIError(LabError(.unknownExperiment, "no experiment \"\(id)\"; GET /api/v1/experiments lists them",
                                         path: "experiment")).response
            }
            return .json(body)
        }),
        // The store's reads (LabAPI+Store.swift answers them, 503 when the server keeps no store).
        Route("GET", "/api/v1/runs", .now { api, request, _ in api.storedRoutes(request) ?? APIError.notFound(path: request.path).response }),
        Route("POST", "/api/v1/runs", .run),
        Route("GET", "/api/v1/runs/{id}", .now { api, request, _ in api.storedRoutes(request) ?? APIError.notFound(path: request.path).response }),
        Route("POST", "/api/v1/grades", .grade),
        Route("GET", "/api/v1/grades/{id}", .now { api, request, _ in api.storedRoutes(request) ?? APIError.notFound(path: request.path).response }),
    ]

    /// What the table says about a request: its route and the path's `{id}`, the methods the path
    /// allows (when no route takes this method), or nothing.
    enum Routing {
        case route(Route, id: String?)
        case notAllowed([String])
        case none
    }

    /// The routes each literal path of the table matches, in table order, found once: most
    /// requests name one (`/healthz`), and one lookup costs less than matching every pattern.
    private static let literalMatches: [String: [(Route, String?)]] = {
        var table: [String: [(Route, String?)]] = [:]
        for route in routes where !route.path.hasSuffix("{id}") {
            table[route.path] = routes.compactMap { r in r.match(route.path).map { (r, $0) } }
        }
        return table
    }()

    static func route(_ method: String, _ path: String) -> Routing {
        let matching = literalMatches[path] ?? routes.compactMap { r in r.match(path).map { (r, $0) } }
        guard !matching.isEmpty else { return .none }
        if let (r, id) = matching.first(where: { $0.0.method == method || (method == "HEAD" && $0.0.method == "GET") }) {
            return .route(r, id: id)
        }
        var allowed: [String] = []
        for (r, _) in matching where !allowed.contains(r.method) {
            allowed.append(r.method)
            if r.method == "GET" { allowed.append("HEAD") }
        }
        return .notAllowed(allowed)
    }
}
