/// One HTTP request, fully received, as an ``HTTPHandler`` sees it.
///
/// The server builds it after the whole body has arrived (bodies over
/// ``HTTPServerConfiguration/maxBodyBytes`` never reach a handler). It is a plain value, so
/// tests can build one directly:
///
/// ```swift
/// let request = HTTPRequest(method: "POST", path: "/api/v1/runs",
///                           headers: ["content-type": "application/json"],
///                           body: Array(#"{"experiment":"pipe.hello"}"#.utf8))
/// ```
public struct HTTPRequest: Sendable, Hashable {
    /// The method as the client sent it (`GET`, `HEAD`, `POST`, …); HTTP methods are
    /// case-sensitive, so `get` is not `GET`.
    public var method: String
    /// The path, percent-decoded, without the query string: `/api/v1/experiments/pipe.hello`.
    public var path: String
    /// The query arguments, percent- and `+`-decoded. A key without `=` has the value `""`;
    /// when a key repeats, the first value wins.
    public var query: [String: String]
    /// The header fields, names lowercased. A repeated field's values are joined with `", "`
    /// (RFC 9110 §5.3).
    public var headers: [String: String]
    /// The body bytes (empty when there is none; chunked uploads arrive decoded).
    public var body: [UInt8]
    /// The peer's IP address (`127.0.0.1`, `::1`), or `""` when unknown.
    public var remoteAddress: String

    /// A request; everything but the method and path defaults to empty. Header names may be
    /// given in any case: they are lowercased (values of names that then collide are joined).
    public init(
        method: String,
        path: String,
        query: [String: String] = [:],
        headers: [String: String] = [:],
        body: [UInt8] = [],
        remoteAddress: String = ""
    ) {
        var lowered: [String: String] = [:]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            let key = HTTPRequest.lowercasedASCII(name)
            lowered[key] = lowered[key].map { $0 + ", " + value } ?? value
        }
        self.init(method: method, path: path, query: query, lowercasedHeaders: lowered, body: body,
                  remoteAddress: remoteAddress)
    }

    /// The server's initializer: `lowercasedHeaders` must already have lowercase names.
    init(method: String, path: String, query: [String: String], lowercasedHeaders: [String: String],
         body: [UInt8], remoteAddress: String) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = lowercasedHeaders
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The value of header `name`, matched case-insensitively, or `nil`.
    public func header(_ name: String) -> String? {
        headers[HTTPRequest.lowercasedASCII(name)]
    }

    /// The media type of the body without parameters, lowercased: `application/json` for
    /// `Content-Type: Application/JSON; charset=utf-8`; `nil` when there is no Content-Type.
    public var mediaType: String? {
        guard let value = headers["content-type"] else { return nil }
        // What most clients send, as it is (the general case splits off parameters and lowercases).
        if value == "application/json" { return value }
        let type = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return HTTPRequest.lowercasedASCII(String(type.trimmingASCIISpaces()))
    }

    /// `name` with ASCII letters lowercased, cheaper than `lowercased()` for header names.
    /// A name with no capital letter comes back as it is, without a copy (most header names
    /// the server compares are already lowercase).
    static func lowercasedASCII(_ name: String) -> String {
        guard name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return name }
        // Written in place: a short name (most are) becomes a small string, with no allocation.
        return String(unsafeUninitializedCapacity: name.utf8.count) { buffer in
            var count = 0
            for byte in name.utf8 {
                buffer[count] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                count += 1
            }
            return count
        }
    }

    /// Whether `text` is `lowercase` up to the case of ASCII letters, without a copy of either.
    static func equalsIgnoringASCIICase(_ text: String, _ lowercase: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        guard text.utf8.count == expected.count else { return false }
        var index = 0
        for byte in text.utf8 {
            guard (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == expected[index] else { return false }
            index += 1
        }
        return true
    }
}

extension Substring {
    /// The substring without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingASCIISpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
