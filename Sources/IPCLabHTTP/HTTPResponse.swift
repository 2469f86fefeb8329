/// The answer an ``HTTPHandler`` gives: a status, header fields and the body bytes.
///
/// The server adds `Content-Length`, `Date` and `Connection` itself; a `Content-Length` set
/// here is ignored. A streamed response (``stream`` set) is sent with chunked transfer
/// encoding instead, as its body is written. For a `HEAD` request the server sends the headers of the response
/// (with the body's length) and no body, so a handler may answer `HEAD` like `GET`.
///
/// ```swift
/// .json(#"{"status":"ok"}"#)
/// .text(status: .notFound, "no such page\n")
/// HTTPResponse(status: .ok, headers: ["Content-Type": HTTPResponse.ContentType.yaml], body: bytes)
/// ```
public struct HTTPResponse: Sendable, Hashable {
    /// The status code.
    public var status: Status
    /// Header fields to send, by name as written. Keep names unique up to case.
    public var headers: [String: String]
    /// The body bytes.
    public var body: [UInt8]
    /// A body written while it is sent (chunked), instead of ``body``; see ``streaming(contentType:_:)``.
    public var stream: HTTPStreamingBody?

    /// A response with the given status, headers and body.
    public init(status: Status = .ok, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response (`Content-Type: application/json; charset=utf-8`) whose body is `body`,
    /// already encoded: `[UInt8]`, `Data`, or any other sequence of bytes.
    public static func json<Bytes: Sequence>(status: Status = .ok, _ body: Bytes) -> HTTPResponse
    where Bytes.Element == UInt8 {
        HTTPResponse(status: status, headers: ["Content-Type": ContentType.json], body: Array(body))
    }

    /// A JSON response whose body is the UTF-8 of `json`, already encoded.
    public static func json(status: Status = .ok, _ json: String) -> HTTPResponse {
        .json(status: status, Array(json.utf8))
    }

    /// A 200 response whose body is written while it is sent: the server sends what
    /// `body` is given as it comes, with chunked transfer encoding, until it is finished.
    public static func streaming(contentType: String, _ body: HTTPStreamingBody) -> HTTPResponse {
        var response = HTTPResponse(status: .ok, headers: ["Content-Type": contentType, "Cache-Control": "no-store"])
        response.stream = body
        return response
    }

    /// A plain-text response (`Content-Type: text/plain; charset=utf-8`).
    public static func text(status: Status = .ok, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": ContentType.plainText], body: Array(text.utf8))
    }

    /// The `Content-Type` header's value, looked up case-insensitively.
    public var contentType: String? {
        get { header("Content-Type") }
        set { setHeader("Content-Type", newValue) }
    }

    /// The value of header `name`, matched case-insensitively, or `nil`.
    public func header(_ name: String) -> String? {
        if let value = headers[name] { return value }
        let lowered = HTTPRequest.lowercasedASCII(name)
        return headers.first { HTTPRequest.lowercasedASCII($0.key) == lowered }?.value
    }

    /// Sets (or, with `nil`, removes) header `name`, replacing any spelling of it in another case.
    public mutating func setHeader(_ name: String, _ value: String?) {
        let lowered = HTTPRequest.lowercasedASCII(name)
        for key in headers.keys where HTTPRequest.lowercasedASCII(key) == lowered { headers[key] = nil }
        headers[name] = value
    }
}

extension HTTPResponse {
    /// An HTTP status code. Write one as a constant (`.notFound`) or a literal (`404`).
    public struct Status: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral,
        CustomStringConvertible
    {
        /// The three-digit code.
        public var code: Int
        /// The three-digit code (`RawRepresentable`).
        public var rawValue: Int { code }

        /// The status with this code.
        public init(code: Int) { self.code = code }
        /// The status with this code (`RawRepresentable`).
        public init(rawValue: Int) { self.code = rawValue }
        /// The status with this code, from a literal.
        public init(integerLiteral value: Int) { self.code = value }

        /// The code in decimal.
        public var description: String { String(code) }

        /// 200 OK.
        public static let ok = Status(code: 200)
        /// 201 Created.
        public static let created = Status(code: 201)
        /// 204 No Content.
        public static let noContent = Status(code: 204)
        /// 304 Not Modified.
        public static let notModified = Status(code: 304)
        /// 400 Bad Request.
        public static let badRequest = Status(code: 400)
        /// 404 Not Found.
        public static let notFound = Status(code: 404)
        /// 405 Method Not Allowed (send an `Allow` header with it).
        public static let methodNotAllowed = Status(code: 405)
        /// 413 Content Too Large.
        public static let contentTooLarge = Status(code: 413)
        /// 415 Unsupported Media Type.
        public static let unsupportedMediaType = Status(code: 415)
        /// 429 Too Many Requests.
        public static let tooManyRequests = Status(code: 429)
        /// 500 Internal Server Error.
        public static let internalServerError = Status(code: 500)
        /// 503 Service Unavailable (send a `Retry-After` header with it).
        public static let serviceUnavailable = Status(code: 503)
    }

    /// `Content-Type` values this service sends.
    public enum ContentType {
        /// `application/json; charset=utf-8`, the type of every JSON answer.
        public static let json = "application/json; charset=utf-8"
        /// `text/plain; charset=utf-8`.
        public static let plainText = "text/plain; charset=utf-8"
        /// `text/html; charset=utf-8`.
        public static let html = "text/html; charset=utf-8"
        /// `text/javascript; charset=utf-8` (for `.js` and `.mjs`).
        public static let javascript = "text/javascript; charset=utf-8"
        /// `text/css; charset=utf-8`.
        public static let css = "text/css; charset=utf-8"
        /// `image/svg+xml`.
        public static let svg = "image/svg+xml"
        /// `image/png`.
        public static let png = "image/png"
        /// `image/x-icon` (for `.ico`).
        public static let icon = "image/x-icon"
        /// `application/yaml` (for `/openapi.yaml`).
        public static let yaml = "application/yaml"
        /// `application/x-ndjson`: one JSON value per line (a streamed run).
        public static let ndjson = "application/x-ndjson"
        /// `application/octet-stream`, for bytes of no known type.
        public static let octetStream = "application/octet-stream"
    }
}
