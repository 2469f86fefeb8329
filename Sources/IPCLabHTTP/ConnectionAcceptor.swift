import CMicroHTTPD
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Accepts the server's connections on a thread of its own (`ipclab-accept`) and gives each to a pool
/// thread of its choosing, instead of letting libmicrohttpd's threads race for them.
///
/// Left to itself, each of libmicrohttpd's pool threads watches the one listen socket, and the first
/// awake accepts up to ten connections in a row: eight clients connecting at once all went to one of
/// the two threads in about two servers of five here, its core saturated while the other idled
/// (`GET /healthz` with `wrk -t2 -c8`: 89,000–102,000 requests/s with 11–22 % of the machine idle,
/// against 136,000–142,000 split four and four). Here the listen socket is this type's, the daemon runs
/// with `MHD_USE_NO_LISTEN_SOCKET`, and each accepted connection goes in with `MHD_add_connection`,
/// which gives it to the pool thread at index *descriptor* mod *threads* (the next one with room if
/// that one is full): the descriptor is moved to the number that picks the thread
/// ``InlineAnswers/place(near:shares:)`` names — the one at the index of the CPU the connection's
/// packets came in on (`SO_INCOMING_CPU`), unless it is blocked answering a run where it arrived or
/// serves two connections more than the least loaded; else the least loaded.
///
/// The connection limit is kept here: each thread holds at most its share of it, and at the limit
/// connections wait in the listen backlog, as with libmicrohttpd's own accepts. libmicrohttpd must never
/// refuse an added connection for its own limit: 0.9.75 then leaves the pool thread's
/// `cleanup_connection_mutex` locked (`new_connection_process_`), and `MHD_stop_daemon` hangs on it
/// later. So the daemon is given twice the limit, which a thread's count (those it opened and has not
/// closed; every closed one is cleaned up before the next added is processed) never reaches.
/// libmicrohttpd still applies the per-address cap, closing what is over it (a safe path).
///
/// Only for a pool of several threads: one thread takes every connection anyway, and accepts them
/// itself. The cost: a new connection wakes two threads (this one, then its pool thread) where
/// libmicrohttpd's own accept woke one, +7 to +33 µs for a client that opens one per request
/// (README, "Connections spread over the HTTP threads"); a connection kept alive pays nothing more.
final class ConnectionAcceptor: @unchecked Sendable {
    /// The listen socket (bound and listening from ``init(address:threads:limit:balance:)``; closed by ``close()``).
    let socket: Int32
    /// The bound port (the kernel's choice for port 0).
    let port: Int
    private let balance: InlineAnswers
    private let threads: Int
    /// The most connections each pool thread may hold at once (the server's limit shared out as
    /// libmicrohttpd shares it); the daemon itself is given twice that (see the type's comment).
    private let shares: [Int]
    // `lock` guards the three below.
    private let lock = NSLock()
    private var thread: pthread_t?
    private var daemon: OpaquePointer?
    private var closed = false

