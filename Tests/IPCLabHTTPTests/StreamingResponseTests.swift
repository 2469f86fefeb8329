import Foundation
import Synchronization
import Testing

@testable import IPCLabHTTP

#if canImport(Glibc)
import Glibc
#endif

/// Streamed responses (``HTTPStreamingBody``): chunks sent as they are written, a suspended
/// connection woken by the next write, a client that leaves noticed, `stop()` with a stream open.
@Suite("Streaming responses", .serialized)
struct StreamingResponseTests {
    /// A handler that answers every request with a new streamed body and hands it to the test.
    final class StreamingHandler: HTTPHandler, Sendable {
        private let bodies = Mutex<[HTTPStreamingBody]>([])
        let produce: @Sendable (HTTPStreamingBody) -> Void
        let limitBytes: Int

        init(limitBytes: Int = 64, produce: @escaping @Sendable (HTTPStreamingBody) -> Void) {
            self.limitBytes = limitBytes
            self.produce = produce
        }

        func handle(_ request: HTTPRequest) -> HTTPResponse {
            guard request.path == "/stream" else { return .text("plain\n") }
            let body = HTTPStreamingBody(limitBytes: limitBytes)
            bodies.withLock { $0.append(body) }
            onNewThread { self.produce(body) }
            return .streaming(contentType: HTTPResponse.ContentType.ndjson, body)
        }

        var last: HTTPStreamingBody? { bodies.withLock { $0.last } }
    }

    /// Reads raw bytes from `fd` until `marker` is among them or `seconds` pass.
    private func read(_ fd: Int32, until marker: String, into bytes: inout [UInt8], seconds: Double = 5) -> Bool {
        let want = Array(marker.utf8)
        let deadline = Date(timeIntervalSinceNow: seconds)
        var searched = 0
        while !contains(bytes, want, from: searched) {
            searched = max(0, bytes.count - want.count)
            guard Date() < deadline else { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) >= 0 else { return false }
            if pfd.revents == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            guard n > 0 else { return contains(bytes, want, from: searched) }
            bytes.append(contentsOf: chunk[..<n])
        }
        return true
    }

    private func contains(_ bytes: [UInt8], _ want: [UInt8], from start: Int = 0) -> Bool {
        guard bytes.count >= want.count, start <= bytes.count - want.count else { return false }
        return (start...(bytes.count - want.count)).contains { bytes[$0..<($0 + want.count)].elementsEqual(want) }
    }

    /// The body of a chunked response (after its head), decoded.
    private func dechunk(_ raw: [UInt8]) -> [UInt8] {
        let crlf: [UInt8] = [13, 10]
        func find(_ marker: [UInt8], from: Int) -> Int? {
            guard raw.count >= marker.count, from <= raw.count - marker.count else { return nil }
            return (from...(raw.count - marker.count)).first { raw[$0..<($0 + marker.count)].elementsEqual(marker) }
        }
        guard let head = find([13, 10, 13, 10], from: 0) else { return [] }
        var at = head + 4
        var out: [UInt8] = []
        while let line = find(crlf, from: at), let size = Int(String(decoding: raw[at..<line], as: UTF8.self), radix: 16),
              size > 0, line + 2 + size <= raw.count {
            out.append(contentsOf: raw[(line + 2)..<(line + 2 + size)])
            at = line + 2 + size + 2
        }
        return out
    }

    @Test("each write is sent while the response is open; finish ends the chunked body; keep-alive goes on")
    func chunksAsWritten() throws {
        let gate = Gate()
        let handler = StreamingHandler { body in
            body.write(Array("first\n".utf8))
            gate.wait()
            body.write(Array("second\n".utf8))
            body.finish()
        }
        try withServer(handler: handler) { port in
            let connection = try Connection(port: port)
            connection.request("GET", "/stream")
            var raw: [UInt8] = []
            #expect(read(connection.fd, until: "first\n", into: &raw))
            let head = String(decoding: raw, as: UTF8.self).lowercased()
            #expect(head.hasPrefix("http/1.1 200"))
            #expect(head.contains("transfer-encoding: chunked"))
            #expect(head.contains("content-type: application/x-ndjson"))
            #expect(!contains(raw, Array("second".utf8)), "sent before it was written")
            // Nothing queued: the connection waits suspended, and the next write wakes it.
            #expect(connection.isSilent(forMilliseconds: 80))
            gate.open()
            #expect(read(connection.fd, until: "0\r\n\r\n", into: &raw))
            #expect(String(decoding: dechunk(raw), as: UTF8.self) == "first\nsecond\n")
            connection.request("/plain")
            #expect(connection.receive()?.text == "plain\n")
        }
    }

