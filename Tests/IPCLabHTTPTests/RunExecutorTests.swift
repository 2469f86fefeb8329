import Foundation
import Synchronization
import Testing

@testable import IPCLabHTTP

#if canImport(Glibc)
import Glibc
#endif

@Suite("RunExecutor", .serialized)
struct RunExecutorTests {
    /// The names of this process's threads that start with `prefix`.
    private static func threads(named prefix: String) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { task in
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8) else { return nil }
            let name = comm.trimmingCharacters(in: .newlines)
            return name.hasPrefix(prefix) ? name : nil
        }.sorted()
    }

    @Test("its threads exist from init to shutdown, named, and no more of them")
    func fixedThreads() {
        let executor = RunExecutor(threads: 3, queueLimit: 0, name: "test-fixed")
        #expect(eventually(seconds: 2) { Self.threads(named: "test-fixed-").count == 3 })
        #expect(Self.threads(named: "test-fixed-") == ["test-fixed-0", "test-fixed-1", "test-fixed-2"])
        let gate = Gate()
        for _ in 0..<3 { #expect(executor.submit { gate.wait() }) }
        #expect(Self.threads(named: "test-fixed-").count == 3)
        gate.open()
        executor.shutdown()
        #expect(Self.threads(named: "test-fixed-").isEmpty)
    }

    @Test("at most threads + queueLimit pieces are taken; all taken ones run; shutdown finishes them")
    func boundedQueue() {
        let executor = RunExecutor(threads: 2, queueLimit: 3, name: "test-bound")
        let gate = Gate()
        let ran = Atomic(0)
        for index in 0..<5 {
            #expect(executor.submit { gate.wait(); ran.add(1, ordering: .relaxed) }, "piece \(index) refused")
        }
        #expect(eventually { executor.load == .init(running: 2, queued: 3) }, "\(executor.load)")
        #expect(!executor.submit { ran.add(100, ordering: .relaxed) })
        gate.open()
        #expect(eventually { executor.load == .init(running: 0, queued: 0) })
        #expect(executor.submit { ran.add(1, ordering: .relaxed) })
        executor.shutdown()
        #expect(ran.load(ordering: .relaxed) == 6)
        #expect(!executor.submit { ran.add(1000, ordering: .relaxed) })
        #expect(ran.load(ordering: .relaxed) == 6)
    }

    @Test("pieces run at once on separate threads, up to the thread count")
    func parallel() {
        let executor = RunExecutor(threads: 4, queueLimit: 4, name: "test-par")
        defer { executor.shutdown() }
        let done = Atomic(0)
        let (_, elapsed) = timed {
            for _ in 0..<4 { _ = executor.submit { usleep(300_000); done.add(1, ordering: .relaxed) } }
            _ = eventually { done.load(ordering: .relaxed) == 4 }
        }
        #expect(done.load(ordering: .relaxed) == 4)
        #expect(elapsed < 550, "4 pieces of 300 ms on 4 threads took \(elapsed) ms")
    }

    @Test("respond(_:with:) answers 503 unavailable with Retry-After: 1 at once when full, and after shutdown")
    func respondWhenFull() {
        let executor = RunExecutor(threads: 1, queueLimit: 0, name: "test-full")
        let gate = Gate()
        let answers = Mutex<[HTTPResponse]>([])
        executor.respond({ response in answers.withLock { $0.append(response) } }) {
            gate.wait()
            return .text("ran")
        }
        executor.respond({ response in answers.withLock { $0.append(response) } }, errors: APIError.render) { .text("must not run") }
        let refused = answers.withLock { $0 }
        #expect(refused.count == 1)
        #expect(refused.first?.status == .serviceUnavailable)
        #expect(refused.first?.header("Retry-After") == "1")
        #expect(refused.first.map { String(decoding: $0.body, as: UTF8.self) }?.contains(#""code":"unavailable""#) == true)
        gate.open()
        executor.shutdown()
        #expect(answers.withLock { $0.map(\.status.code) } == [503, 200])
        executor.respond({ response in answers.withLock { $0.append(response) } }) { .text("after shutdown") }
        #expect(answers.withLock { $0.last?.status } == .serviceUnavailable)
        #expect(answers.withLock { $0.last.map { String(decoding: $0.body, as: UTF8.self) } }?.contains("stopping") == true)
    }

    @Test("work that waits longer than maxQueueWait is answered 503 queue_wait soon after, and never runs")
    func queueWait() {
        let executor = RunExecutor(threads: 1, queueLimit: 4, maxQueueWait: .milliseconds(150), name: "test-wait")
        #expect(eventually(seconds: 2) { Self.threads(named: "test-wait").contains("test-wait-wait") })
        let gate = Gate()
        let answers = Mutex<[(Int, ContinuousClock.Instant)]>([])
        let reasons = Mutex<[RunExecutor.Rejection]>([])
        let ran = Atomic(0)
        let start = ContinuousClock.now
        executor.respond({ r in answers.withLock { $0.append((r.status.code, .now)) } }) {
            gate.wait()
            return .text("first")
        }
        for _ in 0..<2 {
            executor.respond({ r in answers.withLock { $0.append((r.status.code, .now)) } },
                             rejected: { reason in reasons.withLock { $0.append(reason) } }) {
                ran.add(1, ordering: .relaxed)
                return .text("must not run")
            }
        }
        #expect(eventually(seconds: 2) { answers.withLock { $0.count } == 2 })
        let expired = answers.withLock { $0 }
        #expect(expired.map(\.0) == [503, 503])
        for (_, at) in expired {
            let waited = start.duration(to: at)
            #expect(waited >= .milliseconds(150) && waited < .milliseconds(1000), "answered after \(waited)")
        }
        #expect(reasons.withLock { $0 } == [.queueWait, .queueWait])
        #expect(executor.load.queued == 0)
        gate.open()
        executor.shutdown()
        #expect(ran.load(ordering: .relaxed) == 0)
        #expect(answers.withLock { $0.map(\.0) } == [503, 503, 200])
        #expect(Self.threads(named: "test-wait").isEmpty)
    }

    @Test("over HTTP: a full executor answers 503 at once while its slow requests are parked, then they complete")
    func busyOverHTTP() throws {
        let executor = RunExecutor(threads: 1, queueLimit: 1, name: "test-http")
        defer { executor.shutdown() }
        let gate = Gate()
        let handler = LaterHandler { request, respond in
            executor.respond(respond, errors: APIError.render) {
                gate.wait()
                return .text("ran \(request.path)")
            }
        }
        try withServer(threads: 1, handler: handler) { port in
            let first = try Connection(port: port)
            let second = try Connection(port: port)
            first.request("POST", "/a")
            #expect(eventually { executor.load == .init(running: 1, queued: 0) })
            second.request("POST", "/b")
            #expect(eventually { executor.load == .init(running: 1, queued: 1) })

            let third = try Connection(port: port)
            third.request("POST", "/c")
            let (refused, elapsed) = timed { third.receive() }
            let busy = try #require(refused)
            #expect(busy.status == 503)
            // One waits and one runs on the one thread, each estimated at a second (no run ended yet).
            #expect(busy.headers["retry-after"] == "2")
            #expect(busy.text.contains(#""code":"unavailable""#))
            #expect(elapsed < 100, "the 503 took \(elapsed) ms")
            #expect(first.isSilent(forMilliseconds: 20) && second.isSilent(forMilliseconds: 20))

            gate.open()
            #expect(try #require(first.receive()).text == "ran /a")
            #expect(try #require(second.receive()).text == "ran /b")
        }
    }
}

