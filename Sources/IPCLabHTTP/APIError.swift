import IPCLabCore

/// An error the API answers with: it knows its status and renders itself as
/// `{"error": {"code": "...", "message": "...", "path": "..."|null}}`.
///
/// A ``Code`` carries its status (the transport's codes and the lab's are one table,
/// ``HTTPError/Code``), so a handler throws or returns `APIError(.invalidScenario, "must be 1…1048576",
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

    /// The JSON body, `{"error":{"code":…,"message":…,"path":…}}`, in that key order.
    public var jsonBody: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(48 + code.rawValue.utf8.count + message.utf8.count + (path?.utf8.count ?? 4))
        out.append(contentsOf: #"{"error":{"code":"#.utf8)
        JSONWriter.appendString(code.rawValue, to: &out)
        out.append(contentsOf: #","message":"#.utf8)
        JSONWriter.appendString(message, to: &out)
        out.append(contentsOf: #","path":"#.utf8)
        if let path { JSONWriter.appendString(path, to: &out) } else { out.append(contentsOf: "null".utf8) }
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
    /// An error code (`invalid_json`, `not_found`, …) and the status it is answered with: the
    /// transport's codes (``HTTPError/Code``) and the lab's, below.
    public typealias Code = HTTPError.Code

    /// The lab's face of an error the transport answers by itself (its path stays `null`).
    public init(_ error: HTTPError) {
        self.init(error.code, error.message, headers: error.headers)
    }

    /// The lab's ``HTTPErrorRenderer``: every error the transport answers by itself gets the
    /// same JSON body as the API's own (``jsonBody``). Given to the servers, the static files
    /// and the run executor, so that no transport code writes the lab's error shape.
    public static let render: HTTPErrorRenderer = { APIError($0).response }
}

/// The lab's own codes, next to the transport's (``HTTPError/Code``).
extension HTTPError.Code {
    /// 400: the body is not JSON.
    public static let invalidJSON = Self("invalid_json", status: .badRequest)
    /// 400: a top-level field has the wrong type or is missing.
    public static let invalidRequest = Self("invalid_request", status: .badRequest)
    /// 400: a field that the schema does not know.
    public static let unknownField = Self("unknown_field", status: .badRequest)
    /// 400: an unknown or out-of-range preset parameter (or query parameter).
    public static let invalidParameter = Self("invalid_parameter", status: .badRequest)
    /// 400: the scenario fails validation.
    public static let invalidScenario = Self("invalid_scenario", status: .badRequest)
    /// 400: a run limit out of range.
    public static let invalidLimit = Self("invalid_limit", status: .badRequest)
    /// 404: no experiment with that id.
    public static let unknownExperiment = Self("unknown_experiment", status: .notFound)
    /// 415: a body that is not `application/json`, or has no Content-Type.
    public static let unsupportedMediaType = Self("unsupported_media_type", status: .unsupportedMediaType)
}

extension APIError {
    /// 404 `not_found`: no route or file answers `path` (the request path, not a JSON path,
    /// so the error's `path` stays `null`).
    public static func notFound(path: String) -> APIError { APIError(HTTPError.notFound(path: path)) }

    /// 405 `method_not_allowed` with `Allow: GET, HEAD` built from `allowed`.
    public static func methodNotAllowed(_ method: String = "", allowed: [String]) -> APIError {
        APIError(HTTPError.methodNotAllowed(method, allowed: allowed))
    }

    /// 503 `unavailable` with `Retry-After: seconds`.
    public static func unavailable(_ message: String, retryAfterSeconds: Int) -> APIError {
        APIError(HTTPError.unavailable(message, retryAfterSeconds: retryAfterSeconds))
    }

    /// 500 `internal`, with a message safe to show (log the details, do not send them).
    public static func `internal`(_ message: String = "internal error") -> APIError {
        APIError(HTTPError.internal(message))
    }
}
