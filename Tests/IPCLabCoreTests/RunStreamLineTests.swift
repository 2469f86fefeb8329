import IPCLabCore
import Testing

/// The lines of a streamed run (`Accept: application/x-ndjson`).
@Suite("Run stream lines")
struct RunStreamLineTests {
    private func progressEvent(result: Int64?) -> TraceEvent {
        TraceEvent(seq: 7, tNs: 1_000, endNs: result == nil ? nil : 1_000, process: "receiver", pid: 3, step: 2,
                   call: "progress",
                   args: [("bench", "throughput"), ("mechanism", "pipe"), ("done", 64), ("total", 256)],
                   result: result, errno: nil, canBlock: false, payload: nil)
    }

    private func object(_ line: [UInt8]) throws -> [String: JSONValue] {
        #expect(line.last == 0x0A, "a line ends in a newline")
        #expect(!line.dropLast().contains(0x0A), "one line: no newline inside")
        return dict(try JSONValue.parse(line.dropLast()))
    }

    private func dict(_ value: JSONValue?) -> [String: JSONValue] {
        guard case .object(let fields)? = value else {
            Issue.record("not a JSON object: \(String(describing: value))")
            return [:]
        }
        return fields
    }

    @Test("a progress event makes its event line, then a progress line with the contract's fields")
    func progressLine() throws {
        let lines = RunStreamLine.lines(for: progressEvent(result: 25))
        #expect(lines.count == 2)
        let event = try object(lines[0].ndjson())
        #expect(event["type"] == .string("event"))
        let inner = dict(event["event"])
        #expect(inner["call"] == .string("progress"))
        #expect(inner["seq"] == .integer(7))
        #expect(inner["result"] == .integer(25))
        let progress = try object(lines[1].ndjson())
        #expect(progress == ["type": .string("progress"), "process": .string("receiver"), "bench": .string("throughput"),
                             "mechanism": .string("pipe"), "done": .integer(64), "total": .integer(256),
                             "percent": .integer(25)])
    }

    @Test("other events, and a progress call that never returned, make only their event line")
    func onlyEventLines() throws {
        #expect(RunStreamLine.lines(for: progressEvent(result: nil)).count == 1)
        let write = TraceEvent(seq: 1, tNs: 5, endNs: 6, process: "child", pid: 3, step: 1, call: "write",
                               args: [("fd", 4), ("count", 6)], result: 6, errno: nil, canBlock: true, payload: nil)
        #expect(RunStreamLine.lines(for: write).count == 1)
    }

    @Test("an error line carries code, message and path")
    func errorLine() throws {
        let line = try object(RunStreamLine.error(LabError(.unavailable, "the spawner is down")).ndjson())
        #expect(line["type"] == .string("error"))
        #expect(dict(line["error"]) == ["code": .string("unavailable"), "message": .string("the spawner is down"), "path": .null])
    }

    @Test("a run's and a grade's error lines are the same bytes: one compact object and a newline")
    func errorLineShared() {
        let error = LabError(.invalidScenario, "bad \"x\"", path: "scenario.x")
        let expected = Array(#"{"type":"error","error":{"code":"invalid_scenario","message":"bad \"x\"","path":"scenario.x"}}"#.utf8) + [0x0A]
        #expect(RunStreamLine.error(error).ndjson() == expected)
        #expect(GradeStreamLine.error(error).ndjson() == expected)
    }
}