@Suite("RunExecutor fairness", .serialized)
struct RunExecutorFairnessTests {
    @Test("one client past its cap is refused client_limit with a Retry-After from the queue; another client still gets in")
    func clientLimit() {
        let executor = RunExecutor(threads: 1, queueLimit: 8, perClientLimit: 3, name: "test-cap")
        defer { executor.shutdown() }
        let gate = Gate()
        for _ in 0..<3 { #expect(executor.submit(client: "10.0.0.1", { _ in gate.wait() }) == nil) }
        #expect(executor.submit(client: "10.0.0.1", { _ in }) == .clientLimit)
        #expect(executor.submit(client: "10.0.0.2", { _ in gate.wait() }) == nil)
        let refusal = executor.refusal(.clientLimit, client: "10.0.0.1")
        #expect(refusal.status == .serviceUnavailable)
        #expect(Int(refusal.headers["Retry-After"] ?? "") ?? 0 >= 3, "3 runs of ~1 s ahead on 1 thread")
        #expect(executor.snapshot().clients["10.0.0.1"].map { $0.running + $0.queued } == 3)
        gate.open()
    }

    @Test("a second client's work starts before the rest of the first client's backlog")
    func order() {
        let executor = RunExecutor(threads: 1, queueLimit: 16, name: "test-order")
        defer { executor.shutdown() }
        let gate = Gate()
        let order = Mutex<[String]>([])
        _ = executor.submit(client: "a", { _ in gate.wait() })
        #expect(eventually(seconds: 2) { executor.load.running == 1 })
        for i in 1...4 { _ = executor.submit(client: "a", { _ in order.withLock { $0.append("a\(i)") } }) }
        _ = executor.submit(client: "b", { _ in order.withLock { $0.append("b1") } })
        gate.open()
        #expect(eventually(seconds: 2) { order.withLock { $0.count } == 5 })
        // b has none running, a has one: b goes first, then a's backlog.
        #expect(order.withLock { $0 } == ["b1", "a1", "a2", "a3", "a4"])
    }

    @Test("no piece is left waiting with a thread idle: thousands submitted at once from several threads, by clients limited to one running each, all run")
    func noLostWakeup() {
        // Submits wake one worker each and a finishing thread takes what its slot lets start (no
        // broadcasts): a lost wakeup leaves pieces queued with workers asleep, and this never ends.
        let executor = RunExecutor(threads: 3, queueLimit: 4096, perClientRunning: 1, name: "test-wake")
        defer { executor.shutdown() }
        let ran = Atomic(0)
        let submitters = 4, each = 500
        DispatchQueue.concurrentPerform(iterations: submitters) { s in
            for i in 0..<each {
                // Three clients, so that pieces wait for their client's running slot, not for a thread.
                let client = ["a", "b", "c"][(s + i) % 3]
                #expect(executor.submit(client: client, { _ in ran.add(1, ordering: .relaxed) }) == nil)
                if i % 50 == 0 { usleep(200) }
            }
        }
        #expect(eventually(seconds: 30) { ran.load(ordering: .relaxed) == submitters * each },
                "\(ran.load(ordering: .relaxed)) of \(submitters * each) ran; \(executor.load)")
        // And after the queue ran dry, one more still starts (the workers all sleep now).
        usleep(50_000)
        #expect(executor.submit(client: "a", { _ in ran.add(1, ordering: .relaxed) }) == nil)
        #expect(eventually(seconds: 5) { ran.load(ordering: .relaxed) == submitters * each + 1 })
    }
}

