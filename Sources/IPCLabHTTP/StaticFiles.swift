import CIPCLab
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves the files under one directory (the lab's `public/`) for `GET` and `HEAD`.
///
/// - `/` and any other directory path ending in `/` answer with the directory's `index.html`;
///   `/sub` without the slash is redirected (301) to `/sub/`.
/// - Nothing outside the root is ever read: a path with a `..` segment, or a dot-file or
///   dot-directory segment (`.git`), is 404; every candidate is resolved with `realpath(3)`
///   (symlinks included) and must still lie under the root's own real path.
/// - Missing files are 404 `not_found`, other methods 405 `method_not_allowed` with
///   `Allow: GET, HEAD`, each an ``HTTPError`` rendered by the ``HTTPErrorRenderer`` given
///   (the lab's JSON, from ``LabAPI``; plain text by default).
/// - Files are read on each request, so an edited page shows at once. Each answer carries an
///   `ETag` (size and modification time, `-gz` for the compressed form); a request whose
///   `If-None-Match` names it gets 304 with no body (libmicrohttpd 0.9.75 writes
///   `Content-Length: 0` on it; browsers and caches take a 304's body as empty whatever it says).
///   `Cache-Control: no-cache` (revalidate: cheap with the 304), except for a versioned URL
///   (`?v=…`), which never changes: `public, max-age=31536000, immutable`.
/// - Text files (HTML, JS, CSS, SVG, JSON, YAML) are sent gzip-compressed to a client that
///   accepts it (`Accept-Encoding: gzip`), with `Vary: Accept-Encoding`.
///
/// It is an ``HTTPHandler`` on its own, or a fallback behind a router:
/// `return staticFiles.handle(request, errors: APIError.render)`.
public struct StaticFiles: HTTPHandler {
    /// The root directory's real path (absolute, symlinks resolved), without a trailing `/`.
    public let root: String
    /// Makes the body of a 404, 405 or 500 when it answers as a handler of its own (``handle(_:)``).
    public var errors: HTTPErrorRenderer

    /// Files served from `directory`, errors rendered by `errors`.
    /// - Throws: ``HTTPServerError/invalidConfiguration(_:)`` when `directory` does not
    ///   exist or is not a directory.
    public init(directory: String, errors: @escaping HTTPErrorRenderer = HTTPError.plainText) throws(HTTPServerError) {
        self.errors = errors
        guard let real = StaticFiles.realPath(directory) else {
            throw .invalidConfiguration("static files directory \(directory): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard stat(real, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw .invalidConfiguration("static files directory \(directory): not a directory")
        }
        root = real == "/" ? "" : real
    }

    /// The file for `request.path`, or the error that says why not, rendered by ``errors``.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        handle(request, errors: errors)
    }

    /// The file for `request.path`, or the error that says why not, rendered by `errors`.
    public func handle(_ request: HTTPRequest, errors: HTTPErrorRenderer) -> HTTPResponse {
        switch answer(request) {
        case .success(let response): response
        case .failure(let error): error.response(errors)
        }
    }

    private func answer(_ request: HTTPRequest) -> Result<HTTPResponse, HTTPError> {
        guard request.method == "GET" || request.method == "HEAD" else {
            return .failure(.methodNotAllowed(request.method, allowed: ["GET", "HEAD"]))
        }
        switch resolve(request.path) {
        case .file(let file):
            return respond(with: file, request: request)
        case .directoryWithoutSlash(let location):
            // Relative links on `/sub`'s index page must resolve under `/sub/`.
            return .success(HTTPResponse(status: 301, headers: ["Location": location]))
        case .none:
            return .failure(.notFound(path: request.path))
        }
    }

    /// What a request path names under the root.
    public enum Resolution: Sendable, Hashable {
        /// A regular file, by its real path; a directory path with a trailing `/` names its
        /// `index.html`.
        case file(String)
        /// A directory with an `index.html`, named without the trailing `/`: redirect to
        /// the location given (the normalised path, percent-encoded, with the `/`).
        case directoryWithoutSlash(String)
    }

    /// What `path` (a decoded request path) names under the root, or `nil` when it names
    /// nothing servable or would leave the root.
    public func resolve(_ path: String) -> Resolution? {
        guard path.hasPrefix("/") else { return nil }
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            // `..` would climb; dot-files are never part of the page. `.` is harmless.
            if segment == "." { continue }
            if segment.hasPrefix(".") { return nil }
            segments.append(segment)
        }
        let candidate = root + "/" + segments.joined(separator: "/")
        guard let real = inside(candidate) else { return nil }
        var info = stat()
        guard stat(real, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            // `/index.html/` is no file: relative links on such a page would all break.
            return path.hasSuffix("/") ? nil : .file(real)
        case S_IFDIR:
            guard let index = inside(real + "/index.html"), stat(index, &info) == 0,
                  (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            if path.hasSuffix("/") { return .file(index) }
            return .directoryWithoutSlash(StaticFiles.percentEncoded("/" + segments.joined(separator: "/") + "/"))
        default:
            return nil
        }
    }

    /// The `Content-Type` for a file name, by its extension; `application/octet-stream`
    /// for one not listed.
    public static func contentType(for fileName: String) -> String {
        guard let dot = fileName.lastIndex(of: "."), !fileName[dot...].contains("/") else {
            return HTTPResponse.ContentType.octetStream
        }
        switch HTTPRequest.lowercasedASCII(String(fileName[fileName.index(after: dot)...])) {
        case "html", "htm": return HTTPResponse.ContentType.html
        case "js", "mjs": return HTTPResponse.ContentType.javascript
        case "css": return HTTPResponse.ContentType.css
        case "svg": return HTTPResponse.ContentType.svg
        case "png": return HTTPResponse.ContentType.png
        case "json": return HTTPResponse.ContentType.json
        case "yaml", "yml": return HTTPResponse.ContentType.yaml
        case "ico": return HTTPResponse.ContentType.icon
        case "txt": return HTTPResponse.ContentType.plainText
        default: return HTTPResponse.ContentType.octetStream
        }
    }

    /// `candidate`'s real path when it exists and lies under the root, else `nil`.
    private func inside(_ candidate: String) -> String? {
        guard let real = StaticFiles.realPath(candidate) else { return nil }
        return real == root || real.hasPrefix(root + "/") ? real : nil
    }

    /// Reads `file` and answers with it.
    private func respond(with file: String, request: HTTPRequest) -> Result<HTTPResponse, HTTPError> {
        // O_NONBLOCK: should the file have become a FIFO since `resolve`, open must not hang.
        let descriptor = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return .failure(.notFound(path: request.path)) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            return .failure(.notFound(path: request.path))
        }
        guard let body = StaticFiles.readAll(descriptor, expected: Int(info.st_size)) else {
            return .failure(.internal("could not read \(request.path)"))
        }
        let type = StaticFiles.contentType(for: file)
        let gzip = StaticFiles.isText(type) && body.count > 256 && StaticFiles.acceptsGzip(request.header("Accept-Encoding"))
        let tag = "\"\(info.st_size)-\(info.st_mtim.tv_sec)\(info.st_mtim.tv_nsec)\(gzip ? "-gz" : "")\""
        var headers = [
            "Content-Type": type,
            "Cache-Control": request.query["v"] != nil ? "public, max-age=31536000, immutable" : "no-cache",
            "X-Content-Type-Options": "nosniff",
            "ETag": tag,
            "Vary": "Accept-Encoding",
        ]
        if let wanted = request.header("If-None-Match"),
           wanted.split(separator: ",").contains(where: { let t = $0.trimmingSpaces; return t == "*" || t == tag || t == "W/" + tag }) {
            headers["Content-Type"] = nil
            return .success(HTTPResponse(status: .notModified, headers: headers))
        }
        guard gzip, let packed = StaticFiles.gzipped(body) else {
            return .success(HTTPResponse(status: .ok, headers: headers, body: body))
        }
        headers["Content-Encoding"] = "gzip"
        return .success(HTTPResponse(status: .ok, headers: headers, body: packed))
    }

    /// Content types worth compressing.
    private static func isText(_ type: String) -> Bool {
        type.hasPrefix("text/") || type.contains("javascript") || type.contains("json") || type.contains("svg") || type.contains("yaml")
    }

    /// Whether an `Accept-Encoding` value accepts gzip (listed, and not with `q=0`).
    static func acceptsGzip(_ value: String?) -> Bool {
        guard let value else { return false }
        for item in value.split(separator: ",") {
            let parts = item.split(separator: ";").map { HTTPRequest.lowercasedASCII(String($0.trimmingSpaces)) }
            guard parts.first == "gzip" || parts.first == "*" else { continue }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.map { String($0.dropFirst(2)) }
            if let q, let weight = Double(q), weight <= 0 { return false }
            return true
        }
        return false
    }

    /// `body` as a gzip member, or `nil` when zlib fails.
    private static func gzipped(_ body: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: ipclab_deflate_bound(body.count))
        let count = body.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                ipclab_deflate(input.baseAddress, input.count, output.baseAddress, output.count, 6, 1)
            }
        }
        guard count >= 0 else { return nil }
        out.removeSubrange(count...)
        return out
    }

    /// The first `expected` bytes from `descriptor` (fewer if the file shrank), retrying
    /// `EINTR`; `nil` on a read error.
    private static func readAll(_ descriptor: Int32, expected: Int) -> [UInt8]? {
        var body = [UInt8](repeating: 0, count: max(expected, 0))
        var filled = 0
        while filled < body.count {
            let count = body.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { break }
            filled += count
        }
        body.removeSubrange(filled...)
        return body
    }

    /// `path` with every byte but unreserved characters and `/` percent-encoded (RFC 3986).
    private static func percentEncoded(_ path: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(byte)
            default:
                out.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `realpath(3)` of `path`, or `nil` (with `errno` set) when it does not resolve.
    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
