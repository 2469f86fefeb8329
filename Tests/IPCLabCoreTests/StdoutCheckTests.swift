import IPCLabCore
import Testing

/// The `stdout` check kind: holds only when the process's captured standard output contains the text.
@Suite("stdout check")
struct StdoutCheckTests {
    static func trace(stdout: String?, truncated: Bool = false, events: [TraceEvent] = []) -> Trace {
        var t = GradingCheckTests.trace(events: events)
        t.processes[0].stdout = stdout
        t.processes[0].truncated = truncated
        return t
    }

    static func write(_ seq: Int, fd: Int64, _ text: String) -> TraceEvent {
        TraceEvent(seq: seq, tNs: Int64(seq) * 1_000_000, endNs: Int64(seq) * 1_000_000 + 1000, process: "parent", pid: 2, step: nil,
                   call: "write", args: [("fd", .integer(fd))], result: Int64(text.utf8.count), errno: nil, canBlock: true,
                   payload: Payload(bytes: text.utf8.count, preview: Array(text.utf8)))
    }

    @Test("holds when the output contains the text; its evidence is the writes to fd 1 that carried it")
    func holds() throws {
        let c = try GradingCheckTests.check(#"{"id": "s", "kind": "stdout", "process": "parent", "contains": "got 42"}"#)
        let t = Self.trace(stdout: "hello\nparent got 42 items\n",
                           events: [Self.write(1, fd: 1, "hello\n"), Self.write(2, fd: 2, "got 42"), Self.write(3, fd: 1, "parent got 42 items\n")])
        let r = c.evaluate(t)
        #expect(r.passed && r.points == 1, "\(r.message)")
        #expect(r.evidence == [3])
        #expect(r.message == #"parent's standard output (26 bytes) contains "got 42""#, "\(r.message)")
    }

    static func output(_ seq: Int, offset: Int, _ text: String, fd: Int64 = 1, preview: String? = nil) -> TraceEvent {
        TraceEvent(seq: seq, tNs: Int64(seq) * 1_000_000, endNs: Int64(seq) * 1_000_000, process: "parent", pid: 2, step: nil,
                   call: "output", args: [("fd", .integer(fd)), ("offset", .integer(Int64(offset))), ("bytes", .integer(Int64(text.utf8.count)))],
                   result: Int64(text.utf8.count), errno: nil, canBlock: false,
                   payload: Payload(bytes: text.utf8.count, preview: Array((preview ?? text).utf8.prefix(Payload.previewLimit))))
    }

    @Test("cites the output events whose bytes hold the text: every chunk a text spans, no other")
    func outputEvidence() throws {
        let c = try GradingCheckTests.check(#"{"id": "s", "kind": "stdout", "process": "parent", "contains": "got 42"}"#)
        let out = "hello\nparent got 42 items\n"
        // The init found "hello\nparent g" first, then the rest; stderr's chunk and a forged one do not count.
        let events = [Self.output(1, offset: 0, "hello\nparent g"), Self.output(2, offset: 0, "got 42", fd: 2),
                      Self.output(3, offset: 14, "ot 42 items\n"), Self.output(4, offset: 14, "ot 42 items\n", preview: "something else")]
        let r = c.evaluate(Self.trace(stdout: out, events: events))
        #expect(r.passed && r.evidence == [1, 3], "\(r.evidence)")
        #expect(r.message.hasSuffix("; output events #1, #3"), "\(r.message)")
        // Within one chunk: that chunk alone.
        let one = try GradingCheckTests.check(#"{"id": "s", "kind": "stdout", "process": "parent", "contains": "items"}"#)
        #expect(one.evaluate(Self.trace(stdout: out, events: events)).evidence == [3])
        // Text that is not printed: no evidence, whatever the events say.
        let none = try GradingCheckTests.check(#"{"id": "s", "kind": "stdout", "process": "parent", "contains": "bye"}"#)
        #expect(none.evaluate(Self.trace(stdout: out, events: events)).evidence.isEmpty)
    }

    @Test("a forged output event with an offset or size near Int64.max is no evidence, and no crash")
    func forgedBounds() throws {
        let c = try GradingCheckTests.check(#"{"id": "s", "kind": "stdout", "process": "parent", "contains": "got 42"}"#)
        func forged(_ seq: Int, offset: Int64, bytes: Int64) -> TraceEvent {
            TraceEvent(seq: seq, tNs: 0, endNs: 0, process: "parent", pid: 2, step: nil, call: "output",
                       args: [("fd", .integer(1)), ("offset", .integer(offset)), ("bytes", .integer(bytes))],
                       result: 6, errno: nil, canBlock: false, payload: Payload(bytes: 6, preview: Array("got 42".utf8)))
        }
        let events = [forged(1, offset: .max, bytes: .max), forged(2, offset: 13, bytes: .max), forged(3, offset: .max - 1, bytes: 2),
                      Self.output(4, offset: 0, "hello\nparent got 42 items\n")]
        let r = c.evaluate(Self.trace(stdout: "hello\nparent got 42 items\n", events: events))
        #expect(r.passed && r.evidence == [4], "\(r.evidence)")
    }

    @Test("fails when the text is not there, showing how the output begins")
    func fails() throws {
        let c = try GradingCheckTests.check(#"{"id": "s", "kind": "stdout", "process": "parent", "contains": "goodbye"}"#)
        let r = c.evaluate(Self.trace(stdout: "hello\nworld\n", truncated: true))
        #expect(!r.passed && r.points == 0 && r.evidence.isEmpty)
        #expect(r.message == #"parent's standard output (12 bytes) does not contain "goodbye"; it begins "hello⏎world⏎" (the capture keeps 8192 bytes per stream: the text may have come later)"#,
                "\(r.message)")
        let empty = c.evaluate(Self.trace(stdout: ""))
        #expect(!empty.passed && empty.message.hasSuffix("it is empty"), "\(empty.message)")
    }

    @Test("fails for a process without captured output, or one the run lacks")
    func noOutput() throws {
        let c = try GradingCheckTests.check(#"{"id": "s", "kind": "stdout", "process": "parent", "contains": "x"}"#)
        let r = c.evaluate(Self.trace(stdout: nil))
        #expect(!r.passed && r.message.contains("no captured standard output"), "\(r.message)")
        let other = try GradingCheckTests.check(#"{"id": "s", "kind": "stdout", "process": "worker", "contains": "x"}"#)
        let m = other.evaluate(Self.trace(stdout: "x"))
        #expect(!m.passed && m.message.contains("no process \"worker\""), "\(m.message)")
    }

    @Test("bad stdout checks are 400s naming the field", arguments: [
        (#"{"id": "s", "kind": "stdout", "contains": "x"}"#, "checks[0].process"),
        (#"{"id": "s", "kind": "stdout", "process": "p"}"#, "checks[0].contains"),
        (#"{"id": "s", "kind": "stdout", "process": "p", "contains": ""}"#, "checks[0].contains"),
        (#"{"id": "s", "kind": "stdout", "process": "p", "contains": 3}"#, "checks[0].contains"),
        (#"{"id": "s", "kind": "stdout", "process": "p", "contains": "x", "match": {}}"#, "checks[0].match"),
    ])
    func invalid(_ text: String, _ path: String) {
        let error = labError { try GradingCheckTests.check(text) }
        #expect(error?.path == path, "\(String(describing: error))")
    }
}
