import Foundation
import Synchronization
import Testing

@testable import IPCLabHTTP

#if canImport(Glibc)
import Glibc
#endif

/// Which pool thread served each request (by `pthread_self`), for the balance tests.
private final class ThreadTally: HTTPHandler, Sendable {
    private let seen = Mutex<[UInt: Int]>([:])

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        seen.withLock { $0[UInt(pthread_self()), default: 0] += 1 }
        return .text("ok")
    }

    /// Requests served, by thread.
    var counts: [Int] { seen.withLock { Array($0.values) } }
}

@Suite("Connections are spread over the pool's threads (ConnectionAcceptor)")
struct ConnectionAcceptorTests {
    @Test("eight connections opened at once are served by both threads of a pool of two")
    func spreadsConnectionsOpenedAtOnce() throws {
        // libmicrohttpd's own accepts gave all eight to whichever thread woke first, in about two
        // servers of five here: then one thread served 8 and the other none. Four servers, each time.
        for _ in 0..<4 {
            let tally = ThreadTally()
            try withServer(threads: 2, handler: tally) { port in
                let connections = try (0..<8).map { _ in try Connection(port: port) }
                for connection in connections { connection.request("/x") }
                for connection in connections { #expect(connection.receive()?.status == 200) }
            }
            let counts = tally.counts
            #expect(counts.count == 2, "threads that served the 8 connections: \(counts)")
            #expect(counts.allSatisfy { $0 >= 3 }, "requests per thread: \(counts)")
        }
    }

    @Test("the thread chosen: the incoming CPU's, unless it serves two more than the least loaded; else the least loaded")
    func choosesThread() {
        let answers = InlineAnswers(poolThreads: 2)
        #expect(answers.place() == 0)
        #expect(answers.place() == 1)
        // Counts [1, 1]: the CPU's thread while it has at most two more.
        #expect(answers.place(near: 3) == 1)
        #expect(answers.place(near: 1) == 1)
        #expect(answers.place(near: 1) == 1)
        #expect(answers.place(near: 1) == 0, "thread 1 serves 4, thread 0 serves 1")
        // A connection the daemon refused is taken back.
        answers.unplace(1)
        answers.unplace(1)
        #expect(answers.place(near: 1) == 1)
        #expect(InlineAnswers(poolThreads: 1).place(near: 0) == -1)
    }

    @Test("a thread at its share of the limit takes no more; when every one is, none is placed")
    func keepsTheLimit() {
        #expect(ConnectionAcceptor.shares(of: 5, over: 2) == [3, 2])
        #expect(ConnectionAcceptor.shares(of: 1, over: 2) == [1, 0])
        let answers = InlineAnswers(poolThreads: 2)
        let shares = [2, 1]
        #expect(answers.place(near: 1, shares: shares) == 1)
        #expect(answers.place(near: 1, shares: shares) == 0, "thread 1 is full")
        #expect(answers.place(near: 1, shares: shares) == 0)
        #expect(answers.place(near: 0, shares: shares) == nil, "every thread is full")
        #expect(!answers.waitForRoom(shares: shares, seconds: 0.01))
        answers.unplace(1)
        #expect(answers.waitForRoom(shares: shares, seconds: 0.01))
        #expect(answers.place(shares: shares) == 1)
    }

    @Test("over the connection limit, stop still returns (libmicrohttpd 0.9.75 left a lock held when it refused an added connection)")
    func stopsAfterConnectionsOverTheLimit() throws {
        // A limit of 4 over two threads, 40 connections opened at once and closed: before the acceptor
        // kept the limit itself, the daemon refused some of them and MHD_stop_daemon then hung.
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0, threadPoolSize: 2)
        configuration.connectionLimit = 4
        let server = HTTPServer(configuration: configuration, logger: silentLogger, handler: EchoHandler())
        let port = try server.start()
        do {
            let opened = (0..<40).compactMap { _ in try? Connection(port: port, timeoutSeconds: 1) }
            #expect(opened.count == 40, "the backlog holds what is over the limit")
            for connection in opened.prefix(4) { connection.request("/x") }
            for connection in opened.prefix(4) { #expect(connection.receive()?.status == 200) }
        }  // all closed here
        usleep(100_000)
        let stopped = DispatchSemaphore(value: 0)
        let stopper = Thread {
            server.stop()
            stopped.signal()
        }
        stopper.start()
        #expect(stopped.wait(timeout: .now() + 10) == .success, "stop() did not return within 10 s")
    }

    @Test("a pool of one thread accepts its connections itself, as before")
    func onePoolThreadAcceptsItself() throws {
        let tally = ThreadTally()
        try withServer(threads: 1, handler: tally) { port in
            let connections = try (0..<4).map { _ in try Connection(port: port) }
            for connection in connections { connection.request("/x") }
            for connection in connections { #expect(connection.receive()?.status == 200) }
        }
        #expect(tally.counts == [4])
    }

    @Test("a descriptor is moved to a number that picks the thread asked for, close-on-exec, the same socket")
    func descriptorPicksThread() throws {
        // Tests run in parallel here, each taking the lowest free descriptors: this one works far above
        // them (≥ 700, under the usual soft limit of 1,024), where the numbers it asks for stay free.
        // (Whether the old number is closed is not checked: another test may take it at once.)
        for threads in [2, 3, 4] {
            for index in 0..<threads {
                let low = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                try #require(low >= 0)
                // A number that picks another thread, so that the descriptor has to move.
                let base = 704 + 16 * index
                let fd = fcntl(low, F_DUPFD_CLOEXEC, Int32(base + ((index + 1 - base % threads) % threads + threads) % threads))
                close(low)
                try #require(fd >= 700 && Int(fd) % threads != index)
                var port = sockaddr_in()
                port.sin_family = sa_family_t(AF_INET)
                port.sin_addr.s_addr = inet_addr("127.0.0.1")
                let bound = withUnsafePointer(to: &port) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                try #require(bound == 0)
                let moved = ConnectionAcceptor.descriptor(fd, choosing: index, of: threads)
                #expect(Int(moved) % threads == index, "fd \(fd) → \(moved), wanted \(index) of \(threads)")
                #expect(fcntl(moved, F_GETFD) & FD_CLOEXEC != 0, "the new descriptor is close-on-exec")
                // The same socket: bound where the original was.
                var local = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                _ = withUnsafeMutablePointer(to: &local) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(moved, $0, &length) }
                }
                #expect(local.sin_port != 0)
                close(moved)
            }
        }
        // No thread asked for, or a pool of one: the descriptor as it was.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(ConnectionAcceptor.descriptor(fd, choosing: -1, of: 2) == fd)
        #expect(ConnectionAcceptor.descriptor(fd, choosing: 0, of: 1) == fd)
        close(fd)
    }

