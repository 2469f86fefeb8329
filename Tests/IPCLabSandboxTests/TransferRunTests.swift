import IPCLabCore
import Testing

/// `transfers`, one kind at a time, on real runs: each pairs the calls the kind joins, and what
/// the receiver got is what the sender sent.
@Suite("Transfers on real runs", .serialized)
struct TransferRunTests {
    private func events(_ trace: Trace, _ t: Transfer) throws -> (TraceEvent, TraceEvent) {
        let from = try #require(trace.events.first { $0.seq == t.from })
        let to = try #require(trace.events.first { $0.seq == t.to })
        return (from, to)
    }

    @Test("data on a pipe: writes of 10 read as 5, 15, 15, 5 make six pairs, 40 bytes, in byte order")
    func pipe() async throws {
        let trace = try await run("pipe.byte_stream")
        let data = trace.transfers.filter { $0.kind == .data }
        #expect(data.count == 6 && data.compactMap(\.bytes).reduce(0, +) == 40, "\(data)")
        // The first read (5 bytes) got them from the first write; the second read from the first and second.
        #expect(data.prefix(3).map { [$0.from, $0.to] } == [[data[0].from, data[0].to], [data[0].from, data[1].to], [data[2].from, data[1].to]])
        for t in data {
            let (w, r) = try events(trace, t)
            #expect(w.call == "write" && r.call == "read" && w.channel == "p" && t.channel == "p")
        }
    }

    @Test("data on a System V queue: each msgrcv paired with the msgsnd of the same message")
    func queue() async throws {
        let trace = try await run("mq.sysv")
        let data = trace.transfers.filter { $0.kind == .data }
        #expect(data.count == 4, "\(data)")
        for t in data {
            let (s, r) = try events(trace, t)
            #expect(s.call == "msgsnd" && r.call == "msgrcv")
            #expect(s.messageText == r.messageText && s.int(.mtype) == r.int(.mtype) && t.bytes == r.result)
        }
    }

    @Test("data through shared memory: the child's load got the bytes the parent stored")
    func sharedMemory() async throws {
        let trace = try await run("shm.anonymous")
        let data = trace.transfers.filter { $0.kind == .data }
        #expect(!data.isEmpty, "\(describe(trace))")
        for t in data {
            let (s, l) = try events(trace, t)
            #expect(s.call == "store" && l.call == "load" && s.process != l.process && s.tNs <= l.tNs)
            #expect(l.cString.map { s.cString?.hasPrefix($0) == true || $0.hasPrefix(s.cString ?? "") } == true)
        }
        // A private mapping shares nothing: no transfer is claimed.
        #expect(try await run("shm.private").transfers.filter { $0.kind == .data }.isEmpty)
    }

    @Test("signal: sigqueue's delivery carries its value, and names the sigqueue that sent it")
    func signal() async throws {
        let trace = try await run("signal.sigqueue")
        let signals = trace.transfers.filter { $0.kind == .signal }
        #expect(signals.count == 1, "\(trace.transfers)")
        let t = try #require(signals.first)
        let (s, d) = try events(trace, t)
        #expect(s.call == "sigqueue" && d.call == "deliver" && d.process == s.string(.process))
        #expect(t.channel == d.string(.signal) && t.bytes == nil)
    }

    @Test("signal: standard signals sent while one is pending merge into it")
    func coalescing() async throws {
        let trace = try await run("signal.coalescing")
        let signals = trace.transfers.filter { $0.kind == .signal }
        let sends = Set((trace.calls(.signals(.kill)) + trace.calls(.signals(.sigqueue))).filter { $0.result == 0 }.map(\.seq))
        // A successful send is paired with one delivery, or merged into one, never both nor twice.
        let claimed = signals.map(\.from) + signals.flatMap(\.merged)
        #expect(!signals.isEmpty && Set(claimed).count == claimed.count && Set(claimed).isSubset(of: sends), "\(signals)")
        #expect(Set(signals.map(\.to)).count == signals.count)
    }

    @Test("wake: each sem_post pairs with a sem_wait that found 0 and was in the kernel when it was posted")
    func wake() async throws {
        let trace = try await run("sem.mutex")
        let wakes = trace.transfers.filter { $0.kind == .wake }
        #expect(!wakes.isEmpty, "\(describe(trace))")
        for t in wakes {
            let (p, w) = try events(trace, t)
            #expect(p.call == "sem_post" && w.call == "sem_wait" && w.int(.valueBefore) == 0)
            #expect(p.process != w.process && p.tNs >= w.tNs && p.tNs <= (w.endNs ?? .max))
        }
    }

    @Test("descriptor: the sendmsg that passed a descriptor and the recvmsg that got one")
    func descriptor() async throws {
        let trace = try await run("socket.fd_passing")
        let passed = trace.transfers.filter { $0.kind == .descriptor }
        #expect(passed.count == 1, "\(trace.transfers)")
        let (s, r) = try events(trace, try #require(passed.first))
        #expect(s.call == "sendmsg" && r.call == "recvmsg" && s.process != r.process)
    }

    @Test("the Chrome export draws a flow for each transfer, sockets and signals included")
    func chrome() async throws {
        for id in ["socket.unix_stream", "signal.handshake", "mq.posix"] {
            let trace = try await run(id)
            let text = String(decoding: trace.chromeJSON(), as: UTF8.self)
            #expect(!trace.transfers.isEmpty, "\(id)")
            #expect(text.components(separatedBy: #""ph":"s""#).count - 1 == trace.transfers.count, "\(id)")
        }
    }
}
