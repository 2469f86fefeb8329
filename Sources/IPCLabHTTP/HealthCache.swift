import IPCLabSandbox
import Synchronization

/// The last `GET /healthz` response and the spawners' statuses it was written for. Only the
/// spawners' statuses change the body while the server runs (a restart), so the body is
/// written once per change, not once per request, and every answer shares the one body
/// (which the server then recognises and sends prebuilt: ``PreparedResponses``).
final class HealthCache: Sendable {
    private let last = Mutex<(status: [LabRunner.SpawnerReport], response: HTTPResponse)?>(nil)

    init() {}

    /// The response written for `status`, if the last one was.
    func response(for status: [LabRunner.SpawnerReport]) -> HTTPResponse? {
        last.withLock { last in
            guard let last, last.status == status else { return nil }
            return last.response
        }
    }

    /// Keeps `response` as the answer while the spawners' statuses are `status`.
    func store(_ response: HTTPResponse, for status: [LabRunner.SpawnerReport]) {
        last.withLock { $0 = (status, response) }
    }
}