    @Test("the descriptor's search steps over every number of its residue taken (one thread holding many connections)")
    func descriptorStepsOverTakenNumbers() throws {
        // Numbers 800, 802, … 860 taken (as by one thread's connections), odd ones free: asked for thread 0
        // of 2, a descriptor at 801 must end at 862, not give up and stay odd (its connection then went to
        // the thread answering a run inline, and waited for the run: e2e/test_fairness.py's client limit).
        let seed = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(seed >= 0)
        defer { close(seed) }
        var taken: [Int32] = []
        defer { for fd in taken { close(fd) } }
        for number in stride(from: 800, through: 860, by: 2) {
            let fd = fcntl(seed, F_DUPFD_CLOEXEC, Int32(number))
            try #require(fd == Int32(number), "number \(number) is in use by another test")
            taken.append(fd)
        }
        let odd = fcntl(seed, F_DUPFD_CLOEXEC, 801)
        try #require(odd == 801)
        let moved = ConnectionAcceptor.descriptor(odd, choosing: 0, of: 2)
        #expect(moved == 862, "801 → \(moved)")
        close(moved)
    }

    @Test("stop returns while clients keep connecting, and the port refuses connections after it")
    func stopsWhileClientsConnect() throws {
        let server = makeServer(threads: 2, handler: EchoHandler())
        let port = try server.start()
        let done = Atomic(false)
        let client = Thread {
            while !done.load(ordering: .relaxed) {
                if let connection = try? Connection(port: port, timeoutSeconds: 1) {
                    connection.request("/x")
                    _ = connection.receive()
                }
            }
        }
        client.start()
        usleep(200_000)
        server.stop()
        done.store(true, ordering: .relaxed)
        usleep(100_000)
        #expect(throws: (any Error).self) { try Connection(port: port, timeoutSeconds: 1) }
    }
}