    /// Binds and listens on `address` as libmicrohttpd would (`SO_REUSEADDR`, an IPv6 socket for IPv6
    /// only, a backlog of `SOMAXCONN`); `limit`: the connections open at once over all `threads`;
    /// `balance` knows the pool's threads and what each serves.
    init(address: HTTPServer.BindAddress, threads: Int, limit: Int, balance: InlineAnswers) throws(HTTPServerError) {
        let fd = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .startFailed("cannot listen on \(address.description): socket: \(Self.reason())") }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if address.family == AF_INET6 { _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size)) }
        var storage = address.storage
        let length = socklen_t(address.family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, SOMAXCONN) == 0 else {
            let why = Self.reason()
            Glibc.close(fd)
            throw .startFailed("cannot listen on \(address.description): \(why)")
        }
        var local = sockaddr_storage()
        var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &localLength) }
        }
        let rawPort = withUnsafeBytes(of: local) { raw -> UInt16 in
            // sin_port and sin6_port are both at offset 2, in network order.
            UInt16(raw[2]) << 8 | UInt16(raw[3])
        }
        self.socket = fd
        self.port = Int(rawPort)
        self.threads = threads
        self.shares = Self.shares(of: limit, over: threads)
        self.balance = balance
    }

    deinit { close() }

    /// Starts accepting for `daemon` (started with `MHD_USE_NO_LISTEN_SOCKET`), which must outlive ``stop()``.
    func start(daemon: OpaquePointer) throws(HTTPServerError) {
        let started: Bool = lock.withLock {
            guard thread == nil, !closed else { return false }
            self.daemon = daemon
            var tid = pthread_t()
            let me = Unmanaged.passRetained(self)
            guard pthread_create(&tid, nil, { raw in
                Unmanaged<ConnectionAcceptor>.fromOpaque(raw!).takeRetainedValue().acceptUntilStopped()
                return nil
            }, me.toOpaque()) == 0 else {
                me.release()
                return false
            }
            thread = tid
            return true
        }
        guard started else { throw .startFailed("could not start the thread that accepts connections") }
    }

    /// Stops accepting and waits for the accepting thread: once it returns, no connection reaches the
    /// daemon, and connecting is refused (the socket is shut down). Idempotent.
    func stop() {
        let running: pthread_t? = lock.withLock {
            daemon = nil
            defer { thread = nil }
            return thread
        }
        guard let running else { return }
        // accept(2) on a listening socket returns EINVAL once the socket is shut down.
        shutdown(socket, Int32(SHUT_RDWR))
        pthread_join(running, nil)
    }

    /// Stops, then closes the listen socket. Idempotent.
    func close() {
        stop()
        let first: Bool = lock.withLock {
            defer { closed = true }
            return !closed
        }
        if first { Glibc.close(socket) }
    }

    private func acceptUntilStopped() {
        ThreadName.set("ipclab-accept")
        while acceptOne() {}
    }

    /// The daemon to give connections to; nil once stopping.
    private var current: OpaquePointer? { lock.withLock { daemon } }

    /// Accepts one connection and gives it to a pool thread (or finds none to accept); false once stopped.
    private func acceptOne() -> Bool {
        // At the limit, connections wait in the listen backlog (as with libmicrohttpd's own accepts).
        guard balance.waitForRoom(shares: shares, seconds: 0.05) else { return current != nil }
        var peer = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { cmhd_accept(socket, $0, &length) }
        }
        let err = errno
        guard let daemon = current else {
            if fd >= 0 { Glibc.close(fd) }
            return false
        }
        guard fd >= 0 else {
            switch err {
            case EINTR, ECONNABORTED, EPROTO, EAGAIN:
                return true
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors or memory: the connection waits in the backlog; try again shortly
                // rather than spin (libmicrohttpd does the same at its limit).
                usleep(10_000)
                return true
            default:
                return false
            }
        }
        var cpu: Int32 = -1
        var cpuLength = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &cpuLength) != 0 { cpu = -1 }
        // There is room (only this thread places connections; closing ones only make more).
        guard let index = balance.place(near: Int(cpu), shares: shares) else {
            Glibc.close(fd)
            return true
        }
        let placed = Self.descriptor(fd, choosing: index, of: threads)
        guard Int(placed) % threads == index else {
            // No number with the residue could be had (out of descriptors): refused, as libmicrohttpd
            // refuses at its own accept then; given to another thread it could pass that thread's share.
            Glibc.close(placed)
            balance.unplace(index)
            return true
        }
        // libmicrohttpd closes the socket itself when it does not take it (the per-address cap,
        // out of memory).
        let taken = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MHD_add_connection(daemon, placed, $0, length) }
        }
        if taken != .YES { balance.unplace(index) }
        return true
    }

    /// `fd`, or a duplicate of it whose number picks pool thread `index` of `threads` (libmicrohttpd's
    /// `MHD_add_connection` gives a connection to the thread at descriptor mod threads when that one has
    /// room), the original closed: the lowest free such number above `fd`. `fd` itself when none can be
    /// had (out of descriptors).
    ///
    /// The numbers with one residue fill up while a thread holds more connections than the others (one
    /// answering a run inline gets none): the search steps over each one taken, which the kernel does for
    /// it (`F_DUPFD` returns the lowest free number from where it is asked), so a try costs one probe per
    /// free number of another residue below the one found: as many as the threads' counts differ, at most.
    static func descriptor(_ fd: Int32, choosing index: Int, of threads: Int) -> Int32 {
        guard threads > 1, index >= 0, Int(fd) % threads != index else { return fd }
        func atOrAbove(_ number: Int) -> Int { number + (index - number % threads + threads) % threads }
        var from = atOrAbove(Int(fd))
        for _ in 0..<4096 {
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, Int32(from))
            guard copy >= 0 else { return fd }
            if Int(copy) % threads == index {
                Glibc.close(fd)
                return copy
            }
            // Every number from `from` up to `copy` is taken.
            Glibc.close(copy)
            from = atOrAbove(Int(copy) + 1)
        }
        return fd
    }

    /// `limit` shared out over `threads` as libmicrohttpd shares its connection limit over its pool:
    /// limit / threads each, the first limit mod threads one more.
    static func shares(of limit: Int, over threads: Int) -> [Int] {
        (0..<max(1, threads)).map { limit / max(1, threads) + ($0 < limit % max(1, threads) ? 1 : 0) }
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}
