import CMicroHTTPD
import Synchronization
import Testing

@testable import IPCLabHTTP
@testable import IPCLabSandbox

// Responses libmicrohttpd builds once for a body that repeats: recognised only when the body is
// the same storage with the same status and header fields, and what goes out on the wire is
// always what the handler answered.

@Suite("Prepared responses")
struct PreparedResponsesTests {
    /// A build function that counts its calls and makes a real libmicrohttpd response.
    final class Builds: Sendable {
        private let count = Atomic(0)
        var made: Int { count.load(ordering: .relaxed) }
        func build(_ response: HTTPResponse) -> OpaquePointer? {
            count.add(1, ordering: .relaxed)
            return MHD_create_response_from_buffer(0, nil, .RESPMEM_PERSISTENT)
        }
    }

    @Test("a body is noted the first time, built the second, reused after; another status, header or storage is not it")
    func recognition() {
        let prepared = PreparedResponses()
        let builds = Builds()
        let response = HTTPResponse.json(#"{"status":"ok"}"#)
        #expect(prepared.prepared(for: response, build: builds.build) == nil)
        #expect(builds.made == 0)
        let first = prepared.prepared(for: response, build: builds.build)
        #expect(first != nil)
        #expect(prepared.prepared(for: response, build: builds.build) === first)
        #expect(builds.made == 1)

        var otherStatus = response
        otherStatus.status = .serviceUnavailable
        var otherHeader = response
        otherHeader.setHeader("Connection", "close")
        let sameBytesOtherStorage = HTTPResponse.json(#"{"status":"ok"}"#)
        for other in [otherStatus, otherHeader, sameBytesOtherStorage] {
            #expect(prepared.prepared(for: other, build: builds.build) == nil)
        }
        #expect(builds.made == 1)
    }

    @Test("bodies seen once push out each other, not a prepared one; empty and large bodies are never kept")
    func eviction() {
        let prepared = PreparedResponses()
        let builds = Builds()
        let health = HTTPResponse.json(#"{"status":"ok"}"#)
        _ = prepared.prepared(for: health, build: builds.build)
        let kept = prepared.prepared(for: health, build: builds.build)
        for index in 0..<100 {
            #expect(prepared.prepared(for: .text("answer \(index)"), build: builds.build) == nil)
        }
        #expect(prepared.prepared(for: health, build: builds.build) === kept)
        let large = HTTPResponse(body: [UInt8](repeating: 1, count: PreparedResponses.largestBody + 1))
        let empty = HTTPResponse(status: .noContent)
        for response in [large, large, empty, empty] {
            #expect(prepared.prepared(for: response, build: builds.build) == nil)
        }
        #expect(builds.made == 1)
    }

    @Test("over a socket: a repeated body goes out as answered, and a changed body, status or header at once")
    func onTheWire() throws {
        let current = Mutex(HTTPResponse.text("first answer"))
        let handler = SyncHandler { _ in current.withLock { $0 } }
        try withServer(handler: handler) { port in
            let connection = try Connection(port: port)
            func get() throws -> WireResponse {
                connection.request("/fixed")
                return try #require(connection.receive())
            }
            for _ in 0..<3 { #expect(try get().text == "first answer") }
            current.withLock { $0 = .text("other answer") }  // the same length, other bytes
            for _ in 0..<3 { #expect(try get().text == "other answer") }
            current.withLock { $0.status = .notFound }
            for _ in 0..<2 { #expect(try get().status == 404) }
            current.withLock { $0.setHeader("X-Mark", "1") }
            for _ in 0..<2 {
                let response = try get()
                #expect(response.headers["x-mark"] == "1")
                #expect(response.status == 404)
                #expect(response.text == "other answer")
            }
            connection.request("HEAD", "/fixed")
            let head = try #require(connection.receive(head: true))
            #expect(head.headers["content-length"] == "12")
        }
    }
}

@Suite("/healthz cache")
struct HealthCacheTests {
    @Test("the answer is kept for one set of spawner statuses only")
    func keyedByStatus() {
        let cache = HealthCache()
        func reports(_ c: SpawnerClient.Status, _ swift: SpawnerClient.Status) -> [LabRunner.SpawnerReport] {
            [LabRunner.SpawnerReport(image: .c, status: c), LabRunner.SpawnerReport(image: .swift, status: swift)]
        }
        let up = SpawnerClient.Status(running: true, pid: 10, restarts: 0)
        let other = SpawnerClient.Status(running: true, pid: 20, restarts: 0)
        #expect(cache.response(for: reports(up, other)) == nil)
        cache.store(.json(#"{"status":"ok"}"#), for: reports(up, other))
        #expect(cache.response(for: reports(up, other))?.body == Array(#"{"status":"ok"}"#.utf8))
        #expect(cache.response(for: reports(SpawnerClient.Status(running: true, pid: 11, restarts: 1), other)) == nil)
        #expect(cache.response(for: reports(up, SpawnerClient.Status(running: false, pid: nil, restarts: 0))) == nil,
                "the Swift runners' spawner going down changes the answer too")
        #expect(cache.response(for: [LabRunner.SpawnerReport(image: .swift, status: up)]) == nil)
    }
}
