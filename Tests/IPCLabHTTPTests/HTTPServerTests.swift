import Foundation
import Logging
import Testing

@testable import IPCLabHTTP

#if canImport(Glibc)
import Glibc
#endif

// A real server on port 0 over a real socket: what a client sees.

@Suite("HTTPServer over a real socket")
struct HTTPServerTests {
    @Test("port 0 binds a real port; a GET reaches the handler with path, query and headers")
    func getOnPortZero() throws {
        let echo = EchoHandler()
        try withServer(handler: echo) { port in
            #expect(port > 0)
            let connection = try Connection(port: port)
            connection.send("GET /a%20b?x=1&y=two+words&x=2 HTTP/1.1\r\nHost: t\r\nContent-Type: text/x\r\n\r\n")
            let response = try #require(connection.receive())
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == HTTPResponse.ContentType.plainText)
            #expect(response.text == #"GET /a b q=[(key: "x", value: "1"), (key: "y", value: "two words")] ct=text/x body=0"#)
        }
    }

    @Test("url names the bound address while the server runs, an IPv6 one in brackets; nil before and after")
    func urlWhileRunning() throws {
        for (host, shown) in [("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")] {
            let server = HTTPServer(configuration: HTTPServerConfiguration(host: host, port: 0, accessLog: .off),
                                    logger: silentLogger, handler: EchoHandler())
            #expect(server.url == nil)
            let port: Int
            do { port = try server.start() } catch { continue }  // no IPv6 loopback on this host
            #expect(server.url == "http://\(shown):\(port)")
            server.stop()
            #expect(server.url == nil)
        }
    }

    @Test("keep-alive: several requests, bodies included, share one connection")
    func keepAlive() throws {
        try withServer(handler: EchoHandler()) { port in
            let connection = try Connection(port: port)
            for index in 0..<5 {
                let body = String(repeating: "z", count: index * 1000)
                connection.send("POST /k HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
                let response = try #require(connection.receive())
                #expect(response.status == 200)
                #expect(response.text.hasSuffix("body=\(index * 1000)"))
                #expect(response.headers["connection"]?.lowercased() != "close")
            }
        }
    }

    @Test("a chunked body arriving in pieces reaches the handler whole")
    func chunkedBody() throws {
        try withServer(handler: EchoHandler()) { port in
            let connection = try Connection(port: port)
            connection.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            var expectedSum = 0
            for piece in 0..<40 {
                let bytes = [UInt8](repeating: UInt8(piece), count: 5000)
                expectedSum += 5000 * piece
                connection.send(String(bytes.count, radix: 16) + "\r\n")
                connection.send(bytes)
                connection.send("\r\n")
            }
            connection.send("0\r\n\r\n")
            let response = try #require(connection.receive())
            #expect(response.text.hasSuffix("body=200000"))
            #expect(response.headers["x-body-sum"] == String(expectedSum))
        }
    }

    @Test("a declared Content-Length over the limit: the body is read and dropped, then 413; the connection stays usable")
    func declaredBodyTooLarge() throws {
        let echo = EchoHandler()
        try withServer(maxBodyBytes: 1000, handler: echo) { port in
            let connection = try Connection(port: port)
            // Sent whole before any reading, as Python's urllib does: it must read the 413.
            connection.send("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n" + String(repeating: "a", count: 1001))
            let tooLarge = try #require(connection.receive())
            #expect(tooLarge.status == 413)
            #expect(tooLarge.text == #"{"error":{"code":"body_too_large","message":"request body is larger than 1000 bytes","path":null}}"#)
            connection.send("POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
            #expect(try #require(connection.receive()).text.hasSuffix("body=3"))
            #expect(echo.callCount == 1)
        }
    }

    @Test("a declared Content-Length over the limit with Expect: 100-continue, or past what is dropped, is 413 at once; the connection closes")
    func declaredBodyTooLargeAtOnce() throws {
        let echo = EchoHandler()
        try withServer(maxBodyBytes: 1000, handler: echo) { port in
            for head in ["Content-Length: 1001\r\nExpect: 100-continue", "Content-Length: 999999999"] {
                let connection = try Connection(port: port)
                // Only the headers: the answer must not wait for a body.
                connection.send("POST /big HTTP/1.1\r\nHost: t\r\n\(head)\r\n\r\n")
                let tooLarge = try #require(connection.receive())
                #expect(tooLarge.status == 413)
                #expect(tooLarge.headers["connection"] == "close")
                #expect(connection.isClosedByPeer())
            }
            #expect(echo.callCount == 0)
        }
    }

    @Test("a chunked body that grows over the limit is 413, the handler is not called, the connection stays usable")
    func chunkedBodyTooLarge() throws {
        let echo = EchoHandler()
        try withServer(maxBodyBytes: 1000, handler: echo) { port in
            let connection = try Connection(port: port)
            connection.send("POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n"
                            + String(repeating: "b", count: 2000) + "\r\n0\r\n\r\n")
            #expect(try #require(connection.receive()).status == 413)

            connection.send("POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "c", count: 1000))
            #expect(try #require(connection.receive()).text.hasSuffix("body=1000"))
            #expect(echo.callCount == 1)
        }
    }

    @Test("Expect: 100-continue with a Content-Length over the limit is refused before the upload")
    func expectContinueRefused() throws {
        let echo = EchoHandler()
        try withServer(maxBodyBytes: 1000, handler: echo) { port in
            let connection = try Connection(port: port)
            connection.send("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
            let response = try #require(connection.receive())
            #expect(response.status == 413)
            #expect(connection.isClosedByPeer())
            #expect(echo.callCount == 0)
        }
    }

    @Test("HEAD gets the GET headers with the body's length and no body")
    func head() throws {
        try withServer(handler: EchoHandler()) { port in
            let connection = try Connection(port: port)
            connection.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try #require(connection.receive(head: true))
            #expect(response.status == 200)
            #expect(response.headers["content-length"] == String("HEAD /h q=[] ct=- body=0".utf8.count))
            connection.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try #require(connection.receive()).text.hasPrefix("GET /after"))
        }
    }

    @Test("stop is idempotent, frees the port, and a second start while running throws")
    func startStop() throws {
        let server = makeServer(handler: EchoHandler())
        let port = try server.start()
        #expect(server.port == port)
        #expect(throws: HTTPServerError.alreadyStarted) { try server.start() }
        let rival = HTTPServer(configuration: HTTPServerConfiguration(port: port), logger: silentLogger,
                               handler: EchoHandler())
        #expect(throws: HTTPServerError.self) { try rival.start() }
        server.stop()
        server.stop()
        #expect(server.port == nil)
        #expect(throws: (any Error).self) { try Connection(port: port) }
    }
}
