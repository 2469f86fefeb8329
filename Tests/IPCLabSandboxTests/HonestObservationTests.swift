import IPCLabCore
import IPCLabSandbox
import Testing

/// Issue 15's cases: an observation holds only when the events it cites show the behaviour.
@Suite("Observations hold only on evidence", .serialized)
struct HonestObservationTests {
    private func observation(_ trace: Trace, _ id: String) throws -> Observation {
        try #require(trace.observations.first { $0.id == id }, "\(trace.observations.map(\.id))")
    }

    /// The cited blocking call began before, and returned after, the cited event that released it.
    private func expectBracketed(_ trace: Trace, _ o: Observation, call: String, release: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        let cited = o.evidence.map { trace.events[$0 - 1] }
        let blocked = cited.last { $0.call == call && $0.errno == nil }
        let released = cited.first { $0.call == release }
        guard let blocked, let released, let end = blocked.endNs else {
            Issue.record("\(o.id) cites no \(call) and \(release): \(o.evidence)", sourceLocation: sourceLocation)
            return
        }
        #expect(blocked.tNs < released.tNs && end > released.tNs, "\(o.detail)", sourceLocation: sourceLocation)
    }

    @Test("pipe.capacity with 1000-byte chunks: full at 64,000 bytes by the kernel's EAGAIN, the real block cited, run ok")
    func capacityOddChunks() async throws {
        let trace = try await run("pipe.capacity", params: ["chunk_size": 1000])
        #expect(trace.run.outcome == .ok, "\(trace.run.reason ?? "")")
        #expect(trace.run.eventsDropped == 0)
        let fills = try observation(trace, "pipe.capacity.fills_at_capacity")
        #expect(fills.holds, "\(fills.detail)")
        #expect(fills.detail.contains("64000 bytes waiting"), "\(fills.detail)")
        let waits = try observation(trace, "pipe.capacity.full_write_waits")
        #expect(waits.holds, "\(waits.detail)")
        expectBracketed(trace, waits, call: "write", release: "read")
        let blocked = try #require(waits.evidence.map { trace.events[$0 - 1] }.last { $0.call == "write" })
        #expect((blocked.blockedNs ?? 0) > 20_000_000, "the real block (about reader_delay_ms), not a 0.002 ms write")
    }

    @Test("mq.full with one message and no reader delay claims a wait only if the send was bracketed by the receive")
    func mqFullNoDelay() async throws {
        for _ in 0..<5 {
            let trace = try await run("mq.full", params: ["max_messages": 1, "reader_delay_ms": 0])
            let waits = try observation(trace, "mq.full.full_send_waits")
            if waits.holds {
                expectBracketed(trace, waits, call: "mq_send", release: "mq_receive")
            } else {
                #expect(!waits.detail.contains("waited"), "\(waits.detail)")
            }
        }
    }

    @Test("socket.buffer and mq.full with defaults: the wait is a real one, bracketed by the release")
    func defaultWaitsAreBracketed() async throws {
        let socket = try await run("socket.buffer")
        let sw = try observation(socket, "socket.buffer.full_send_waits")
        #expect(sw.holds, "\(sw.detail)")
        expectBracketed(socket, sw, call: "send", release: "recv")
        let mq = try await run("mq.full")
        let mw = try observation(mq, "mq.full.full_send_waits")
        #expect(mw.holds, "\(mw.detail)")
        expectBracketed(mq, mw, call: "mq_send", release: "mq_receive")
    }

    @Test("pipe.byte_stream: 16 writes of 2049 bytes (16 slots) run to ok; a reader that got nothing is said so")
    func byteStreamSlots() async throws {
        let trace = try await run("pipe.byte_stream", params: ["write_sizes": .array(Array(repeating: .integer(2049), count: 16)),
                                                              "read_sizes": [65536]])
        #expect(trace.run.outcome == .ok, "\(trace.run.reason ?? "")")
        let conserved = try observation(trace, "pipe.byte_stream.bytes_conserved")
        #expect(conserved.holds, "\(conserved.detail)")
        for o in trace.observations { #expect(!o.detail.contains("read as :"), "\(o.detail)") }
    }
}

/// Issue 15's new presets: with their defaults each runs to `ok` with every observation holding on evidence.
@Suite("New presets of issue 15", .serialized)
struct NewPresetRunTests {
    @Test("defaults run ok, every observation holds and cites events",
          arguments: ["pipe.inode", "mq.sysv_full", "signal.unblockable", "signal.process_group", "socket.nonblocking"])
    func defaults(_ id: String) async throws {
        let trace = try await run(id)
        #expect(trace.run.outcome == .ok, "\(trace.run.reason ?? "")")
        let entry = try #require(Catalog.standard.preset(id)).experiment
        #expect(trace.observations.map(\.id) == entry.observations)
        for o in trace.observations {
            #expect(o.holds, "\(o.id): \(o.detail)")
            #expect(!o.evidence.isEmpty, "\(o.id)")
        }
    }

