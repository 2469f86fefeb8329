import Foundation
import Synchronization
import Testing

@testable import IPCLabHTTP

// The seam between the transport and the application's error format: every error the server,
// the static files and the run executor answer by themselves is made by the renderer they are
// given, and by nothing else (no lab JSON leaks out of the transport).

@Suite("The transport renders its own errors only through the renderer it is given")
struct ErrorRendererTests {
    /// A renderer unlike the lab's: its own content type, and a body that names what it was given.
    static let marked: HTTPErrorRenderer = { error in
        HTTPResponse(status: error.status, headers: ["Content-Type": "text/x-marked"],
                     body: Array("MARKED \(error.code.rawValue) \(error.status): \(error.message)".utf8))
    }

    /// `response` is the marked renderer's, for `code` and `status`, and carries no lab JSON.
    static func expectMarked(_ response: WireResponse?, _ status: Int, _ code: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response?.status == status, sourceLocation: sourceLocation)
        #expect(response?.headers["content-type"] == "text/x-marked", sourceLocation: sourceLocation)
        #expect(response?.text.hasPrefix("MARKED \(code) \(status): ") == true, "\(response?.text ?? "no response")",
                sourceLocation: sourceLocation)
        #expect(response?.text.contains("\"error\"") == false, sourceLocation: sourceLocation)
    }

    @Test("413 (read and dropped, and at once), 400 and 501 heads, 500 for a lost or invalid response")
    func serverErrors() throws {
        let handler = LaterHandler { request, respond in
            switch request.path {
            case "/drop": return  // respond dropped: the server answers 500
            case "/bad-status": respond(HTTPResponse(status: 42))
            default: respond(.text("ok"))
            }
        }
        try withServer(maxBodyBytes: 100, errors: Self.marked, handler: handler) { port in
            let connection = try Connection(port: port)
            connection.send("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n" + String(repeating: "a", count: 101))
            Self.expectMarked(connection.receive(), 413, "body_too_large")
            for path in ["/drop", "/bad-status"] {
                connection.request(path)
                Self.expectMarked(connection.receive(), 500, "internal")
            }

            let heads = [
                ("Content-Length: 101\r\nExpect: 100-continue", 413, "body_too_large"),
                ("Content-Length: 3\r\nTransfer-Encoding: chunked", 400, "bad_request"),
                ("Transfer-Encoding: gzip", 501, "not_implemented"),
            ]
            for (fields, status, code) in heads {
                let refused = try Connection(port: port)
                refused.send("POST /x HTTP/1.1\r\nHost: t\r\n\(fields)\r\n\r\n")
                let response = refused.receive()
                Self.expectMarked(response, status, code)
                // The transport still owns the framing around the body.
                #expect(response?.headers["connection"] == "close")
            }
        }
    }

    @Test("503 for a connection in the per-address reserve, with the Retry-After the renderer did not set")
    func reserveRefusal() throws {
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(port: 0, threadPoolSize: 1, connectionLimitPerIP: 1,
                                                   connectionReservePerIP: 1, accessLog: .off),
            logger: silentLogger, handler: SyncHandler { _ in .text("served") }, errors: Self.marked)
        let port = try server.start()
        defer { server.stop() }
        let first = try Connection(port: port)
        first.request("/a")
        #expect(first.receive()?.text == "served")  // counted and kept open (keep-alive)
        let second = try Connection(port: port)
        second.request("/b")
        let response = second.receive()
        Self.expectMarked(response, 503, "unavailable")
        #expect(response?.headers["retry-after"] == "1")
    }

    @Test("503 for a response still owed when stop gives up")
    func stoppingRefusal() throws {
        let held = Mutex<HTTPResponder?>(nil)
        let server = makeServer(threads: 1, stopTimeoutSeconds: 0, errors: Self.marked,
                                handler: LaterHandler { _, respond in held.withLock { $0 = respond } })
        let port = try server.start()
        let connection = try Connection(port: port)
        connection.request("/never")
        #expect(eventually(seconds: 2) { held.withLock { $0 != nil } })
        server.stop()
        Self.expectMarked(connection.receive(), 503, "unavailable")
        held.withLock { $0 = nil }
    }

    @Test("static files: 404 and 405 (with Allow) from the renderer given")
    func staticFiles() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("renderer-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = try StaticFiles(directory: root, errors: Self.marked)
        func wire(_ response: HTTPResponse) -> WireResponse {
            WireResponse(status: response.status.code,
                         headers: Dictionary(uniqueKeysWithValues: response.headers.map { ($0.key.lowercased(), $0.value) }),
                         body: response.body)
        }
        Self.expectMarked(wire(files.handle(HTTPRequest(method: "GET", path: "/missing"))), 404, "not_found")
        let notAllowed = wire(files.handle(HTTPRequest(method: "DELETE", path: "/")))
        Self.expectMarked(notAllowed, 405, "method_not_allowed")
        #expect(notAllowed.headers["allow"] == "GET, HEAD")
        // Asked for another renderer per call, it uses that one.
        let lab = files.handle(HTTPRequest(method: "GET", path: "/missing"), errors: APIError.render)
        #expect(String(decoding: lab.body, as: UTF8.self) == #"{"error":{"code":"not_found","message":"nothing at /missing","path":null}}"#)
    }

    @Test("the run executor's 503 comes from the renderer given")
    func executorRefusal() {
        let executor = RunExecutor(threads: 1, queueLimit: 0, name: "test-render")
        executor.shutdown()  // refuses at once from now on: `stopping`
        let answer = Mutex<HTTPResponse?>(nil)
        executor.respond({ response in answer.withLock { $0 = response } }, errors: Self.marked) { .text("must not run") }
        let refused = answer.withLock { $0 }
        #expect(refused.map { String(decoding: $0.body, as: UTF8.self) } == "MARKED unavailable 503: the server is stopping; try again shortly")
        #expect(refused?.header("Retry-After") == "1")
    }

    @Test("with no renderer given, the server's errors are plain text: the transport holds no error format")
    func plainTextDefault() throws {
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(port: 0, threadPoolSize: 1, maxBodyBytes: 10, accessLog: .off),
            logger: silentLogger, handler: EchoHandler())
        let port = try server.start()
        defer { server.stop() }
        let connection = try Connection(port: port)
        connection.send("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n" + String(repeating: "a", count: 11))
        let response = try #require(connection.receive())
        #expect(response.status == 413)
        #expect(response.headers["content-type"] == HTTPResponse.ContentType.plainText)
        #expect(response.text == "body_too_large: request body is larger than 10 bytes\n")
    }
}