    @Test("a client that leaves closes the body: writes fail and the producer can stop")
    func clientLeaves() throws {
        let stopped = Gate()
        let handler = StreamingHandler { body in
            body.write(Array("hello\n".utf8))
            // Nothing more to say for a while: ask whether anyone still listens, like a run's watcher.
            if eventually(seconds: 5, { body.isClosed }) { stopped.open() }
        }
        try withServer(handler: handler) { port in
            var connection: Connection? = try Connection(port: port)
            connection!.request("GET", "/stream")
            var raw: [UInt8] = []
            #expect(read(connection!.fd, until: "hello\n", into: &raw))
            connection = nil  // closes the socket
            #expect(stopped.wait(seconds: 6), "the producer never learnt that its client left")
            let body = try #require(handler.last)
            #expect(body.write(Array("late\n".utf8)) == false)
            // The server still serves.
            let again = try Connection(port: port)
            again.request("/plain")
            #expect(again.receive()?.status == 200)
        }
    }

    @Test("a producer ahead of its reader waits for room instead of queueing without bound")
    func boundedQueue() throws {
        let body = HTTPStreamingBody(limitBytes: 1024, writeTimeoutSeconds: 10)
        let written = Mutex(0)
        let done = Gate()
        onNewThread {
            let line = [UInt8](repeating: UInt8(ascii: "x"), count: 63) + [10]
            for _ in 0..<64 {
                guard body.write(line) else { return }
                written.withLock { $0 += 1 }
            }
            body.finish()
            done.open()
        }
        // No reader: the producer stops once 1024 bytes (16 lines) are queued.
        #expect(eventually { written.withLock { $0 } == 16 })
        usleep(50_000)
        #expect(written.withLock { $0 } == 16, "the producer went on writing into a full queue")
        // Sending 256 bytes leaves 768 queued, over half the limit: it still waits.
        var buffer = [UInt8](repeating: 0, count: 256)
        var next = buffer.withUnsafeMutableBytes { body.read(into: $0) { Issue.record("suspended with bytes queued") } }
        #expect(next == .bytes(256))
        usleep(50_000)
        #expect(written.withLock { $0 } == 16)
        // Down to half: it goes on, with a burst.
        next = buffer.withUnsafeMutableBytes { body.read(into: $0) { Issue.record("suspended with bytes queued") } }
        #expect(next == .bytes(256))
        #expect(eventually { written.withLock { $0 } > 16 })
        // Drain everything; every byte arrives once, in order, then the end.
        var total = 512
        while true {
            let n = buffer.withUnsafeMutableBytes { body.read(into: $0) {} }
            if n == .end { break }
            if case .bytes(let k) = n { total += k } else { usleep(1000) }
        }
        #expect(done.wait(seconds: 5))
        #expect(total == 64 * 64)
        #expect(body.sentBytes == 64 * 64)
        #expect(body.write([1]) == false, "written after finish")
    }

    @Test("a writer that nobody reads for its timeout gives the client up")
    func writeTimeout() {
        let body = HTTPStreamingBody(limitBytes: 8, writeTimeoutSeconds: 0.2)
        #expect(body.write(Array("12345678".utf8)))
        let (ok, ms) = timed { body.write(Array("9".utf8)) }
        #expect(ok == false)
        #expect(ms >= 150)
        #expect(body.isClosed)
    }

    @Test("stop() with a stream still open cuts it off and returns")
    func stopCutsOff() throws {
        let handler = StreamingHandler { body in body.write(Array("open\n".utf8)) }
        let server = makeServer(stopTimeoutSeconds: 0, handler: handler)
        let port = try server.start()
        let connection = try Connection(port: port)
        connection.request("GET", "/stream")
        var raw: [UInt8] = []
        #expect(read(connection.fd, until: "open\n", into: &raw))
        let (_, ms) = timed { server.stop() }
        #expect(ms < 3000, "stop took \(ms) ms")
        #expect(handler.last?.isClosed == true)
        #expect(connection.isClosedByPeer())
    }
}

