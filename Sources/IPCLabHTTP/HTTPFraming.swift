/// The checks of a request head that libmicrohttpd 0.9.75 does not make itself, so that a
/// proxy in front and this server can never disagree on where a request ends (request
/// smuggling) or what it names.
///
/// libmicrohttpd refuses a malformed first `Content-Length` itself (400, connection closed).
/// It lets through what these checks refuse: `Content-Length` together with
/// `Transfer-Encoding` (it used the latter), a second `Content-Length` with another value (it
/// used the first), whitespace before a header's colon (the name then ends with it), HTTP/1.1
/// without `Host`, a NUL byte or `%00` in the target (it cut the path there), and a transfer
/// coding other than `chunked` (it read the body until the client closed). The server answers
/// a refusal at once and closes the connection after it (``HTTPServer``).
public struct HTTPFraming: Sendable {
    /// Why a request head is refused, with the status it is answered with.
    public enum Refusal: Error, Sendable, Hashable {
        /// 400 `bad_request`: the head is malformed or ambiguous.
        case badRequest(String)
        /// 501 `not_implemented`: a transfer coding other than `chunked`.
        case notImplemented(String)

        /// The error the server answers with.
        public var error: HTTPError {
            switch self {
            case .badRequest(let message): HTTPError(.badRequest, message)
            case .notImplemented(let message): HTTPError(.notImplemented, message)
            }
        }
    }

    /// The HTTP version as the request line gave it (`HTTP/1.1`).
    public var version: String
    /// The request target's bytes as they came, before percent-decoding, up to its first NUL.
    public var rawTarget: [UInt8]
    /// The target's length on the wire, or `nil` when unknown; longer than `rawTarget` means
    /// a NUL byte in it.
    public var targetLengthOnWire: Int?
    /// The header fields in order, names as they came (not lowercased); a field may repeat.
    public var fields: [(name: String, value: String)]

    /// A head to check.
    public init(version: String, rawTarget: [UInt8], targetLengthOnWire: Int? = nil,
                fields: [(name: String, value: String)]) {
        self.version = version
        self.rawTarget = rawTarget
        self.targetLengthOnWire = targetLengthOnWire
        self.fields = fields
    }

    /// The first reason to refuse the head, or `nil` when it is sound.
    public func refusal() -> Refusal? {
        if let length = targetLengthOnWire, length != rawTarget.count {
            return .badRequest("the request target holds a NUL byte")
        }
        if rawTarget.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) {
            return .badRequest("the request target holds whitespace, a control byte or a byte that must be percent-encoded")
        }
        if HTTPFraming.hasEncodedNUL(rawTarget) {
            return .badRequest("the request target holds %00 (an encoded NUL byte)")
        }
        var hosts = 0
        var lengths: [String] = []
        var codings: [String] = []
        var hasTransferEncoding = false
        for field in fields {
            if field.name.isEmpty {
                return .badRequest("a header field has no name")
            }
            if field.name.utf8.contains(where: { $0 == 0x20 || $0 == 0x09 }) {
                return .badRequest("whitespace before the colon of header field \"\(HTTPFraming.printable(field.name))\"")
            }
            // Compared in place: this runs for every field of every request.
            if HTTPRequest.equalsIgnoringASCIICase(field.name, "host") {
                hosts += 1
            } else if HTTPRequest.equalsIgnoringASCIICase(field.name, "content-length") {
                lengths.append(field.value)
            } else if HTTPRequest.equalsIgnoringASCIICase(field.name, "transfer-encoding") {
                hasTransferEncoding = true
                for coding in field.value.split(separator: ",", omittingEmptySubsequences: false) {
                    codings.append(HTTPRequest.lowercasedASCII(String(coding.trimmingWhitespace())))
                }
            }
        }
        let isHTTP11 = version.hasPrefix("HTTP/1.") && version != "HTTP/1.0"
        if isHTTP11 && hosts == 0 { return .badRequest("an HTTP/1.1 request needs a Host header field") }
        if hosts > 1 { return .badRequest("more than one Host header field") }
        if hasTransferEncoding && !lengths.isEmpty {
            return .badRequest("Content-Length together with Transfer-Encoding")
        }
        if let first = lengths.first {
            for length in lengths {
                guard !length.isEmpty, length.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    return .badRequest("Content-Length \"\(HTTPFraming.printable(length))\" is not a number")
                }
                if length != first {
                    return .badRequest("Content-Length given twice with different values")
                }
            }
        }
        if hasTransferEncoding {
            if !isHTTP11 { return .badRequest("Transfer-Encoding in an HTTP/1.0 request") }
            if codings != ["chunked"] {
                let named = codings.map { HTTPFraming.printable($0) }.joined(separator: ", ")
                return .notImplemented("transfer coding \"\(named)\" is not supported; only \"chunked\" is")
            }
        }
        return nil
    }

    /// Whether `target` holds `%00`.
    static func hasEncodedNUL(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 3 else { return false }
        for index in 0...(bytes.count - 3) where bytes[index] == UInt8(ascii: "%")
            && bytes[index + 1] == UInt8(ascii: "0") && bytes[index + 2] == UInt8(ascii: "0") {
            return true
        }
        return false
    }

    /// `text` cut to 64 bytes, control bytes as `?`, for an error message.
    static func printable(_ text: String) -> String {
        String(decoding: text.utf8.prefix(64).map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }
}

extension Substring {
    /// The substring without leading and trailing spaces and tabs.
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
