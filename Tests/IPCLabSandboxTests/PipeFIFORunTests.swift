import IPCLabCore
import IPCLabSandbox
import Testing

/// The pipe and FIFO presets of issue 3 (sigpipe, nonblocking, duplex, pipeline, rendezvous),
/// run for real with their defaults and with other parameters.
@Suite("Pipe and FIFO presets", .serialized)
struct PipeFIFORunTests {
    // MARK: pipe.sigpipe

    @Test("sigpipe: the second write never returns; SIGPIPE kills the writer")
    func sigpipe() async throws {
        let trace = try await run("pipe.sigpipe")
        expectWentWell(trace, except: ["writer"])
        #expect(trace.process("writer")?.exit == .signal(name: "SIGPIPE", coreDumped: false), "\(describe(trace))")
        let writes = trace.calls(.pipes(.write), by: "writer", on: "p")
        #expect(writes.map(\.result) == [5, nil])
        #expect(writes.last?.returned == false)
    }

    @Test("sigpipe ignored: the write fails with EPIPE and the writer exits 0")
    func sigpipeIgnored() async throws {
        let trace = try await run("pipe.sigpipe", params: ["disposition": "ignore"])
        expectWentWell(trace)
        let last = try #require(trace.calls(.pipes(.write), by: "writer", on: "p").last)
        #expect(last.result == -1 && last.errno == "EPIPE", "\(describe(trace))")
    }

    @Test("sigpipe handled: the handler sees SIGPIPE, then the write fails with EPIPE")
    func sigpipeHandled() async throws {
        let trace = try await run("pipe.sigpipe", params: ["disposition": "handle"])
        expectWentWell(trace)
        let got = try #require(trace.deliveries(to: "writer", of: .sigpipe).first, "\(describe(trace))")
        let last = try #require(trace.calls(.pipes(.write), by: "writer", on: "p").last)
        #expect(last.errno == "EPIPE")
        #expect(got.tNs >= last.tNs && got.tNs <= (last.endNs ?? 0), "delivered during the failing write")
    }

    @Test("sigpipe with the writer keeping its read end: the write succeeds, no SIGPIPE; the observations say why")
    func sigpipeWriterKeepsReadEnd() async throws {
        let trace = try await run("pipe.sigpipe", params: ["writer_closes_read_end": false])
        #expect(trace.run.outcome == .ok)
        #expect(trace.process("writer")?.exit == .code(0))
        #expect(trace.calls(.pipes(.write), by: "writer", on: "p").map(\.result) == [5, 6])
        #expect(trace.observations.map(\.holds) == [false, false])
        expectCited(trace)
        #expect(trace.observations[0].detail.contains("the writer's own"), "\(trace.observations[0].detail)")
    }

    // MARK: pipe.nonblocking

    @Test("nonblocking: EAGAIN at once, then the blocking read waits about the writer's delay")
    func nonblocking() async throws {
        let trace = try await run("pipe.nonblocking")
        expectWentWell(trace)
        let reads = trace.calls(.pipes(.read), by: "reader", on: "p")
        #expect(reads.first?.errno == "EAGAIN", "\(describe(trace))")
        #expect((reads.first?.blockedNs ?? .max) < 20_000_000)
        let waited = try #require(reads.dropFirst().first)
        #expect(waited.result == 9)
        #expect((waited.blockedNs ?? 0) > 30_000_000, "waited for the writer's 100 ms delay")
    }

    @Test("nonblocking false: the first read blocks and gets the data; eagain_when_empty reports false")
    func blockingOnly() async throws {
        let trace = try await run("pipe.nonblocking", params: ["nonblocking": false, "writer_delay_ms": 30, "message": "abc"])
        #expect(trace.run.outcome == .ok)
        #expect(results(trace, .pipes(.read), by: "reader", on: "p") == [3, 0])
        #expect(trace.observations.map(\.holds) == [false, true])
        expectCited(trace)
    }