/// Pulled bodies (``HTTPStreamingBody/init(pulling:onRelease:)``): nothing produced ahead of
/// the client, the release called once when it is read or when its client leaves.
extension StreamingResponseTests {
    final class PullingHandler: HTTPHandler, Sendable {
        let pieces: Int
        let pulled = Atomic(0)
        let released = Atomic(0)
        init(pieces: Int) { self.pieces = pieces }

        func handle(_ request: HTTPRequest) -> HTTPResponse {
            let counter = Mutex(0)
            let body = HTTPStreamingBody(pulling: { [self] in
                counter.withLock { n -> [UInt8]? in
                    guard n < pieces else { return nil }
                    n += 1
                    pulled.add(1, ordering: .relaxed)
                    // An empty piece is skipped, never taken for the end.
                    return n % 3 == 0 ? [] : Array(String(format: "%05d", n).utf8) + [UInt8](repeating: 46, count: 4091)
                }
            }, onRelease: { [self] in released.add(1, ordering: .relaxed) })
            return .streaming(contentType: HTTPResponse.ContentType.plainText, body)
        }
    }

    @Test("pulled: read to the end, every piece in order, chunked; released once")
    func pulledToEnd() throws {
        let handler = PullingHandler(pieces: 30)
        try withServer(handler: handler) { port in
            let connection = try Connection(port: port)
            connection.request("GET", "/pulled")
            var raw: [UInt8] = []
            #expect(read(connection.fd, until: "0\r\n\r\n", into: &raw))
            #expect(String(decoding: raw.prefix(12), as: UTF8.self) == "HTTP/1.1 200")
            let expected = (1...30).filter { $0 % 3 != 0 }.map { String(format: "%05d", $0) + String(repeating: ".", count: 4091) }.joined()
            let body = String(decoding: dechunk(raw), as: UTF8.self)
            #expect(body.count == expected.count)
            #expect(body == expected, "the pieces, in order")
        }
        #expect(eventually(seconds: 2) { handler.released.load(ordering: .relaxed) == 1 })
    }

    @Test("pulled: a client that reads nothing and leaves: only what fits the socket is pulled, and it is released")
    func pulledClientLeaves() throws {
        let handler = PullingHandler(pieces: 100_000)  // 400 MB if it were all produced
        try withServer(handler: handler) { port in
            var connection: Connection? = try Connection(port: port)
            connection!.request("GET", "/pulled")
            #expect(eventually(seconds: 2) { handler.pulled.load(ordering: .relaxed) > 0 })
            usleep(200_000)
            let pulled = handler.pulled.load(ordering: .relaxed)
            #expect(pulled < 2_000, "pulled \(pulled) pieces (\(pulled * 4) KB) for a client that reads nothing")
            connection = nil
            #expect(eventually(seconds: 5) { handler.released.load(ordering: .relaxed) == 1 })
        }
        #expect(handler.released.load(ordering: .relaxed) == 1)
    }
}

extension StreamingResponseTests {
    @Test("a written body continued as pulled: the producer returns at once, the client gets it all, released once")
    func continuedPulling() throws {
        let released = Atomic(0)
        let returned = Gate()
        let handler = StreamingHandler(limitBytes: 64) { body in
            body.write(Array("event\n".utf8))
            var left = 3
            body.continuePulling({
                guard left > 0 else { return nil }
                left -= 1
                return Array("piece\(left)\n".utf8)
            }, onRelease: { released.add(1, ordering: .relaxed) })
            returned.open()
            #expect(body.write(Array("late\n".utf8)) == false, "writing is over once pulling")
        }
        try withServer(handler: handler) { port in
            let connection = try Connection(port: port)
            connection.request("GET", "/stream")
            #expect(returned.wait(seconds: 5), "the producer waited for the client")
            var raw: [UInt8] = []
            #expect(read(connection.fd, until: "0\r\n\r\n", into: &raw))
            #expect(String(decoding: dechunk(raw), as: UTF8.self) == "event\npiece2\npiece1\npiece0\n")
        }
        #expect(eventually(seconds: 2) { released.load(ordering: .relaxed) == 1 })
    }
}
