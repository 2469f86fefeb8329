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
/// ``InlineAnswers/leastLoaded(near:)`` names — the one at the index of the CPU the connection's
/// packets came in on (`SO_INCOMING_CPU`), unless it is blocked answering a run where it arrived or
/// serves two connections more than the least loaded; else the least loaded.
///
/// Only for a pool of several threads: one thread takes every connection anyway, and accepts them
/// itself. libmicrohttpd still applies its connection limits to each connection added (the total
/// and the per-address cap), closing what is over them.
final class ConnectionAcceptor: @unchecked Sendable {
    /// The listen socket (bound and listening from ``init(address:threads:balance:)``; closed by ``close()``).
    let socket: Int32
    /// The bound port (the kernel's choice for port 0).
    let port: Int
    private let balance: InlineAnswers
    private let threads: Int
    // `lock` guards the three below.
    private let lock = NSLock()
    private var thread: pthread_t?
    private var daemon: OpaquePointer?
    private var closed = false

    /// Binds and listens on `address` as libmicrohttpd would (`SO_REUSEADDR`, an IPv6 socket for IPv6
    /// only, a backlog of `SOMAXCONN`); `balance` knows the pool's threads and what each serves.
    init(address: HTTPServer.BindAddress, threads: Int, balance: InlineAnswers) throws(HTTPServerError) {
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
        while true {
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    cmhd_accept(socket, $0, &length)
                }
            }
            let err = errno
            let daemon = lock.withLock { self.daemon }
            if fd < 0 {
                if daemon == nil { return }
                switch err {
                case EINTR, ECONNABORTED, EPROTO, EAGAIN:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory: the connection waits in the backlog; try again shortly
                    // rather than spin (libmicrohttpd does the same at its limit).
                    usleep(10_000)
                    continue
                default:
                    return
                }
            }
            guard let daemon else {
                Glibc.close(fd)
                return
            }
            var cpu: Int32 = -1
            var cpuLength = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &cpuLength) != 0 { cpu = -1 }
            let placed = Self.descriptor(fd, choosing: balance.leastLoaded(near: Int(cpu)), of: threads)
            let index = Int(placed) % threads
            balance.placed(index)
            // libmicrohttpd closes the socket itself when it does not take it (over a limit, out of memory).
            let taken = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MHD_add_connection(daemon, placed, $0, length) }
            }
            if taken != .YES { balance.placed(index, by: -1) }
        }
    }

    /// `fd`, or a duplicate of it whose number picks pool thread `index` of `threads` (libmicrohttpd's
    /// `MHD_add_connection` tries the thread at descriptor mod threads first), the original closed.
    /// `fd` itself when no such number can be had in 16 tries (the connection is then only less well placed).
    static func descriptor(_ fd: Int32, choosing index: Int, of threads: Int) -> Int32 {
        guard threads > 1, index >= 0, Int(fd) % threads != index else { return fd }
        var from = Int(fd) + (index - Int(fd) % threads + threads) % threads
        var tried: [Int32] = []
        defer { for extra in tried { Glibc.close(extra) } }
        // Other threads take descriptors meanwhile (the lowest free number each): a number with the residue
        // can be taken between two tries.
        for _ in 0..<16 {
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, Int32(from))
            guard copy >= 0 else { return fd }
            if Int(copy) % threads == index {
                Glibc.close(fd)
                return copy
            }
            tried.append(copy)
            from = Int(copy) + (index - Int(copy) % threads + threads) % threads
        }
        return fd
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}