    // MARK: pipe.duplex

    @Test("duplex with two pipes: ping down, pong up")
    func duplex() async throws {
        let trace = try await run("pipe.duplex")
        expectWentWell(trace)
        #expect(trace.calls(.pipes(.read), by: "child", on: "down").first?.payload?.text == "ping")
        #expect(trace.calls(.pipes(.read), by: "parent", on: "up").first?.payload?.text == "pong")
    }

    @Test("duplex with one pipe: the parent reads back its own message, the child waits; the run ends as a deadlock")
    func duplexOnePipe() async throws {
        let trace = try await run("pipe.duplex", params: ["pipes": 1, "message": "hello", "child_delay_ms": 100], wallMs: 3000)
        #expect(trace.run.outcome == .deadlock)
        #expect(trace.calls(.pipes(.read), by: "parent", on: "p").first?.payload?.text == "hello", "\(describe(trace))")
        #expect(trace.calls(.pipes(.read), by: "child", on: "p").first?.returned == false)
        #expect(trace.observations.map(\.holds) == [false, false])
        expectCited(trace)
        #expect(trace.observations[0].detail.contains("its own message"))
    }

    // MARK: pipe.pipeline

    @Test("pipeline: random | alnum | take 20 gives 20 alphanumerics; the stages upstream of take die of SIGPIPE")
    func pipeline() async throws {
        let trace = try await run("pipe.pipeline")
        expectWentWell(trace, except: ["random", "alnum"])
        let out = trace.calls(.pipes(.read), by: "shell", on: "out")
        #expect(out.bytesMoved == 20, "\(describe(trace))")
        let text = out.compactMap(\.payload).flatMap(\.preview)
        #expect(text.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) })
        #expect(trace.process("take")?.exit == .code(0))
        #expect(trace.process("random")?.exit == .signal(name: "SIGPIPE", coreDumped: false))
        #expect(trace.process("alnum")?.exit == .signal(name: "SIGPIPE", coreDumped: false))
        // Stages read fd 0 and write fd 1, each a pipe end put there by dup2.
        #expect(trace.calls(.pipes(.dup2)).count == 5)
        #expect(trace.calls(.pipes(.read), by: "take").allSatisfy { $0.int(.fd) == 0 && $0.channel == "p2" })
        #expect(trace.calls(.pipes(.write), by: "random").allSatisfy { $0.int(.fd) == 1 && $0.channel == "p1" })
    }

    @Test("pipeline random 300 | alnum | take 5: random runs dry before take stops, so no stage dies of SIGPIPE")
    func pipelineShort() async throws {
        let trace = try await run("pipe.pipeline", params: ["stages": "random 300 | alnum | take 5"])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(trace.calls(.pipes(.read), by: "shell", on: "out").bytesMoved == 5)
        // random writes its 300 bytes in one write and exits before anyone stops reading.
        #expect(trace.process("random")?.exit == .code(0))
        let sigpipe = try #require(trace.observations.last)
        #expect(sigpipe.holds == false)
        #expect(sigpipe.detail.contains("random exited with 0"), "\(sigpipe.detail)")
    }

    @Test("pipeline of one stage: alnum reads /dev/null (end of file at once) and writes nothing")
    func pipelineAlone() async throws {
        let trace = try await run("pipe.pipeline", params: ["stages": "alnum"])
        #expect(trace.run.outcome == .ok)
        #expect(trace.calls(.pipes(.read), by: "alnum").first?.result == 0, "standard input is /dev/null: end of file")
        #expect(trace.process("alnum")?.exit == .code(0))
    }

    // MARK: fifo.rendezvous

