import IPCLabCore
import IPCLabSandbox
import Testing

/// Presets with parameters other than their defaults: the kernel's answers follow the parameters.
@Suite("Presets with other parameters", .serialized)
struct ParameterRunTests {
    @Test("byte_stream: writes of 7, 3, 11 are read as exactly 4, 4, 13")
    func readSizesFollowTheReader() async throws {
        let trace = try await run("pipe.byte_stream", params: ["write_sizes": [7, 3, 11], "read_sizes": [4, 4, 13]])
        expectWentWell(trace)
        #expect(results(trace, .pipes(.write), by: "writer", on: "p") == [7, 3, 11])
        #expect(results(trace, .pipes(.read), by: "reader", on: "p") == [4, 4, 13], "\(describe(trace))")
        let noBoundaries = try #require(trace.observations.first { $0.id == "pipe.byte_stream.no_boundaries" })
        #expect(noBoundaries.holds)
    }

    @Test("byte_stream: reads that match the writes do not show the claim, and the observation says so")
    func matchingReadsDoNotShowIt() async throws {
        let trace = try await run("pipe.byte_stream", params: ["write_sizes": [10, 10, 10, 10], "read_sizes": [10, 10, 10, 10]])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(results(trace, .pipes(.read), by: "reader", on: "p") == [10, 10, 10, 10])
        let noBoundaries = try #require(trace.observations.first { $0.id == "pipe.byte_stream.no_boundaries" })
        #expect(noBoundaries.holds == false)
        #expect(noBoundaries.detail.contains("does not show"), "\(noBoundaries.detail)")
        let conserved = try #require(trace.observations.first { $0.id == "pipe.byte_stream.bytes_conserved" })
        #expect(conserved.holds)
    }

    @Test("eof: a reader that keeps its write end open never sees end of file; the run ends as a deadlock")
    func eofWithoutClosing() async throws {
        let trace = try await run("pipe.eof", params: ["close_unused_ends": false], wallMs: 3000)
        #expect(trace.run.outcome == .deadlock, "\(describe(trace))")
        let reason = try #require(trace.run.reason)
        #expect(reason.contains("reader reads p: its only open write end is reader's own"), "\(reason)")
        #expect(trace.run.deadlock?.blocked.map(\.process) == ["reader"])
        let last = try #require(trace.calls(.pipes(.read), by: "reader", on: "p").last)
        #expect(last.returned == false)
        #expect(last.result == nil && last.endNs == nil && last.errno == nil)
        #expect(trace.calls(.pipes(.close), on: "p").isEmpty)
        let observation = try #require(trace.observations.first)
        #expect(observation.id == "pipe.eof.read_returns_zero")
        #expect(observation.holds == false)
        // The writer finished on its own; the reader was killed at the wall limit.
        #expect(trace.process("writer")?.exit == .code(0))
        #expect(trace.process("reader")?.exit == .signal(name: "SIGKILL", coreDumped: false))
    }

    @Test("capacity: with O_NONBLOCK the write into the full pipe fails with EAGAIN")
    func nonblocking() async throws {
        let trace = try await run("pipe.capacity", params: ["nonblocking": true])
        expectWentWell(trace)
        let last = try #require(trace.calls(.pipes(.write), by: "writer", on: "p").last)
        #expect(last.errno == "EAGAIN", "\(describe(trace))")
        #expect(last.result == -1)
        #expect((last.blockedNs ?? .max) < 50_000_000, "fails at once rather than waiting for the reader")
        let setfl = trace.calls(.pipes(.fcntl), by: "writer", on: "p").filter { $0.arg(.cmd) == "F_SETFL" }
        #expect(setfl.first?.arg(.arg)?.compactTextContains("O_NONBLOCK") == true)
    }

    @Test("capacity: F_SETPIPE_SZ 12288 is rounded up to 16384, and the pipe fills at that")
    func pipeSize() async throws {
        let trace = try await run("pipe.capacity", params: ["pipe_size": 12288])
        expectWentWell(trace)
        let fcntls = trace.calls(.pipes(.fcntl), by: "writer", on: "p")
        #expect(fcntls.first { $0.arg(.cmd) == "F_SETPIPE_SZ" }?.result == 16384, "\(describe(trace))")
        #expect(fcntls.first { $0.arg(.cmd) == "F_GETPIPE_SZ" }?.result == 16384)
        #expect(trace.snapshots(of: "p").contains { $0.value("bytes") == 16384 })
        #expect(trace.calls(.pipes(.write), by: "writer", on: "p").bytesMoved == 16384 + 4096,
                "four chunks fill it, the fifth waits and goes in once the reader drains")
    }

    @Test("hello: another message arrives whole, with its NUL")
    func helloMessage() async throws {
        let trace = try await run("pipe.hello", params: ["message": "hi there"])
        expectWentWell(trace)
        let read = try #require(trace.calls(.pipes(.read), by: "parent", on: "pfds").first)
        #expect(read.result == 9)
        #expect(read.payload?.text == "hi there\u{0}", "\(describe(trace))")
    }
}

extension JSONValue {
    /// Whether a string value contains `part`.
    fileprivate func compactTextContains(_ part: String) -> Bool {
        if case .string(let s) = self { return s.contains(part) }
        return false
    }
}
