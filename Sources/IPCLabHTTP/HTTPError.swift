/// An error the transport answers by itself, before a handler or instead of one: a head it
/// refuses (400 `bad_request`, 501 `not_implemented`), a body over the limit (413
/// `body_too_large`), a connection in the per-address reserve or a server that is stopping
/// (503 `unavailable`), a response the handler lost (500 `internal`); and the 404, 405 and
/// 503 of the transport's own handlers (``StaticFiles``, ``RunExecutor``).
///
/// The transport never writes an error body itself: it hands the error to an
/// ``HTTPErrorRenderer`` that the application gives it (``HTTPServer``'s `errors:`), so the
/// application's error format (the lab's JSON, ``APIError``) is decided in one place, and
/// the transport knows only a status, a stable code, a sentence and the header fields the
/// protocol asks for (`Allow`, `Retry-After`).
///
/// ```swift
/// let server = HTTPServer(configuration: configuration, logger: logger, handler: api,
///                         errors: { error in .text(status: error.status, error.message) })
/// ```
public struct HTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a stable string that clients key on, with its status.
    public var code: Code
    /// A sentence for a person; never internal detail.
    public var message: String
    /// Header fields the response must carry (`Allow` on a 405, `Retry-After` on a 503); the
    /// server sets them on whatever the renderer returns.
    public var headers: [String: String]

    /// An error with a code, a message and optionally header fields.
    public init(_ code: Code, _ message: String, headers: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.headers = headers
    }

    /// The HTTP status, from the code.
    public var status: HTTPResponse.Status { code.status }

    /// `code: message`, for logs.
    public var description: String { "\(code.rawValue): \(message)" }

    /// The response `render` makes of this error, with ``headers`` set on it.
    public func response(_ render: HTTPErrorRenderer) -> HTTPResponse {
        var response = render(self)
        for (name, value) in headers { response.setHeader(name, value) }
        return response
    }
}

/// Makes the response for an ``HTTPError``: the application's error body. Given to
/// ``HTTPServer``, ``StaticFiles`` and ``RunExecutor``; ``HTTPError/plainText`` when none is.
public typealias HTTPErrorRenderer = @Sendable (HTTPError) -> HTTPResponse

extension HTTPError {
    /// The renderer of a server with no error format of its own: `code: message` as plain text.
    public static let plainText: HTTPErrorRenderer = { error in
        .text(status: error.status, "\(error.code.rawValue): \(error.message)\n")
    }
}

extension HTTPError {
    /// An error code (`not_found`, `body_too_large`, …) and the status it is answered with.
    /// The transport's own codes are the static members here; an application adds its own
    /// with `extension HTTPError.Code { static let x = HTTPError.Code("x", status: 429) }`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code as clients see it.
        public var rawValue: String
        /// The status an error with this code is answered with.
        public var status: HTTPResponse.Status

        /// A code and its status.
        public init(_ rawValue: String, status: HTTPResponse.Status) {
            self.rawValue = rawValue
            self.status = status
        }

        /// The code as clients see it.
        public var description: String { rawValue }

        /// 400: the HTTP request itself is malformed or ambiguous (its framing, its target);
        /// answered by the server before any handler, and the connection is closed after it.
        public static let badRequest = Code("bad_request", status: .badRequest)
        /// 404: no such route or file.
        public static let notFound = Code("not_found", status: .notFound)
        /// 405: the path exists, the method does not (send `Allow`).
        public static let methodNotAllowed = Code("method_not_allowed", status: .methodNotAllowed)
        /// 413: the body is over the server's limit.
        public static let bodyTooLarge = Code("body_too_large", status: .contentTooLarge)
        /// 501: a transfer coding the server does not implement (only `chunked` is); the
        /// connection is closed after it.
        public static let notImplemented = Code("not_implemented", status: 501)
        /// 503: the server cannot take this now (send `Retry-After`).
        public static let unavailable = Code("unavailable", status: .serviceUnavailable)
        /// 500: a bug; log it. Never for bad input.
        public static let `internal` = Code("internal", status: .internalServerError)
    }
}

extension HTTPError {
    /// 404 `not_found`: no route or file answers `path` (the request path).
    public static func notFound(path: String) -> HTTPError {
        HTTPError(.notFound, "nothing at \(path)")
    }

    /// 405 `method_not_allowed` with `Allow: GET, HEAD` built from `allowed`.
    public static func methodNotAllowed(_ method: String = "", allowed: [String]) -> HTTPError {
        let what = method.isEmpty ? "method" : method
        return HTTPError(.methodNotAllowed, "\(what) not allowed here; allowed: \(allowed.joined(separator: ", "))",
                         headers: ["Allow": allowed.joined(separator: ", ")])
    }

    /// 413 `body_too_large` for a body over `limit` bytes.
    public static func bodyTooLarge(limit: Int) -> HTTPError {
        HTTPError(.bodyTooLarge, "request body is larger than \(limit) bytes")
    }

    /// 503 `unavailable` with `Retry-After: seconds`.
    public static func unavailable(_ message: String, retryAfterSeconds: Int) -> HTTPError {
        HTTPError(.unavailable, message, headers: ["Retry-After": String(retryAfterSeconds)])
    }

    /// 500 `internal`, with a message safe to show (log the details, do not send them).
    public static func `internal`(_ message: String = "internal error") -> HTTPError {
        HTTPError(.internal, message)
    }
}
