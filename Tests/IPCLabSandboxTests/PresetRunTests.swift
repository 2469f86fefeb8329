import IPCLabCore
import IPCLabSandbox
import Testing

/// The four pipe presets with their defaults, run for real: what the kernel reported
/// must be what the mechanism guarantees.
@Suite("Presets with default parameters")
struct PresetRunTests {
    @Test("pipe.hello: the parent reads the 6 bytes \"Hello\\0\" the child wrote")
    func hello() async throws {
        let trace = try await run("pipe.hello")
        expectWentWell(trace)
        #expect(trace.run.experiment == "pipe.hello")
        let read = try #require(trace.calls(.pipes(.read), by: "parent", on: "pfds").first, "\(describe(trace))")
        #expect(read.result == 6)
        #expect(read.payload?.text == "Hello\u{0}")
        #expect(read.payload?.hex == "48656c6c6f00")
        let write = try #require(trace.calls(.pipes(.write), by: "child", on: "pfds").first)
        #expect(write.result == 6)
        #expect(write.payload?.preview == read.payload?.preview)
        // The read cannot finish before the write that fed it started.
        #expect((read.endNs ?? 0) >= write.tNs)
        // The parent reaped exactly its child.
        let wait = try #require(trace.calls(.process(.wait4), by: "parent").first)
        #expect(wait.result == Int64(trace.process("child")?.pid ?? -1))
    }

    @Test("pipe.byte_stream: four writes of 10 are read as 5, 15, 15, 5")
    func byteStream() async throws {
        let trace = try await run("pipe.byte_stream")
        expectWentWell(trace)
        #expect(results(trace, .pipes(.write), by: "writer", on: "p") == [10, 10, 10, 10])
        let reads = results(trace, .pipes(.read), by: "reader", on: "p")
        #expect(reads == [5, 15, 15, 5], "\(describe(trace))")
        #expect(reads.compactMap { $0 }.reduce(0, +) == 40)
        // The bytes come out in the order they went in: the a…z pattern of each write, back to back.
        let got = trace.calls(.pipes(.read), by: "reader", on: "p").flatMap { $0.payload?.preview ?? [] }
        let sent = trace.calls(.pipes(.write), by: "writer", on: "p").flatMap { $0.payload?.preview ?? [] }
        #expect(got == sent)
        #expect(got.count == 40)
    }

    @Test("pipe.eof: the reader's last read returns 0 once every write end is closed")
    func eof() async throws {
        let trace = try await run("pipe.eof")
        expectWentWell(trace)
        let reads = trace.calls(.pipes(.read), by: "reader", on: "p")
        let last = try #require(reads.last, "\(describe(trace))")
        #expect(last.returned)
        #expect(last.result == 0)
        #expect(last.errno == nil)
        #expect(Array(reads.dropLast()).bytesMoved == Int64("some bytes, then the end".utf8.count))
        // Both unused ends were closed before the end of file.
        let closes = trace.calls(.pipes(.close), on: "p")
        #expect(closes.count == 2)
        #expect(closes.allSatisfy { $0.result == 0 })
    }

    @Test("pipe.capacity: F_GETPIPE_SZ says 65536, and the write into the full pipe blocks until the reader drains it")
    func capacity() async throws {
        let trace = try await run("pipe.capacity")
        expectWentWell(trace)
        let getSize = trace.calls(.pipes(.fcntl), by: "writer", on: "p").filter { $0.arg(.cmd) == "F_GETPIPE_SZ" }
        #expect(getSize.map(\.result) == [65536], "\(describe(trace))")
        let writes = trace.calls(.pipes(.write), by: "writer", on: "p")
        let blocked = writes.filter { ($0.blockedNs ?? 0) > 50_000_000 }
        #expect(blocked.count == 1, "one write waits for the reader's delay of 100 ms: \(describe(trace))")
        #expect(blocked.first?.seq == writes.last?.seq, "it is the last one, into the full pipe")
        // A snapshot saw the pipe hold exactly its capacity.
        #expect(trace.snapshots(of: "p").contains { $0.value("bytes") == 65536 && $0.value("capacity") == 65536 })
        #expect(writes.bytesMoved == trace.calls(.pipes(.read), by: "reader", on: "p").bytesMoved)
    }
}
