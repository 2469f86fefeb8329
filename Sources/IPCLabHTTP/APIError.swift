import IPCLabCore

/// An error the API answers with: it knows its status and renders itself as
/// `{"error": {"code": "...", "message": "...", "path": "..."|null}}`.
///
/// This is the one place where error codes meet HTTP statuses: a ``Code`` carries its
/// status, so a handler throws or returns `APIError(.invalidScenario, "must be 1…1048576",
/// path: "scenario.processes[1].steps[3].size")` and never picks a status by hand.
///
/// ```swift
/// return APIError.notFound(path: request.path).response
/// return APIError.methodNotAllowed(allowed: ["GET", "HEAD"]).response  // adds `Allow`
/// ```
public struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a stable string that clients key on, with the status it maps to.
    public var code: Code
    /// A sentence for a person; never a stack trace or internal detail.
    public var message: String
    /// Where in the request the problem is (`params.read_sizes[2]`, `limits.wall_ms`), or
    /// `nil` (rendered as JSON `null`).
    public var path: String?
    /// Extra header fields for the response, such as `Allow` or `Retry-After`.
    public var headers: [String: String]
    /// Every error found in the request, in document order, this one first (`error.errors`, at
    /// most 100). Empty when it was found alone: the JSON of a validation error (a code of
    /// ``Code/validationCodes``) then lists it alone, so a client (the page's editor) reads one
    /// shape; other errors (transport, 404, 5xx) leave `errors` out.
    public var errors: [Detail] = []

    /// One of ``errors``: `{"code", "message", "path"}`.
    public struct Detail: Sendable, Hashable {
        public var code: String
        public var message: String
        public var path: String?
    }

    /// An error with a code, a message, and optionally a path and header fields.
    public init(_ code: Code, _ message: String, path: String? = nil, headers: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.path = path
        self.headers = headers
    }

    /// The HTTP status, from the code.
    public var status: HTTPResponse.Status { code.status }

    /// `code: message (at path)`, for logs.
    public var description: String {
        "\(code.rawValue): \(message)" + (path.map { " (at \($0))" } ?? "")
    }

    /// The JSON body, `{"error":{"code":…,"message":…,"path":…}}`, in that key order, then `errors` when there are.
    public var jsonBody: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(48 + code.rawValue.utf8.count + message.utf8.count + (path?.utf8.count ?? 4))
        out.append(contentsOf: #"{"error":{"code":"#.utf8)
        JSONWriter.appendString(code.rawValue, to: &out)
        out.append(contentsOf: #","message":"#.utf8)
        JSONWriter.appendString(message, to: &out)
        out.append(contentsOf: #","path":"#.utf8)
        if let path { JSONWriter.appendString(path, to: &out) } else { out.append(contentsOf: "null".utf8) }
        let list = errors.isEmpty && Code.validationCodes.contains(code) ? [Detail(code: code.rawValue, message: message, path: path)] : errors
        if !list.isEmpty {
            out.append(contentsOf: #","errors":["#.utf8)
            for (n, e) in list.enumerated() {
                out.append(contentsOf: (n == 0 ? #"{"code":"# : #",{"code":"#).utf8)
                JSONWriter.appendString(e.code, to: &out)
                out.append(contentsOf: #","message":"#.utf8)
                JSONWriter.appendString(e.message, to: &out)
                out.append(contentsOf: #","path":"#.utf8)
                if let path = e.path { JSONWriter.appendString(path, to: &out) } else { out.append(contentsOf: "null".utf8) }
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }

    /// The response: the status, `Content-Type: application/json; charset=utf-8`, the
    /// error's header fields and ``jsonBody``.
    public var response: HTTPResponse {
        var response = HTTPResponse.json(status: status, jsonBody)
        for (name, value) in headers { response.setHeader(name, value) }
        return response
    }
}

extension APIError {
    /// An error code (`invalid_json`, `not_found`, …) and the status it is answered with.
    /// The contract's codes are the static members; add another with
    /// `extension APIError.Code { static let x = APIError.Code("x", status: 429) }`.
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

        /// 400: the body is not JSON.
        public static let invalidJSON = Code("invalid_json", status: .badRequest)
        /// 400: a top-level field has the wrong type or is missing.
        public static let invalidRequest = Code("invalid_request", status: .badRequest)
        /// 400: a field that the schema does not know.
        public static let unknownField = Code("unknown_field", status: .badRequest)
        /// 400: an unknown or out-of-range preset parameter (or query parameter).
        public static let invalidParameter = Code("invalid_parameter", status: .badRequest)
        /// 400: the scenario fails validation.
        public static let invalidScenario = Code("invalid_scenario", status: .badRequest)
        /// 400: a run limit out of range.
        public static let invalidLimit = Code("invalid_limit", status: .badRequest)
        /// 404: no experiment with that id.
        public static let unknownExperiment = Code("unknown_experiment", status: .notFound)
        /// 404: no such route or file.
        public static let notFound = Code("not_found", status: .notFound)
        /// 405: the path exists, the method does not (send `Allow`).
        public static let methodNotAllowed = Code("method_not_allowed", status: .methodNotAllowed)
        /// 413: the body is over the server's limit.
        public static let bodyTooLarge = Code("body_too_large", status: .contentTooLarge)
        /// 415: a body that is not `application/json`, or has no Content-Type.
        public static let unsupportedMediaType = Code("unsupported_media_type", status: .unsupportedMediaType)
        /// 503: the spawner is down (send `Retry-After`).
        public static let unavailable = Code("unavailable", status: .serviceUnavailable)
        /// 400: the HTTP request itself is malformed or ambiguous (its framing, its target);
        /// answered by the server before any handler, and the connection is closed after it.
        public static let badRequest = Code("bad_request", status: .badRequest)
        /// 501: a transfer coding the server does not implement (only `chunked` is); the
        /// connection is closed after it.
        public static let notImplemented = Code("not_implemented", status: 501)
        /// The 400s of a request's validation: their JSON always carries `errors`.
        public static let validationCodes: Set<Code> = [.invalidJSON, .invalidRequest, .unknownField, .invalidParameter,
                                                        .invalidScenario, .invalidLimit]
        /// 500: a bug; log it. Never for bad input.
        public static let `internal` = Code("internal", status: .internalServerError)
    }
}

extension APIError {
    /// 404 `not_found`: no route or file answers `path` (the request path, not a JSON path,
    /// so the error's `path` stays `null`).
    public static func notFound(path: String) -> APIError {
        APIError(.notFound, "nothing at \(path)")
    }

    /// 405 `method_not_allowed` with `Allow: GET, HEAD` built from `allowed`.
    public static func methodNotAllowed(_ method: String = "", allowed: [String]) -> APIError {
        let what = method.isEmpty ? "method" : method
        return APIError(.methodNotAllowed, "\(what) not allowed here; allowed: \(allowed.joined(separator: ", "))",
                        headers: ["Allow": allowed.joined(separator: ", ")])
    }

    /// 413 `body_too_large` for a body over `limit` bytes.
    public static func bodyTooLarge(limit: Int) -> APIError {
        APIError(.bodyTooLarge, "request body is larger than \(limit) bytes")
    }

    /// 503 `unavailable` with `Retry-After: seconds`.
    public static func unavailable(_ message: String, retryAfterSeconds: Int) -> APIError {
        APIError(.unavailable, message, headers: ["Retry-After": String(retryAfterSeconds)])
    }

    /// 500 `internal`, with a message safe to show (log the details, do not send them).
    public static func `internal`(_ message: String = "internal error") -> APIError {
        APIError(.internal, message)
    }
}
