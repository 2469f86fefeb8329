#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an ``HTTPServer`` listens and what it accepts.
///
/// Every field has a default, so `HTTPServerConfiguration()` is a working local server on
/// `127.0.0.1:8080`. Use port 0 to let the kernel pick a free port; ``HTTPServer/start()``
/// returns the port it got.
public struct HTTPServerConfiguration: Sendable, Hashable {
    /// The address to bind: an IPv4 or IPv6 literal (`127.0.0.1`, `0.0.0.0`, `::1`) or a
    /// host name resolved once at start (`localhost`). Default `127.0.0.1`.
    public var host: String
    /// The TCP port; 0 picks a free one. Default 8080.
    public var port: Int
    /// Threads that accept connections and run the handler (each with its own epoll set).
    /// Default: the number of online cores. Slow work does not count here: it runs on
    /// threads of its own while its connection is suspended (``HTTPHandler/handle(_:respond:)``).
    public var threadPoolSize: Int
    /// The largest request body accepted; a larger one is answered with 413 `body_too_large`
    /// without calling the handler. Default 1 MiB (1048576 bytes).
    public var maxBodyBytes: Int
    /// Seconds a connection may go without any bytes moving either way (an idle keep-alive, a
    /// stalled upload, a client that stopped reading its response) before it is closed. A
    /// connection waiting for a run's answer is not idle: it is suspended, and not timed out.
    /// Default 15.
    public var connectionTimeoutSeconds: Int
    /// The most connections open at once; more are closed as soon as they are accepted.
    /// Default 1000.
    public var connectionLimit: Int
    /// The most connections served at once from one IP address. 0: no limit. Default 64.
    /// Past it, ``connectionReservePerIP`` more are accepted only to be answered 503
    /// `unavailable` with `Retry-After` (or served, for ``reservePaths``) and closed; more
    /// than both are closed as soon as they are accepted.
    public var connectionLimitPerIP: Int
    /// Connections past ``connectionLimitPerIP`` accepted from one address to say 503 (see
    /// there); they must send their head within 3 s. Default 64.
    public var connectionReservePerIP: Int
    /// Paths a connection in the reserve is still served (the lab's `/healthz` and
    /// `/metrics`). Default none.
    public var reservePaths: Set<String>
    /// Seconds a request head may take to arrive in whole, counted from the connection's
    /// start or the end of its previous response (a keep-alive connection's idle time
    /// counts); past it the connection is closed. Default 10.
    public var headTimeoutSeconds: Int
    /// The least average rate (bytes per second) a request body must come at, checked after
    /// its first 5 s; a slower one's connection is closed. Default 1024.
    public var minBodyBytesPerSecond: Int
    /// Bytes of buffer each connection may use; its request line and headers must fit.
    /// Default 16 KiB (libmicrohttpd's own default is 32): the pool is cleared for every request, and
    /// at 16 KiB a `/healthz` costs ~2 % less CPU (8.75 against 8.94 µs, 8 alternating rounds).
    public var connectionMemoryLimit: Int
    /// Seconds ``HTTPServer/stop()`` waits for responses still owed to parked connections
    /// (handlers that answer later, see ``HTTPHandler/handle(_:respond:)``) before it answers
    /// them 503 `unavailable` and closes. Default 30.
    public var stopTimeoutSeconds: Int
    /// Where the one line per request goes. Default ``AccessLog/standardError``.
    public var accessLog: AccessLog

    /// The number of online cores, at least 1.
    public static var onlineCores: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// A configuration; every argument has the default documented on its property.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        threadPoolSize: Int = HTTPServerConfiguration.onlineCores,
        maxBodyBytes: Int = 1_048_576,
        connectionTimeoutSeconds: Int = 15,
        connectionLimit: Int = 1000,
        connectionLimitPerIP: Int = 64,
        connectionReservePerIP: Int = 64,
        reservePaths: Set<String> = [],
        headTimeoutSeconds: Int = 10,
        minBodyBytesPerSecond: Int = 1024,
        connectionMemoryLimit: Int = 16 * 1024,
        stopTimeoutSeconds: Int = 30,
        accessLog: AccessLog = .standardError
    ) {
        self.host = host
        self.port = port
        self.threadPoolSize = threadPoolSize
        self.maxBodyBytes = maxBodyBytes
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.connectionLimit = connectionLimit
        self.connectionLimitPerIP = connectionLimitPerIP
        self.connectionReservePerIP = connectionReservePerIP
        self.reservePaths = reservePaths
        self.headTimeoutSeconds = headTimeoutSeconds
        self.minBodyBytesPerSecond = minBodyBytesPerSecond
        self.connectionMemoryLimit = connectionMemoryLimit
        self.stopTimeoutSeconds = stopTimeoutSeconds
        self.accessLog = accessLog
    }

    /// Checks the ranges ``HTTPServer/start()`` relies on.
    /// - Throws: ``HTTPServerError/invalidConfiguration(_:)`` naming the first bad field.
    public func validate() throws(HTTPServerError) {
        func fail(_ message: String) -> HTTPServerError { .invalidConfiguration(message) }
        guard !host.isEmpty else { throw fail("host: must not be empty") }
        guard (0...65535).contains(port) else { throw fail("port: must be 0…65535, got \(port)") }
        guard (1...1024).contains(threadPoolSize) else {
            throw fail("threadPoolSize: must be 1…1024, got \(threadPoolSize)")
        }
        guard (0...(1 << 30)).contains(maxBodyBytes) else {
            throw fail("maxBodyBytes: must be 0…1 GiB, got \(maxBodyBytes)")
        }
        guard (1...86_400).contains(connectionTimeoutSeconds) else {
            throw fail("connectionTimeoutSeconds: must be 1…86400, got \(connectionTimeoutSeconds)")
        }
        guard (1...1_000_000).contains(connectionLimit) else {
            throw fail("connectionLimit: must be 1…1000000, got \(connectionLimit)")
        }
        guard (0...1_000_000).contains(connectionLimitPerIP) else {
            throw fail("connectionLimitPerIP: must be 0…1000000, got \(connectionLimitPerIP)")
        }
        guard (0...1_000_000).contains(connectionReservePerIP) else {
            throw fail("connectionReservePerIP: must be 0…1000000, got \(connectionReservePerIP)")
        }
        guard (1...3600).contains(headTimeoutSeconds) else {
            throw fail("headTimeoutSeconds: must be 1…3600, got \(headTimeoutSeconds)")
        }
        guard (0...(1 << 30)).contains(minBodyBytesPerSecond) else {
            throw fail("minBodyBytesPerSecond: must be 0…1 GiB, got \(minBodyBytesPerSecond)")
        }
        guard (4096...(64 << 20)).contains(connectionMemoryLimit) else {
            throw fail("connectionMemoryLimit: must be 4096…64 MiB, got \(connectionMemoryLimit)")
        }
        guard (0...3600).contains(stopTimeoutSeconds) else {
            throw fail("stopTimeoutSeconds: must be 0…3600, got \(stopTimeoutSeconds)")
        }
        if case .fileDescriptor(let descriptor) = accessLog, descriptor < 0 {
            throw fail("accessLog: file descriptor must be >= 0, got \(descriptor)")
        }
    }
}
