import Foundation
import Testing

@testable import IPCLabHTTP

@Suite("StaticFiles never leaves its root")
struct StaticFilesTests {
    /// root/index.html, root/app.js, root/sub/index.html, root/.hidden, root/out -> a file outside.
    private func makeTree() throws -> (root: String, files: StaticFiles) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("static-\(UUID().uuidString)").path
        let root = base + "/public"
        try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        try "<h1>lab</h1>".write(toFile: root + "/index.html", atomically: true, encoding: .utf8)
        try "let x = 1".write(toFile: root + "/app.js", atomically: true, encoding: .utf8)
        try "sub".write(toFile: root + "/sub/index.html", atomically: true, encoding: .utf8)
        try "secret".write(toFile: root + "/.hidden", atomically: true, encoding: .utf8)
        try "outside".write(toFile: base + "/secret.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/out", withDestinationPath: base + "/secret.txt")
        return (base, try StaticFiles(directory: root))
    }

    @Test("/ is index.html; types by extension; a directory without / redirects")
    func serves() throws {
        let (base, files) = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let index = files.handle(HTTPRequest(method: "GET", path: "/"))
        #expect(index.status == .ok && index.body == Array("<h1>lab</h1>".utf8))
        #expect(index.contentType == "text/html; charset=utf-8")
        #expect(files.handle(HTTPRequest(method: "HEAD", path: "/app.js")).contentType == "text/javascript; charset=utf-8")
        let redirect = files.handle(HTTPRequest(method: "GET", path: "/sub"))
        #expect(redirect.status == 301 && redirect.header("Location") == "/sub/")
        #expect(files.handle(HTTPRequest(method: "GET", path: "/sub/")).body == Array("sub".utf8))
    }

    @Test("escapes and misses are 404 not_found; other methods 405", arguments: [
        "/../secret.txt", "/sub/../../secret.txt", "/out", "/.hidden", "/missing.html", "/index.html/",
    ])
    func refuses(path: String) throws {
        let (base, files) = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let response = files.handle(HTTPRequest(method: "GET", path: path))
        #expect(response.status == .notFound)
        #expect(String(decoding: response.body, as: UTF8.self).hasPrefix("not_found: "))
        let post = files.handle(HTTPRequest(method: "POST", path: "/index.html"))
        #expect(post.status == .methodNotAllowed && post.header("Allow") == "GET, HEAD")
    }
}

@Suite("StaticFiles: gzip, ETag and 304, long caching for versioned URLs")
struct StaticFilesCachingTests {
    private func makeRoot() throws -> (root: String, files: StaticFiles, script: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("static-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let script = String(repeating: "export const answer = 42; // the same line, so it packs well\n", count: 40)
        try script.write(toFile: root + "/app.js", atomically: true, encoding: .utf8)
        try "tiny".write(toFile: root + "/tiny.txt", atomically: true, encoding: .utf8)
        return (root, try StaticFiles(directory: root), script)
    }

    @Test("gzip only when accepted, with Vary; small files and q=0 stay plain")
    func gzip() throws {
        let (root, files, script) = try makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let plain = files.handle(HTTPRequest(method: "GET", path: "/app.js"))
        #expect(plain.body == Array(script.utf8) && plain.header("Content-Encoding") == nil)
        let packed = files.handle(HTTPRequest(method: "GET", path: "/app.js", headers: ["Accept-Encoding": "br, gzip"]))
        #expect(packed.header("Content-Encoding") == "gzip" && packed.header("Vary") == "Accept-Encoding")
        #expect(Array(packed.body.prefix(2)) == [0x1f, 0x8b])
        #expect(packed.body.count < script.utf8.count / 4)
        let refused = files.handle(HTTPRequest(method: "GET", path: "/app.js", headers: ["Accept-Encoding": "gzip;q=0"]))
        #expect(refused.header("Content-Encoding") == nil)
        let tiny = files.handle(HTTPRequest(method: "GET", path: "/tiny.txt", headers: ["Accept-Encoding": "gzip"]))
        #expect(tiny.body == Array("tiny".utf8))
    }

    @Test("an ETag per form; If-None-Match with it is 304 without a body; ?v= is immutable")
    func validators() throws {
        let (root, files, _) = try makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = files.handle(HTTPRequest(method: "GET", path: "/app.js"))
        let tag = try #require(first.header("ETag"))
        #expect(first.header("Cache-Control") == "no-cache")
        let gz = files.handle(HTTPRequest(method: "GET", path: "/app.js", headers: ["Accept-Encoding": "gzip"]))
        #expect(gz.header("ETag") != tag)
        let again = files.handle(HTTPRequest(method: "GET", path: "/app.js", headers: ["If-None-Match": "\"x\", \(tag)"]))
        #expect(again.status == .notModified && again.body.isEmpty && again.header("ETag") == tag)
        let other = files.handle(HTTPRequest(method: "GET", path: "/app.js", headers: ["If-None-Match": "\"stale\""]))
        #expect(other.status == .ok)
        let versioned = files.handle(HTTPRequest(method: "GET", path: "/app.js", query: ["v": "3"]))
        #expect(versioned.header("Cache-Control") == "public, max-age=31536000, immutable")
    }
}
