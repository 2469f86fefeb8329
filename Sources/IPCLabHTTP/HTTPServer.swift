import CMicroHTTPD
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 server on libmicrohttpd: a pool of threads, each with its own epoll set,
/// calling one ``HTTPHandler`` per fully received request.
///
/// ```swift
/// let server = HTTPServer(configuration: .init(port: 0), logger: logger, handler: router,
///                         errors: APIError.render)
/// let port = try server.start()   // the bound port, also when asked for port 0
/// // … block SIGINT/SIGTERM before start, sigwait for them here …
/// server.stop()
/// ```
///
/// What it does for every request: refuses a head that could be framed two ways (400
/// `bad_request`, 501 `not_implemented`: ``HTTPFraming``) and a connection in the per-address
/// reserve (503), each with `Connection: close`; reads the whole body (chunked or not) and
/// answers 413 `body_too_large` without calling the handler once it is over
/// ``HTTPServerConfiguration/maxBodyBytes``; calls the handler
/// (``HTTPHandler/handle(_:respond:)``); sends the response with `Content-Length`, keeping
/// the connection alive; answers `HEAD` with the headers of the handler's response and no
/// body; writes one access line (``HTTPServerConfiguration/AccessLog``):
/// `METHOD /path STATUS bytes duration_ms`.
///
/// A connection whose head does not arrive in time, or whose body comes too slowly, is shut
/// down (``ConnectionGuard``).
///
/// Every error it answers by itself (400, 501, 503, 413, 500) is an ``HTTPError`` made into a
/// response by the ``HTTPErrorRenderer`` it was given: the server knows no error body.
///
/// This is the only type that holds `MHD_*` pointers. ``stop()`` is idempotent and also
/// runs at deinit; a stopped server may be started again. Never call ``stop()`` from inside
/// a handler: it waits for the pool threads, one of which would be the caller.
///
/// A handler runs on the pool thread that owns its connection, and every other connection
/// of that thread waits until it returns, so it must return quickly. A handler with slow
/// work responds later instead: the connection is suspended (`MHD_suspend_connection`,
/// the pool thread goes on serving others) until `respond` is called from another thread,
/// then resumed and answered. ``RunExecutor`` provides such threads, bounded.
///
/// A response may also be streamed (``HTTPResponse/streaming(contentType:_:)``): its body is
/// an ``HTTPStreamingBody`` written by another thread and sent with chunked transfer encoding
/// as it comes; while nothing is queued the connection is suspended, not polled. `stop()`
/// waits for streams like for owed responses, then cuts them off.
public final class HTTPServer: @unchecked Sendable {
    /// The configuration the server was made with.
    public let configuration: HTTPServerConfiguration
    private let logger: Logger
    private let handler: any HTTPHandler
    private let errors: HTTPErrorRenderer
    private let refused: @Sendable (String) -> Void

    // `lock` guards the four below; `@unchecked Sendable` rests on it (the rest is `let`).
    private let lock = NSLock()
    private var daemon: OpaquePointer?
    private var context: Unmanaged<Context>?
    private var boundPort: Int?
    private var boundURL: String?
    /// With a pool of several threads, what accepts the connections and spreads them over it.
    private var acceptor: ConnectionAcceptor?

    /// A server that will answer with `handler` once started; nothing is bound yet.
    /// `refused` hears of each request or connection the server itself turns away, by
    /// reason: `bad_request` and `not_implemented` (``HTTPFraming``), `per_ip_limit` (a
    /// connection in the reserve answered 503), `head_timeout` and `body_too_slow` (closed by
    /// the deadlines of ``HTTPServerConfiguration``). `errors` makes the body of every error
    /// the server answers by itself (``HTTPError``); plain text unless the application gives its own.
    public init(configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
                logger: Logger, handler: any HTTPHandler, errors: @escaping HTTPErrorRenderer = HTTPError.plainText,
                refused: @escaping @Sendable (_ reason: String) -> Void = { _ in }) {
        self.configuration = configuration
        self.logger = logger
        self.handler = handler
        self.errors = errors
        self.refused = refused
    }

    deinit { stop() }

    /// The port the server listens on while it runs, `nil` before ``start()`` and after
    /// ``stop()``.
    public var port: Int? {
        lock.withLock { boundPort }
    }

    /// `http://HOST:PORT` for the address the server listens on while it runs (an IPv6 address in
    /// brackets), `nil` before ``start()`` and after ``stop()``.
    public var url: String? {
        lock.withLock { boundURL }
    }

