import Foundation
import Synchronization
import Testing

@testable import IPCLabHTTP

#if canImport(Glibc)
import Glibc
#endif

// Handlers that answer later (`handle(_:respond:)`): the connection is suspended, the pool
// thread is free, the response goes out when `respond` is called from another thread.

@Suite("Late responses: suspend and resume", .serialized)
struct LateResponseTests {
    /// Responds from a new thread after `delayMilliseconds`.
    private static func later(_ delayMilliseconds: UInt32, _ response: @escaping @Sendable (HTTPRequest) -> HTTPResponse)
        -> LaterHandler
    {
        LaterHandler { request, respond in
            onNewThread {
                usleep(delayMilliseconds * 1000)
                respond(response(request))
            }
        }
    }

    @Test("a response given later from another thread reaches the client, and the connection stays usable")
    func respondLater() throws {
        let handler = Self.later(100) { request in .text("late \(request.method) \(request.path)") }
        try withServer(threads: 1, handler: handler) { port in
            let connection = try Connection(port: port)
            for index in 0..<3 {
                connection.request("/r\(index)")
                let (response, elapsed) = timed { connection.receive() }
                let answer = try #require(response)
                #expect(answer.status == 200)
                #expect(answer.text == "late GET /r\(index)")
                #expect(elapsed >= 90, "answered after \(elapsed) ms, before the handler responded")
            }
            connection.request("HEAD", "/h")
            let head = try #require(connection.receive(head: true))
            #expect(head.headers["content-length"] == String("late HEAD /h".utf8.count))
            connection.request("/after-head")
            #expect(try #require(connection.receive()).text == "late GET /after-head")
        }
    }

    @Test("respond called on another thread before the handler returns is sent once the handler returns")
    func respondBeforeReturn() throws {
        let handler = LaterHandler { request, respond in
            let sent = Gate()
            onNewThread {
                respond(.text("early"))
                sent.open()
            }
            sent.wait()
            usleep(50_000)
        }
        try withServer(threads: 1, handler: handler) { port in
            let connection = try Connection(port: port)
            for _ in 0..<3 {
                connection.request("/e")
                #expect(try #require(connection.receive()).text == "early")
            }
        }
    }

    @Test("while 4 slow requests run on an executor, fast requests on the same server answer in < 100 ms")
    func slowRequestsDoNotStallFastOnes() throws {
        let executor = RunExecutor(threads: 4, queueLimit: 4, name: "test-slow")
        defer { executor.shutdown() }
        let handler = LaterHandler { request, respond in
            if request.path == "/slow" {
                executor.respond(respond) {
                    usleep(2_000_000)
                    return .text("slow done")
                }
            } else {
                respond(.json(#"{"status":"ok"}"#))
            }
        }
        try withServer(threads: 2, handler: handler) { port in
            let slow = try (0..<4).map { _ in try Connection(port: port) }
            let sentAt = ContinuousClock.now
            for connection in slow { connection.request("POST", "/slow") }
            #expect(eventually(seconds: 1) { executor.load == .init(running: 4, queued: 0) },
                    "the slow requests did not all reach the executor: \(executor.load)")

            var slowest = 0.0
            let keepAlive = try Connection(port: port)
            for index in 0..<20 {
                let (response, elapsed) = try timed { () throws -> WireResponse? in
                    if index.isMultiple(of: 2) {
                        keepAlive.request("/healthz")
                        return keepAlive.receive()
                    }
                    let fresh = try Connection(port: port)
                    fresh.request("/healthz")
                    return fresh.receive()
                }
                #expect(response?.status == 200)
                slowest = max(slowest, elapsed)
            }
            #expect(slowest < 100, "a fast request took \(slowest) ms while slow ones were in flight")
            #expect(executor.load.running == 4, "the slow requests were no longer in flight: \(executor.load)")

            for connection in slow {
                let response = try #require(connection.receive())
                #expect(response.status == 200 && response.text == "slow done")
            }
            let total = ContinuousClock.now - sentAt
            #expect(total >= .milliseconds(1990) && total < .milliseconds(3500), "slow requests took \(total)")
        }
    }

    @Test("a handler that drops respond answers 500 internal, whether at once or later")
    func droppedResponder() throws {
        let handler = LaterHandler { request, respond in
            if request.path == "/drop-later" {
                onNewThread {
                    usleep(50_000)
                    _ = respond  // held for a while, then dropped without a call
                }
            }
        }
        try withServer(threads: 1, handler: handler) { port in
            let connection = try Connection(port: port)
            for path in ["/drop-now", "/drop-later"] {
                connection.request(path)
                let response = try #require(connection.receive())
                #expect(response.status == 500)
                #expect(response.text.contains(#""code":"internal""#))
            }
        }
    }

    @Test("a second respond is ignored: one response per request, the next request unaffected")
    func respondTwice() throws {
        let handler = LaterHandler { request, respond in
            if request.path == "/twice" {
                respond(.text("first"))
                respond(.text(status: 201, "second"))
                onNewThread { respond(.text(status: 202, "third")) }
            } else {
                respond(.text("next"))
            }
        }
        try withServer(threads: 1, handler: handler) { port in
            let connection = try Connection(port: port)
            connection.request("/twice")
            #expect(try #require(connection.receive()).text == "first")
            usleep(50_000)
            #expect(connection.isSilent(forMilliseconds: 50))
            connection.request("/other")
            let next = try #require(connection.receive())
            #expect(next.status == 200 && next.text == "next")
        }
    }

    @Test("stop waits for the responses still owed and sends them")
    func stopDrains() throws {
        let server = makeServer(threads: 1, handler: Self.later(400) { _ in .text("finished") })
        let port = try server.start()
        let connection = try Connection(port: port)
        connection.request("/run")
        usleep(100_000)
        let (_, stopTook) = timed { server.stop() }
        let response = try #require(connection.receive())
        #expect(response.status == 200 && response.text == "finished")
        #expect(stopTook >= 200, "stop returned after \(stopTook) ms, before the response was owed no more")
        #expect(server.port == nil)
    }

    @Test("stop stops waiting after stopTimeoutSeconds and answers 503; a late respond is harmless")
    func stopGivesUp() throws {
        let held = Mutex<HTTPResponder?>(nil)
        let handler = LaterHandler { _, respond in held.withLock { $0 = respond } }
        let server = makeServer(threads: 1, stopTimeoutSeconds: 1, handler: handler)
        let port = try server.start()
        let connection = try Connection(port: port)
        connection.request("/never")
        #expect(eventually(seconds: 2) { held.withLock { $0 != nil } })
        let (_, stopTook) = timed { server.stop() }
        #expect(stopTook >= 900 && stopTook < 2500, "stop took \(stopTook) ms with a 1 s timeout")
        let response = try #require(connection.receive())
        #expect(response.status == 503)
        #expect(response.headers["retry-after"] == "1")
        #expect(response.text.contains(#""code":"unavailable""#))
        // The daemon is gone: this must neither crash nor reach libmicrohttpd.
        held.withLock { $0 }?(.text("too late"))
        held.withLock { $0 = nil }
    }

    @Test("a server stopped with nothing owed stops at once, and can be started again")
    func restart() throws {
        let server = makeServer(threads: 1, handler: Self.later(10) { _ in .text("again") })
        for _ in 0..<2 {
            let port = try server.start()
            let connection = try Connection(port: port)
            connection.request("/x")
            #expect(try #require(connection.receive()).text == "again")
            let (_, took) = timed { server.stop() }
            #expect(took < 500)
        }
    }
}
