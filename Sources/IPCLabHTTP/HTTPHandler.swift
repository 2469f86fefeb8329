/// Answers requests for an ``HTTPServer``.
///
/// The server calls ``handle(_:)`` once per request, after the whole body has arrived, on one
/// of its pool threads, and for several requests at once: a handler must be safe to call
/// concurrently, hence `Sendable`. The call blocks that pool thread (and the other
/// connections it serves) until it returns, so slow work belongs elsewhere or on its own
/// threads. A handler cannot throw: it turns its errors into responses (``APIError``
/// renders itself), and should not trap, since a trap ends the process.
public protocol HTTPHandler: Sendable {
    /// The response to `request`.
    func handle(_ request: HTTPRequest) -> HTTPResponse
}