    /// Binds ``HTTPServerConfiguration/host`` and ``HTTPServerConfiguration/port`` and starts
    /// the thread pool (`MHD_start_daemon`). Returns at once; requests are served on the
    /// pool's threads until ``stop()``.
    /// - Returns: the bound port: the configured one, or the one the kernel chose for port 0.
    /// - Throws: ``HTTPServerError`` for a bad configuration, a host that does not resolve,
    ///   a port in use (with libmicrohttpd's reason), or a second start.
    @discardableResult
    public func start() throws(HTTPServerError) -> Int {
        try configuration.validate()
        let address = try HTTPServer.resolve(host: configuration.host, port: configuration.port)

        lock.lock()
        defer { lock.unlock() }
        guard self.daemon == nil else { throw .alreadyStarted }

        let guardLimits = ConnectionGuard.Limits(
            perAddress: configuration.connectionLimitPerIP,
            reservePerAddress: configuration.connectionReservePerIP,
            headTimeout: .seconds(configuration.headTimeoutSeconds),
            reserveHeadTimeout: .seconds(min(3, configuration.headTimeoutSeconds)),
            minBodyBytesPerSecond: configuration.minBodyBytesPerSecond,
            bodyGrace: .seconds(5))
        let connections = ConnectionGuard(limits: guardLimits, refused: refused)
        let context = Unmanaged.passRetained(
            Context(handler: handler, errors: errors, logger: logger, maxBodyBytes: configuration.maxBodyBytes,
                    accessLog: AccessLogWriter(configuration.accessLog, logger: logger),
                    connections: connections, reservePaths: configuration.reservePaths,
                    poolThreads: configuration.threadPoolSize, refused: refused))
        // libmicrohttpd closes at accept only what is over the cap and the reserve; the
        // reserve is answered 503 by the access handler.
        let mhdPerIP = configuration.connectionLimitPerIP == 0
            ? 0 : configuration.connectionLimitPerIP + configuration.connectionReservePerIP
        // No MHD_USE_TURBO: measured here it saved nothing (2.2 syscalls per keep-alive
        // request with or without), and it skips the shutdown() that lets a client read an
        // early 413 before the connection closes. MHD_ALLOW_SUSPEND_RESUME (which brings
        // MHD_USE_ITC) lets a handler answer later without holding its pool thread.
        var flags = MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_USE_ERROR_LOG.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue
        if address.family == AF_INET6 { flags |= MHD_USE_IPv6.rawValue }
        // A pool of several threads gets its connections from an acceptor of its own, spread evenly
        // (ConnectionAcceptor); one thread accepts them itself.
        let acceptor: ConnectionAcceptor?
        if configuration.threadPoolSize > 1 {
            do throws(HTTPServerError) {
                acceptor = try ConnectionAcceptor(address: address, threads: configuration.threadPoolSize,
                                                  limit: configuration.connectionLimit,
                                                  balance: context.takeUnretainedValue().inline)
            } catch {
                context.release()
                throw error
            }
            flags |= MHD_USE_NO_LISTEN_SOCKET.rawValue
        } else {
            acceptor = nil
        }

        let daemon: OpaquePointer? = withUnsafePointer(to: address.storage) { storage in
            storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                cmhd_start_daemon(
                    flags, acceptor == nil ? sockaddrPointer : nil,
                    httpServerAccessHandler, context.toOpaque(),
                    httpServerRequestCompleted, context.toOpaque(),
                    httpServerLogMessage, context.toOpaque(),
                    httpServerURILog, context.toOpaque(),
                    httpServerConnectionNotify, context.toOpaque(),
                    UInt32(configuration.threadPoolSize),
                    UInt32(configuration.connectionTimeoutSeconds),
                    // With an acceptor, the limit is kept there and libmicrohttpd's own must never be
                    // reached (ConnectionAcceptor: a lock 0.9.75 leaves held).
                    UInt32(acceptor == nil ? configuration.connectionLimit : 2 * configuration.connectionLimit),
                    UInt32(min(mhdPerIP, Int(UInt32.max))),
                    configuration.connectionMemoryLimit)
            }
        }
        guard let daemon else {
            let reason = context.takeUnretainedValue().lastLibraryMessage
                ?? "MHD_start_daemon failed"
            acceptor?.close()
            context.release()
            throw .startFailed("cannot listen on \(address.description): \(reason)")
        }
        if let acceptor {
            do throws(HTTPServerError) {
                try acceptor.start(daemon: daemon)
            } catch {
                MHD_stop_daemon(daemon)
                acceptor.close()
                context.release()
                throw error
            }
        }
        let port = acceptor?.port ?? Int(cmhd_daemon_bind_port(daemon))
        connections.start()
        self.daemon = daemon
        self.context = context
        self.boundPort = port
        let url = "http://\(address.hostForURL):\(port)"
        self.boundURL = url
        self.acceptor = acceptor
        logger.info("listening on \(url)",
                    metadata: ["threads": "\(configuration.threadPoolSize)"])
        return port
    }

    /// Stops the server and waits for its pool threads to end (`MHD_stop_daemon`); a
    /// request being handled finishes first. Calling it again, or on a server never started,
    /// does nothing.
    ///
    /// When connections wait for a response that a handler owes (see
    /// ``HTTPHandler/handle(_:respond:)``), it first stops accepting connections and waits,
    /// up to ``HTTPServerConfiguration/stopTimeoutSeconds``, until those responses are sent;
    /// the ones still owed then are answered 503 `unavailable` (it waits up to one more second
    /// for those to go out; past that their connections are closed) and a later `respond`
    /// is dropped.
    public func stop() {
        let (daemon, retained, acceptor): (OpaquePointer?, Unmanaged<Context>?, ConnectionAcceptor?) = lock.withLock {
            defer {
                self.daemon = nil; self.context = nil; self.boundPort = nil; self.boundURL = nil
                self.acceptor = nil
            }
            return (self.daemon, self.context, self.acceptor)
        }
        guard let daemon, let retained else { return }
        let listenSocket = drain(daemon, retained.takeUnretainedValue(), acceptor: acceptor)
        retained.takeUnretainedValue().connections.stop()
        // No connection may reach the daemon once it is stopped.
        acceptor?.stop()
        MHD_stop_daemon(daemon)
        acceptor?.close()
        if listenSocket >= 0 { close(listenSocket) }
        // Only now can no callback hold the context any more (a `respond` closure still may,
        // but it no longer touches libmicrohttpd).
        retained.release()
        logger.info("stopped")
    }

    /// Waits for the responses owed to suspended connections, then makes sure none stays
    /// suspended: libmicrohttpd must not be stopped with one (it aborts). Returns the listen
    /// socket when it had to stop accepting (close it after `MHD_stop_daemon`), else -1.
    private func drain(_ daemon: OpaquePointer, _ context: Context, acceptor: ConnectionAcceptor?) -> Int32 {
        var listenSocket: Int32 = -1
        context.drain.lock()
        if context.unfinished > 0 {
            let owed = context.unfinished
            context.drain.unlock()
            if let acceptor { acceptor.stop() } else { listenSocket = MHD_quiesce_daemon(daemon) }
            logger.info("waiting up to \(configuration.stopTimeoutSeconds) s for \(owed) response(s) still owed")
            let deadline = Date(timeIntervalSinceNow: TimeInterval(configuration.stopTimeoutSeconds))
            context.drain.lock()
            while context.unfinished > 0 && context.drain.wait(until: deadline) {}
        }
        context.drain.unlock()

        let abandoned: Int = context.answers.withLock {
            context.refusingSuspension = true
            let stuck = context.suspended.values
            for state in stuck {
                state.stage = .abandoned
                MHD_resume_connection(state.connection)
            }
            context.suspended = [:]
            // Streamed responses still being sent are cut off (a suspended one is resumed for that).
            let streams = context.streams.values
            for body in streams { body.abandon() }
            context.streams = [:]
            return stuck.count + streams.count
        }
        if abandoned > 0 {
            logger.warning("stopped waiting for \(abandoned) response(s) or stream(s); answering 503 or cutting them off")
            // Resumed, they are answered 503 by the pool threads: give that a moment to go out.
            let deadline = Date(timeIntervalSinceNow: 1)
            context.drain.withLock {
                while context.unfinished > 0 && context.drain.wait(until: deadline) {}
            }
        }
        return listenSocket
    }
}

