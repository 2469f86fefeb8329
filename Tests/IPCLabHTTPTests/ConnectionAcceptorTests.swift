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
        #expect(answers.leastLoaded() == 0)
        answers.placed(0)
        #expect(answers.leastLoaded() == 1)
        answers.placed(1)
        #expect(answers.leastLoaded() == 0)
        // Counts [1, 1]: the CPU's thread while it has at most two more.
        #expect(answers.leastLoaded(near: 3) == 1)
        answers.placed(1)
        answers.placed(1)
        #expect(answers.leastLoaded(near: 1) == 1)
        answers.placed(1)
        #expect(answers.leastLoaded(near: 1) == 0, "thread 1 serves 4, thread 0 serves 1")
        // A connection the daemon refused is taken back.
        answers.placed(1, by: -1)
        answers.placed(1, by: -1)
        #expect(answers.leastLoaded(near: 1) == 1)
        #expect(InlineAnswers(poolThreads: 1).leastLoaded(near: 0) == -1)
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