    @Test("rendezvous: each first open blocks about the delay and returns after the other side's open began")
    func rendezvous() async throws {
        let trace = try await run("fifo.rendezvous")
        expectWentWell(trace)
        let readerOpen = try #require(trace.calls(.fifos(.open), by: "reader", on: "fifo_a").first)
        let writerOpen = try #require(trace.calls(.fifos(.open), by: "writer", on: "fifo_a").first)
        #expect((readerOpen.blockedNs ?? 0) > 50_000_000, "\(describe(trace))")
        #expect((readerOpen.endNs ?? 0) >= writerOpen.tNs)
        let writerWaits = try #require(trace.calls(.fifos(.open), by: "writer", on: "fifo_b").first)
        #expect((writerWaits.blockedNs ?? 0) > 50_000_000)
        #expect(trace.calls(.pipes(.read), by: "reader", on: "fifo_b").first?.payload?.text == "hello through a FIFO")
    }

    @Test("rendezvous with O_NONBLOCK: nobody waits — the writer's opens fail with ENXIO, nothing is delivered")
    func rendezvousNonblocking() async throws {
        let trace = try await run("fifo.rendezvous", params: ["nonblocking": true, "delay_ms": 50])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(trace.calls(.fifos(.open), by: "writer").map(\.errno) == ["ENXIO", "ENXIO"])
        #expect(trace.calls(.fifos(.open), by: "reader").allSatisfy { ($0.result ?? -1) >= 0 })
        #expect(trace.observations.map(\.holds) == [false, false, false])
        expectCited(trace)
    }

    @Test("rendezvous with no delay still meets")
    func rendezvousNoDelay() async throws {
        let trace = try await run("fifo.rendezvous", params: ["delay_ms": 0, "message": "x"])
        // With no delay, which open begins first is the scheduler's: a wait is claimed only when one happened.
        expectWentWell(trace, scheduling: ["fifo.rendezvous.reader_waits_for_writer", "fifo.rendezvous.writer_waits_for_reader"])
        #expect(trace.observations.first { $0.id == "fifo.rendezvous.met_by_path" }?.holds == true, "\(describe(trace))")
    }

    // MARK: fifo.unrelated

    @Test("unrelated: the reader makes the FIFO by a step, the writer (not its descendant) opens the path, the bytes arrive")
    func unrelated() async throws {
        let trace = try await run("fifo.unrelated")
        expectWentWell(trace)
        let made = trace.calls(.fifos(.mkfifo), on: "f")
        #expect(made.count == 1 && made.first?.process == "reader" && made.first?.step == 0, "\(describe(trace))")
        #expect(trace.process("writer")?.parent == "parent", "the writer is the reader's sibling")
        // No process but the two ends ever opened it, and the parent, which forked both, never did.
        #expect(Set(trace.calls(.fifos(.open), on: "f").map(\.process)) == ["reader", "writer"])
        let readerOpen = try #require(trace.calls(.fifos(.open), by: "reader", on: "f").first)
        let writerOpen = try #require(trace.calls(.fifos(.open), by: "writer", on: "f").first)
        #expect(readerOpen.blocked(until: writerOpen) && (readerOpen.blockedNs ?? 0) > 50_000_000, "\(describe(trace))")
        #expect(trace.calls(.pipes(.read), by: "reader", on: "f").first?.payload?.text == "hello from a process that inherited nothing")
    }

    @Test("unrelated, made before fork: the same scenario with the FIFO made by the first process is not what the observation claims")
    func unrelatedClaimCanFail() async throws {
        // The preset's scenario with before_fork true and no mkfifo step: the parent made the FIFO, the
        // reader is not its maker, and maker_not_an_ancestor must say so.
        var request = try RunRequest.preset("fifo.unrelated", params: nil)
        request.scenario.channels[0] = .fifo("f", path: "/tmp/rendezvous")
        request.scenario.processes[1].steps.removeFirst()
        let trace = try await run(request)
        let o = try #require(trace.observations.first { $0.id == "fifo.unrelated.maker_not_an_ancestor" }, "\(describe(trace))")
        #expect(!o.holds, "\(o.detail)")
        #expect(trace.calls(.fifos(.mkfifo), on: "f").first?.process == "parent")
    }
}