/// Why an ``HTTPServer`` could not start.
public enum HTTPServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A configuration field is out of range; the message names it.
    case invalidConfiguration(String)
    /// The host is neither an IP literal nor a name that resolves.
    case invalidHost(String)
    /// libmicrohttpd could not start (the port is in use, say); the message says why.
    case startFailed(String)
    /// ``HTTPServer/start()`` was called on a server that is running.
    case alreadyStarted

    /// A sentence for a person.
    public var description: String {
        switch self {
        case .invalidConfiguration(let message): "invalid server configuration: \(message)"
        case .invalidHost(let message): "invalid host: \(message)"
        case .startFailed(let message): "HTTP server did not start: \(message)"
        case .alreadyStarted: "HTTP server already started"
        }
    }
}

extension HTTPServer {
    /// A socket address to bind, and how to print it.
    struct BindAddress {
        var storage = sockaddr_storage()
        var family: Int32 { Int32(storage.ss_family) }
        var numericHost = ""
        var port = 0

        var hostForURL: String { family == AF_INET6 ? "[\(numericHost)]" : numericHost }
        var description: String { "\(hostForURL):\(port)" }
    }

    /// `host` and `port` as a socket address (`getaddrinfo`, first answer).
    static func resolve(host: String, port: Int) throws(HTTPServerError) -> BindAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .invalidHost("\(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var address = BindAddress(port: port)
        withUnsafeMutableBytes(of: &address.storage) { storage in
            let length = min(Int(first.pointee.ai_addrlen), storage.count)
            storage.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: length))
        }
        address.numericHost = withUnsafePointer(to: address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { HTTPServer.numericHost(of: $0) }
        }
        return address
    }

    /// The IP address in `address` as text (`inet_ntop`), or `""` for another family.
    static func numericHost(of address: UnsafePointer<sockaddr>) -> String {
        let raw = UnsafeRawPointer(address)
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN) + 1) { text in
            let size = socklen_t(text.count)
            let written: UnsafePointer<CChar>?
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                var ip = raw.load(as: sockaddr_in.self).sin_addr
                written = inet_ntop(AF_INET, &ip, text.baseAddress, size)
            case AF_INET6:
                var ip = raw.load(as: sockaddr_in6.self).sin6_addr
                written = inet_ntop(AF_INET6, &ip, text.baseAddress, size)
            default:
                written = nil
            }
            return written == nil ? "" : String(cString: text.baseAddress!)
        }
    }
}