    @Test("signal.unblockable: the mask read back holds SIGUSR1 only; the target dies of SIGKILL")
    func unblockable() async throws {
        let trace = try await run("signal.unblockable")
        let readBack = try #require(trace.calls(.signals(.sigprocmask), by: "target").dropFirst().first)
        #expect(readBack.arg(.oldset) == .array([.string("SIGUSR1")]), "\(describe(trace))")
        #expect(trace.process("target")?.exit == .signal(name: "SIGKILL", coreDumped: false))
    }

    @Test("socket.nonblocking with the writer first: the blocking recv did not wait, and the trace says so")
    func recvAfterSend() async throws {
        // The writer sends at once while the reader is still starting: whichever came first, a "waits" claim
        // holds only if the recv began before the send.
        let trace = try await run("socket.nonblocking", params: ["writer_delay_ms": 0, "nonblocking": false])
        let o = try #require(trace.observations.first { $0.id == "socket.nonblocking.blocking_recv_waits" })
        let recv = try #require(trace.socketReceives(on: "sv", by: "reader").first { ($0.result ?? 0) > 0 })
        let send = try #require(trace.socketSends(on: "sv", by: "writer").first)
        #expect(o.holds == recv.blocked(until: send), "\(o.detail)")
    }

    @Test("socket.nonblocking with a blocking first recv ends ok: one recv takes the data, none waits for ever")
    func blockingFirstRecvEnds() async throws {
        let trace = try await run("socket.nonblocking", params: ["writer_delay_ms": 30, "nonblocking": false])
        #expect(trace.run.outcome == .ok, "\(trace.run.reason ?? "")")
        #expect(trace.socketReceives(on: "sv", by: "reader").count == 1)
        let o = try #require(trace.observations.first { $0.id == "socket.nonblocking.eagain_when_empty" })
        #expect(!o.holds, "\(o.detail)")
    }

    @Test("shm.anonymous (correction 004): sizeof(parent_message) copies 8 bytes; a longer message arrives cut; strlen + 1 or an 8-byte message shows nothing")
    func sizeofPointerCopy() async throws {
        let id = "shm.anonymous.copies_pointer_size"
        func observation(_ trace: Trace, _ id: String) throws -> Observation {
            try #require(trace.observations.first { $0.id == id }, "\(trace.observations.map(\.id))")
        }
        let short = try await run("shm.anonymous")
        let shown = try observation(short, id)
        #expect(shown.holds, "\(shown.detail)")
        let cited = shown.evidence.map { short.events[$0 - 1] }
        #expect(cited.first?.call == "store" && cited.first?.int(.count) == 8 && cited.first?.payload?.bytes == 8, "\(cited)")
        #expect(cited.last?.process == "child" && cited.last?.cString == "1111")

        let long = try await run("shm.anonymous", params: ["parent_message": "Hello, shared memory"])
        let cut = try observation(long, id)
        #expect(cut.holds && cut.detail.contains("cut"), "\(cut.detail)")
        #expect(long.calls(.sharedMemory(.load), by: "child", on: "shmem").first?.cString == "Hello, s")
        #expect(try observation(long, "shm.anonymous.child_reads_parent_write").holds, "the child read what was stored")

        let string = try await run("shm.anonymous", params: ["copy": "string", "parent_message": "Hello, shared memory"])
        let meant = try observation(string, id)
        #expect(!meant.holds && meant.detail.contains("strlen + 1 = 21"), "\(meant.detail)")
        #expect(string.calls(.sharedMemory(.load), by: "child", on: "shmem").first?.cString == "Hello, shared memory")

        // Seven characters and a NUL are a pointer's 8 bytes: the run cannot tell the two copies apart.
        let eight = try await run("shm.anonymous", params: ["parent_message": "1234567"])
        let tie = try observation(eight, id)
        #expect(!tie.holds && tie.detail.contains("cannot tell"), "\(tie.detail)")
    }
}
