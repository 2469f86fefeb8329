import Foundation
import Logging
import Synchronization
import Testing

@testable import IPCLabHTTP

#if canImport(Glibc)
import Glibc
#endif

// Helpers for the HTTP tests: a real server on port 0, spoken to over a real socket, so
// keep-alive, bodies, 413, HEAD and late responses are what a client sees.

/// A logger that drops everything (its level is `.critical`, so no access log either).
let silentLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A handler made of a closure that answers at once.
struct SyncHandler: HTTPHandler {
    let body: @Sendable (HTTPRequest) -> HTTPResponse
    init(_ body: @escaping @Sendable (HTTPRequest) -> HTTPResponse) { self.body = body }
    func handle(_ request: HTTPRequest) -> HTTPResponse { body(request) }
}

/// A handler made of a closure that gets `respond` (``HTTPHandler/handle(_:respond:)``).
struct LaterHandler: HTTPHandler {
    let body: @Sendable (HTTPRequest, @escaping HTTPResponder) -> Void
    init(_ body: @escaping @Sendable (HTTPRequest, @escaping HTTPResponder) -> Void) { self.body = body }
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        Issue.record("the server called the synchronous handle")
        return .text(status: .internalServerError, "synchronous handle called")
    }
    func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) { body(request, respond) }
}

/// Echoes what it was given, and counts its calls.
final class EchoHandler: HTTPHandler, Sendable {
    private let calls = Atomic(0)
    var callCount: Int { calls.load(ordering: .relaxed) }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        calls.add(1, ordering: .relaxed)
        var response = HTTPResponse.text(
            "\(request.method) \(request.path) q=\(request.query.sorted { $0.key < $1.key }) "
                + "ct=\(request.header("Content-Type") ?? "-") body=\(request.body.count)")
        response.setHeader("X-Body-Sum", String(request.body.reduce(0) { $0 &+ Int($1) }))
        return response
    }
}

/// A test server on 127.0.0.1, port 0, with a silent logger unless given one, rendering its
/// own errors as the lab does (``APIError/render``) unless given another renderer.
func makeServer(threads: Int = 2, maxBodyBytes: Int = 1_048_576, stopTimeoutSeconds: Int = 30,
                accessLog: HTTPServerConfiguration.AccessLog = .off, logger: Logger = silentLogger,
                errors: @escaping HTTPErrorRenderer = APIError.render, handler: any HTTPHandler) -> HTTPServer {
    HTTPServer(
        configuration: HTTPServerConfiguration(port: 0, threadPoolSize: threads, maxBodyBytes: maxBodyBytes,
                                               stopTimeoutSeconds: stopTimeoutSeconds, accessLog: accessLog),
        logger: logger, handler: handler, errors: errors)
}

/// A started server and its port; stops at the end of `body`.
func withServer<T>(
    threads: Int = 2, maxBodyBytes: Int = 1_048_576, accessLog: HTTPServerConfiguration.AccessLog = .off,
    logger: Logger = silentLogger, errors: @escaping HTTPErrorRenderer = APIError.render, handler: any HTTPHandler,
    _ body: (Int) throws -> T
) throws -> T {
    let server = makeServer(threads: threads, maxBodyBytes: maxBodyBytes, accessLog: accessLog, logger: logger,
                            errors: errors, handler: handler)
    let port = try server.start()
    defer { server.stop() }
    return try body(port)
}

/// One HTTP/1.1 response as read off the wire.
struct WireResponse {
    var status: Int
    var headers: [String: String]  // lowercased names
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking client connection to 127.0.0.1:port that can send several requests.
final class Connection {
    let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects; reads give up after `timeoutSeconds`.
    init(port: Int, timeoutSeconds: Int = 5) throws {
        // The socket is this object's only once it is connected: a failed connect closes it here and
        // throws before `fd` is set, so deinit never closes it a second time (a descriptor number
        // closed twice may by then belong to a server another test runs in parallel).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Sends a GET.
    func request(_ path: String) { request("GET", path) }

    /// Sends a request without a body.
    func request(_ method: String, _ path: String) {
        send("\(method) \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
    }

    /// Reads one response; `head` says there is no body whatever Content-Length says.
    func receive(head: Bool = false) -> WireResponse? {
        guard let end = readUntil([13, 10, 13, 10]) else { return nil }
        let lines = String(decoding: buffer[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        buffer.removeSubrange(..<(end + 4))
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = head || status == 100 ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length { guard fill() else { return nil } }
        let body = Array(buffer[..<length])
        buffer.removeSubrange(..<length)
        return WireResponse(status: status, headers: headers, body: body)
    }

    /// True when the server closed its side (read returns 0 or fails).
    func isClosedByPeer() -> Bool { buffer.isEmpty && !fill() }

    /// True when nothing is there to read within `milliseconds` (and the connection is open).
    func isSilent(forMilliseconds milliseconds: Int32) -> Bool {
        guard buffer.isEmpty else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) == 0
    }

    private func readUntil(_ marker: [UInt8]) -> Int? {
        var from = 0
        while true {
            if buffer.count >= marker.count {
                for i in from...(buffer.count - marker.count) where buffer[i..<(i + marker.count)].elementsEqual(marker) {
                    return i
                }
                from = buffer.count - marker.count + 1
            }
            guard fill() else { return nil }
        }
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[..<n])
        return true
    }
}

/// A one-shot gate: `wait` blocks until `open` (or the timeout, then it returns false).
final class Gate: Sendable {
    private let condition = NSCondition()
    private let opened = Mutex(false)

    func open() {
        condition.withLock {
            opened.withLock { $0 = true }
            condition.broadcast()
        }
    }

    @discardableResult
    func wait(seconds: Double = 10) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while !opened.withLock({ $0 }) {
            if !condition.wait(until: deadline) { return opened.withLock { $0 } }
        }
        return true
    }
}

/// Runs `body` on a new thread (not a Swift task: tests here are about threads).
func onNewThread(_ body: @escaping @Sendable () -> Void) {
    let thread = Thread(block: body)
    thread.start()
}

/// Milliseconds taken by `body`, and its result.
func timed<T>(_ body: () throws -> T) rethrows -> (T, milliseconds: Double) {
    let start = ContinuousClock.now
    let result = try body()
    let elapsed = ContinuousClock.now - start
    return (result, Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
}

/// Polls `condition` every 5 ms until it holds or `seconds` pass; returns whether it held.
func eventually(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(5000)
    }
    return condition()
}

/// A log handler that keeps what it is given, at the level it is set to.
struct CollectingLogHandler: LogHandler {
    final class Store: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    let store: Store
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(store: Store, level: Logger.Level) {
        self.store = store
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.append("\(event.level) \(event.message)")
    }
}

/// A pipe whose read end does not block: for reading what was written to the write end.
final class Pipe2 {
    let readEnd: Int32
    let writeEnd: Int32

    init() {
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0)
        readEnd = ends[0]
        writeEnd = ends[1]
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Everything there is to read now.
    func readAvailable() -> String {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress!, $0.count) }
            guard n > 0 else { break }
            out.append(contentsOf: chunk[..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
