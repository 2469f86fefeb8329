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
        #expect(String(decoding: response.body, as: UTF8.self).contains(#""code":"not_found""#))
        let post = files.handle(HTTPRequest(method: "POST", path: "/index.html"))
        #expect(post.status == .methodNotAllowed && post.header("Allow") == "GET, HEAD")
    }
}
