import Foundation
import Synchronization
import Testing

@testable import IPCLabHTTP

#if canImport(Glibc)
import Glibc
#endif

/// Work answered on the thread that submitted it (``InlineAnswers``, ``RunExecutor/respond(_:client:cost:errors:rejected:answeringHere:with:)``):
/// only where that blocks no other connection, and always in a slot of the executor's.
@Suite("Inline answers", .serialized)
struct InlineAnswersTests {
    /// Runs `body` on a thread of its own that serves `connections` connections of `answers`, as a
    /// libmicrohttpd thread in an access handler's call; waits for it to end.
    private static func onServerThread(_ answers: InlineAnswers, connections: Int = 1, _ body: @escaping @Sendable () -> Void) -> Thread {
        let thread = Thread {
            for _ in 0..<connections { answers.opened(descriptor: -1) }
            InlineAnswers.handling(InlineAnswers.Current(answers: answers, owe: { true }), body)
            for _ in 0..<connections { answers.closed() }
        }
        thread.start()
        return thread
    }

    private static var threadName: String {
        (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines) ?? "?"
    }

    @Test("work answered here runs on the submitting thread, responds before respond returns, and holds a slot meanwhile")
    func holdsASlot() {
        let executor = RunExecutor(threads: 1, queueLimit: 4, name: "test-inline")
        defer { executor.shutdown() }
        let answers = InlineAnswers(poolThreads: 2)
        let gate = Gate()
        let ranOn = Mutex("")
        let answered = Atomic(false)
        let returned = Atomic(false)
        _ = Self.onServerThread(answers) {
            Thread.current.name = "server-side"
            executor.respond({ _ in answered.store(true, ordering: .releasing) }, answeringHere: true) { _ in
                ranOn.withLock { $0 = Self.threadName }
                gate.wait()
                return .text("here")
            }
            // Answered by the time respond returns: the access handler queues it at once.
            returned.store(answered.load(ordering: .acquiring), ordering: .releasing)
        }
        #expect(eventually { executor.load == .init(running: 1, queued: 0) })
        #expect(answers.answering == 1)
        // The one slot is the inline work's: work submitted now waits for it, though the run thread is idle.
        let other = Atomic(false)
        #expect(executor.submit { other.store(true, ordering: .releasing) })
        usleep(50_000)
        let ranEarly = other.load(ordering: .acquiring)
        #expect(!ranEarly)
        #expect(executor.load == .init(running: 1, queued: 1))
        gate.open()
        let otherRan = eventually { other.load(ordering: .acquiring) }
        let answeredFirst = eventually { returned.load(ordering: .acquiring) }
        #expect(otherRan && answeredFirst)
        #expect(!ranOn.withLock { $0 }.hasPrefix("test-inline"), "ran on \(ranOn.withLock { $0 })")
        #expect(executor.snapshot().answeredHere == 1)
        #expect(answers.answering == 0)
    }

    @Test("a thread that serves another connection, a pool of one thread, or work already waiting: a run thread answers")
    func handedOver() {
        let executor = RunExecutor(threads: 2, queueLimit: 4, name: "test-handed")
        defer { executor.shutdown() }
        for (pool, connections) in [(2, 2), (1, 1)] {
            let answers = InlineAnswers(poolThreads: pool)
            let ranOn = Mutex("")
            let done = Gate()
            _ = Self.onServerThread(answers, connections: connections) {
                executor.respond({ _ in done.open() }, answeringHere: true) { _ in
                    ranOn.withLock { $0 = Self.threadName }
                    return .text("there")
                }
            }
            #expect(done.wait(seconds: 5))
            #expect(ranOn.withLock { $0 }.hasPrefix("test-handed-"), "pool \(pool), \(connections) connections: ran on \(ranOn.withLock { $0 })")
        }
        // With every slot taken, the work waits in the queue and a run thread takes it when one frees.
        let gate = Gate()
        for _ in 0..<2 { #expect(executor.submit { gate.wait() }) }
        #expect(eventually { executor.load.running == 2 })
        let answers = InlineAnswers(poolThreads: 2)
        let ranOn = Mutex("")
        let done = Gate()
        _ = Self.onServerThread(answers) {
            executor.respond({ _ in done.open() }, answeringHere: true) { _ in
                ranOn.withLock { $0 = Self.threadName }
                return .text("later")
            }
        }
        #expect(eventually { executor.load.queued == 1 })
        gate.open()
        #expect(done.wait(seconds: 5))
        #expect(ranOn.withLock { $0 }.hasPrefix("test-handed-"))
        #expect(executor.snapshot().answeredHere == 0)
    }

    @Test("at most all threads but one answer inline at once")
    func leavesOneThread() {
        let answers = InlineAnswers(poolThreads: 3)
        let gate = Gate()
        let claimed = Atomic(0)
        let threads = (0..<3).map { _ in
            Self.onServerThread(answers) {
                guard let lease = InlineAnswers.claim() else { return }
                claimed.add(1, ordering: .relaxed)
                gate.wait()
                lease.release()
            }
        }
        let two = eventually { claimed.load(ordering: .relaxed) == 2 }
        usleep(50_000)
        let stillTwo = claimed.load(ordering: .relaxed) == 2 && answers.answering == 2
        #expect(two && stillTwo)
        gate.open()
        #expect(eventually { answers.answering == 0 })
        _ = threads
        // Outside a handler's call there is nothing to claim.
        #expect(InlineAnswers.claim() == nil)
    }

    @Test("over HTTP: a lone connection's run is answered on its HTTP thread, and a new connection is served meanwhile")
    func overHTTP() throws {
        let executor = RunExecutor(threads: 2, queueLimit: 4, name: "test-inhttp")
        defer { executor.shutdown() }
        let gate = Gate()
        let ranOn = Mutex("")
        let handler = LaterHandler { request, respond in
            guard request.method == "POST" else { return respond(.text("quick")) }
            executor.respond(respond, errors: APIError.render, answeringHere: true) { _ in
                ranOn.withLock { $0 = Self.threadName }
                gate.wait()
                return .text("ran \(request.path)")
            }
        }
        try withServer(threads: 2, handler: handler) { port in
            let first = try Connection(port: port)
            first.request("POST", "/a")
            #expect(eventually { executor.snapshot().answeredHere == 1 && executor.load.running == 1 })
            // The blocked thread serves only `first`; the other accepts and answers a new connection at once.
            let second = try Connection(port: port)
            second.request("GET", "/h")
            let (quick, elapsed) = timed { second.receive() }
            #expect(try #require(quick).text == "quick")
            #expect(elapsed < 500, "a new connection waited \(elapsed) ms")
            gate.open()
            #expect(try #require(first.receive()).text == "ran /a")
            #expect(!ranOn.withLock { $0 }.hasPrefix("test-inhttp"), "ran on \(ranOn.withLock { $0 })")
        }
    }
}