extension RunExecutorFairnessTests {
    @Test("work that does not fit the response budget waits, without a thread, until a reservation is released")
    func budgetBackpressure() {
        let executor = RunExecutor(threads: 2, queueLimit: 4, responseBudgetBytes: 100, name: "test-budget")
        defer { executor.shutdown() }
        let kept = Mutex<RunExecutor.Reservation?>(nil)
        let ran = Atomic(0)
        // The first keeps its 80 bytes after it returns, as a response still being sent does.
        #expect(executor.submit(client: "a", cost: 80, { reservation in kept.withLock { $0 = reservation } }) == nil)
        #expect(eventually(seconds: 2) { kept.withLock { $0 != nil } })
        #expect(executor.submit(client: "b", cost: 50, { _ in ran.add(1, ordering: .relaxed) }) == nil)
        usleep(200_000)
        #expect(ran.load(ordering: .relaxed) == 0, "ran past the budget")
        let snapshot = executor.snapshot()
        #expect(snapshot.heldBytes == 80 && snapshot.queued == 1 && snapshot.running == 0 && snapshot.budgetWaits == 1)
        kept.withLock { $0?.resize(to: 40) }  // the trace turned out smaller: 40 + 50 fits
        #expect(eventually(seconds: 2) { ran.load(ordering: .relaxed) == 1 })
        kept.withLock { $0 = nil }  // released when freed
        #expect(eventually(seconds: 2) { executor.snapshot().heldBytes == 0 })
    }
}
