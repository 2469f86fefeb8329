/// The routes of the admin listener (`ipclab serve --admin-port`): `GET /healthz` and
/// `GET /metrics` only, answered as by ``LabAPI``, anything else 404.
///
/// It listens on a port of its own, with connection limits of its own, so that health checks
/// and scraping still answer while clients hold every connection of the main port (trickling
/// heads from many addresses, say): no limit on the main port can both let a class of 300 in
/// and keep room that an attacker with many addresses cannot take.
public struct AdminAPI: HTTPHandler {
    /// The paths served; the same are kept for connections in the per-address reserve of the
    /// main port (``HTTPServerConfiguration/reservePaths``).
    public static let paths: Set<String> = ["/healthz", "/metrics"]

    /// The lab's API, which answers the two paths.
    public let api: LabAPI

    /// The admin routes of `api`.
    public init(api: LabAPI) {
        self.api = api
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard AdminAPI.paths.contains(request.path) else { return APIError.notFound(path: request.path).response }
        return api.handle(request)
    }
}
