import Testing

@testable import IPCLabHTTP

@Suite("FairRunQueue")
struct FairRunQueueTests {
    /// Starts everything that may start now, in order, finishing none.
    static func drain(_ queue: inout FairRunQueue<String>) -> [String] {
        var started: [String] = []
        while let entry = queue.next() { started.append(entry.item) }
        return started
    }

    @Test("clients are served round-robin: a flood of one client's work does not go before another's one piece")
    func roundRobin() {
        var queue = FairRunQueue<String>(capacity: 100, perClientLimit: 50, budgetBytes: nil)
        for i in 1...5 { #expect(queue.enqueue("flood\(i)", client: "127.0.0.1") == .queued) }
        #expect(queue.enqueue("victim1", client: "127.0.0.2") == .queued)
        #expect(queue.enqueue("victim2", client: "127.0.0.2") == .queued)
        #expect(queue.enqueue("other1", client: "key:alice") == .queued)
        #expect(Self.drain(&queue) == ["flood1", "victim1", "other1", "flood2", "victim2", "flood3", "flood4", "flood5"])
        #expect(queue.running == 8 && queue.queued == 0)
    }

    @Test("a client that arrives while another's work waits is served next in turn, not after the backlog")
    func lateComer() {
        var queue = FairRunQueue<String>(capacity: 100, perClientLimit: 50, budgetBytes: nil)
        for i in 1...4 { _ = queue.enqueue("a\(i)", client: "a") }
        #expect(queue.next()?.item == "a1")
        #expect(queue.next()?.item == "a2")
        _ = queue.enqueue("b1", client: "b")
        #expect(queue.next()?.item == "b1")
        #expect(queue.next()?.item == "a3")
        queue.finish(client: "a")
        #expect(queue.load(of: "a") == .init(running: 2, queued: 1, heldBytes: 0))
    }

    @Test("the whole queue and one client's part of it are capped: full, then clientFull")
    func caps() {
        var queue = FairRunQueue<String>(capacity: 5, perClientLimit: 3, budgetBytes: nil)
        for i in 1...3 { #expect(queue.enqueue("a\(i)", client: "a") == .queued) }
        #expect(queue.enqueue("a4", client: "a") == .clientFull)
        #expect(queue.next()?.item == "a1")
        #expect(queue.enqueue("a4", client: "a") == .clientFull, "running work counts against the client's cap")
        #expect(queue.enqueue("b1", client: "b") == .queued)
        #expect(queue.enqueue("b2", client: "b") == .queued)
        #expect(queue.enqueue("c1", client: "c") == .full)
        queue.finish(client: "a")
        #expect(queue.enqueue("a4", client: "a") == .queued)
    }

    @Test("work that does not fit the response budget waits, counted once, and starts when bytes are released")
    func budget() {
        var queue = FairRunQueue<String>(capacity: 10, perClientLimit: 10, budgetBytes: 100)
        _ = queue.enqueue("big1", client: "a", cost: 150)
        _ = queue.enqueue("big2", client: "a", cost: 60)
        _ = queue.enqueue("small", client: "b", cost: 30)
        #expect(queue.next()?.item == "big1", "a lone piece may exceed the budget")
        #expect(queue.next() == nil, "nothing fits while 150 of 100 are held")
        #expect(queue.budgetWaits == 2)
        #expect(queue.next() == nil)
        #expect(queue.budgetWaits == 2, "each piece counts once")
        queue.finish(client: "a")
        queue.release(client: "a", bytes: 100)
        #expect(queue.heldBytes == 50)
        // a holds 50 and wants 60 more: over the budget. b holds nothing and 30 fits.
        #expect(queue.next()?.item == "small")
        queue.finish(client: "b")
        queue.release(client: "b", bytes: 30)
        queue.release(client: "a", bytes: 50)
        #expect(queue.next()?.item == "big2")
        #expect(queue.heldBytes == 60)
    }

    @Test("a client holding budget gets no more than its share while another wants some")
    func budgetShare() {
        var queue = FairRunQueue<String>(capacity: 10, perClientLimit: 10, budgetBytes: 100)
        _ = queue.enqueue("a1", client: "a", cost: 40)
        _ = queue.enqueue("a2", client: "a", cost: 40)
        #expect(queue.next()?.item == "a1")
        _ = queue.enqueue("b1", client: "b", cost: 70)
        // b's 70 does not fit beside a's 40; a's second 40 would fit the budget but not a's
        // share (100 / 2 clients), so neither starts: the bytes a gives back go to b.
        #expect(queue.next() == nil)
        queue.finish(client: "a")
        queue.release(client: "a", bytes: 40)
        #expect(queue.next()?.item == "b1")
    }

    @Test("the oldest waiting piece is expired first, whichever client it belongs to")
    func expiry() {
        var queue = FairRunQueue<String>(capacity: 10, perClientLimit: 10, budgetBytes: nil)
        let t0 = ContinuousClock.now
        _ = queue.enqueue("b1", client: "b", at: t0 + .milliseconds(5))
        _ = queue.enqueue("a1", client: "a", at: t0)
        _ = queue.enqueue("a2", client: "a", at: t0 + .milliseconds(10))
        #expect(queue.oldestQueued == t0)
        #expect(queue.popExpired(queuedBefore: t0 - .milliseconds(1)) == nil)
        #expect(queue.popExpired(queuedBefore: t0 + .milliseconds(7))?.item == "a1")
        #expect(queue.popExpired(queuedBefore: t0 + .milliseconds(7))?.item == "b1")
        #expect(queue.popExpired(queuedBefore: t0 + .milliseconds(7)) == nil)
        #expect(queue.next()?.item == "a2")
        #expect(queue.queued == 0)
    }
}

extension FairRunQueueTests {
    @Test("with a running cap, one client's backlog leaves a slot free that a newcomer takes at once")
    func runningCap() {
        var queue = FairRunQueue<String>(capacity: 20, perClientLimit: 10, perClientRunning: 3, budgetBytes: nil)
        for i in 1...6 { _ = queue.enqueue("a\(i)", client: "a") }
        #expect(Self.drain(&queue) == ["a1", "a2", "a3"], "a's fourth waits though nothing else does")
        _ = queue.enqueue("b1", client: "b")
        #expect(queue.next()?.item == "b1")
        queue.finish(client: "a")
        #expect(queue.next()?.item == "a4")
        #expect(queue.next() == nil)
    }
}

extension FairRunQueueTests {
    @Test("ignoring the budget (the server stops), work that does not fit starts all the same")
    func ignoringBudget() {
        var queue = FairRunQueue<String>(capacity: 10, perClientLimit: 10, budgetBytes: 100)
        _ = queue.enqueue("a1", client: "a", cost: 90)
        _ = queue.enqueue("b1", client: "b", cost: 90)
        #expect(queue.next()?.item == "a1")
        #expect(queue.next() == nil)
        #expect(queue.next(ignoringBudget: true)?.item == "b1")
        #expect(queue.heldBytes == 180)
    }
}

extension FairRunQueueTests {
    /// Eight clients with one request each and four threads, as eight graders posting back to back: a
    /// client that posts again before its last response is sent (its bytes still held) used to keep its
    /// old turn, while one that posted after came back as a newcomer and went first; the first kind
    /// then waited for as long as newcomers kept coming (tens of ms at 1,400 runs/s).
    @Test("a client that posts again while its last response is still held waits no longer than one that posted after")
    func noStarvationByReturningClients() {
        var queue = FairRunQueue<String>(capacity: 64, perClientLimit: 8, perClientRunning: 3, budgetBytes: 1 << 20)
        let clients = (0..<8).map { "client-\($0)" }
        var waitingSince: [String: Int] = [:]
        var running: [String] = []
        var picks = 0
        var longestWait = 0
        func startAll() {
            while running.count < 4, let entry = queue.next() {
                picks += 1
                longestWait = max(longestWait, picks - waitingSince[entry.client, default: picks])
                running.append(entry.client)
            }
        }
        for client in clients {
            _ = queue.enqueue(client, client: client, cost: 1000)
            waitingSince[client] = picks
        }
        startAll()
        for _ in 0..<2000 {
            let client = running.removeFirst()
            queue.finish(client: client)
            // Even clients' responses go out before they post again; odd clients post first.
            let releaseFirst = clients.firstIndex(of: client)! % 2 == 0
            if releaseFirst { queue.release(client: client, bytes: 1000) }
            #expect(queue.enqueue(client, client: client, cost: 1000) == .queued)
            waitingSince[client] = picks
            if !releaseFirst { queue.release(client: client, bytes: 1000) }
            startAll()
        }
        #expect(running.count == 4)
        // Those still waiting count too: a starved client never starts.
        for client in clients where !running.contains(client) {
            longestWait = max(longestWait, picks - waitingSince[client, default: picks])
        }
        #expect(longestWait <= clients.count, "a request waited \(longestWait) starts of others' work")
    }
}
