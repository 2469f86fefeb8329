import Foundation
import IPCLabCore
import Testing

@Suite("Trace rendering")
struct TraceRenderingTests {
    /// A hand-built trace of pipe.hello that ended in a timeout, with one call of each kind of line.
    static func sample() -> Trace {
        let scenario = Catalog.standard.preset("pipe.hello")!.scenario(.defaults(for: PipeHello().experiment))
        let run = RunInfo(
            id: "00000000000000ab", experiment: "pipe.hello", startedAt: "2026-11-21T17:00:00.123Z",
            durationNs: 812_345, outcome: .timeout, reason: "the wall-clock limit ran out", limits: RunLimits(wallMs: 200),
            sandbox: SandboxReport(namespaces: ["user", "pid", "ipc", "mount", "uts"],
                                   setup: [.init(op: "mount tmpfs /tmp", result: 0, errno: nil)]),
            eventsDropped: 0)
        let processes = [
            TraceProcess(name: "parent", pid: 2, parent: nil, exit: .signal(name: "SIGKILL", coreDumped: false),
                         userCPUNs: 0, systemCPUNs: 120_000),
            TraceProcess(name: "child", pid: 3, parent: "parent", exit: .code(0), userCPUNs: 10, systemCPUNs: 20),
            TraceProcess(name: "third", pid: 4, parent: "parent", exit: nil, userCPUNs: nil, systemCPUNs: nil),
        ]
        let hello = Payload(bytes: 6, preview: Array("Hello\u{0}".utf8))
        let events = [
            TraceEvent(seq: 1, tNs: 98_000, endNs: 2_098_000, process: "parent", pid: 2, step: 1, call: "read",
                       args: [("fd", 3), ("count", 6), ("channel", "pfds"), ("end", "read")],
                       result: 6, errno: nil, canBlock: true, payload: hello),
            TraceEvent(seq: 2, tNs: 120_345, endNs: 130_000, process: "child", pid: 3, step: 1, call: "write",
                       args: [("fd", 4), ("count", 6), ("channel", "pfds"), ("end", "write")],
                       result: 6, errno: nil, canBlock: true, payload: hello),
            TraceEvent(seq: 3, tNs: 140_000, endNs: 140_500, process: "child", pid: 3, step: 2, call: "write",
                       args: [("fd", 4), ("count", 1), ("channel", "pfds"), ("end", "write")],
                       result: -1, errno: "EAGAIN", canBlock: true, payload: nil),
            TraceEvent(seq: 4, tNs: 150_000, endNs: nil, process: "parent", pid: 2, step: 2, call: "read",
                       args: [("fd", 3), ("count", 6), ("channel", "pfds"), ("end", "read")],
                       result: nil, errno: nil, canBlock: true, payload: nil),
        ]
        let objects = [ObjectSnapshot(seq: 2, tNs: 130_500, object: "pfds", kind: "pipe", state: [("bytes", 6), ("capacity", 65536)])]
        let observations = [
            Observation(id: "pipe.hello.message_received", claim: "c", holds: true, evidence: [1, 2], detail: "same 6 bytes"),
            Observation(id: "pipe.hello.parent_waited", claim: "c", holds: false, evidence: [], detail: "no wait"),
        ]
        return Trace(run: run, scenario: scenario, processes: processes, events: events, objects: objects, observations: observations)
    }

    @Test("text: a header, a line per event in order, a line per process's end, a line per observation")
    func textLines() throws {
        let trace = Self.sample()
        let text = trace.text()
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.count == 1 + trace.events.count + trace.processes.count + trace.observations.count)

        #expect(lines[0].hasPrefix("# run 00000000000000ab"))
        #expect(lines[0].contains("pipe.hello"))
        #expect(lines[0].contains("outcome timeout"))
        #expect(lines[0].contains("the wall-clock limit ran out"))
        #expect(lines[0].hasSuffix("0.812 ms"))

        let events = Array(lines[1...4])
        #expect(events[0] == "[     0.098 ms] parent(2)  read(3, 6) [pfds read] = 6 \"Hello\\0\" <blocked 2.000 ms>")
        #expect(events[1] == "[     0.120 ms] child(3)   write(4, 6) [pfds write] = 6 \"Hello\\0\"",
                "a call that blocked under 1 ms shows no <blocked>")
        #expect(events[2] == "[     0.140 ms] child(3)   write(4, 1) [pfds write] = -1 EAGAIN")
        #expect(events[3].hasPrefix("[     0.150 ms] parent(2)  read(3, 6) [pfds read] = ? "))
        #expect(events[3].contains("unfinished"))

        #expect(lines[5] == "# parent(2) killed by SIGKILL")
        #expect(lines[6] == "# child(3) exited with 0")
        #expect(lines[7] == "# third(4) not reaped")
        #expect(lines[8] == "# ✓ pipe.hello.message_received: same 6 bytes")
        #expect(lines[9] == "# ✗ pipe.hello.parent_waited: no wait")
    }

    @Test("text: a custom scenario says so; a core dump and a long payload are marked")
    func textVariants() {
        var trace = Self.sample()
        trace.run.experiment = nil
        trace.run.outcome = .ok
        trace.run.reason = nil
        trace.processes[0].exit = .signal(name: "SIGSEGV", coreDumped: true)
        trace.events[1].payload = Payload(bytes: 100, preview: Array(repeating: UInt8(ascii: "a"), count: 64))
        trace.events[0].payload = Payload(bytes: 3, preview: [0x0A, 0x22, 0xFF])
        let lines = trace.text().split(separator: "\n").map(String.init)
        #expect(lines[0].contains("custom scenario"))
        #expect(lines[0].contains("outcome ok —"))
        #expect(lines.contains("# parent(2) killed by SIGSEGV (core dumped)"))
        #expect(lines[2].hasSuffix("\"" + String(repeating: "a", count: 64) + "\"…"))
        #expect(lines[1].contains(#" = 6 "\n\"\xff" <blocked"#), "\(lines[1])")
    }

    @Test("JSON: the trace parses, with the fields of trace v1 and the values it was built with")
    func json() throws {
        let trace = Self.sample()
        let root = try #require(try foundationJSON(trace.json()) as? [String: Any])
        #expect(root["trace_version"] as? Int == 1)
        let run = try #require(root["run"] as? [String: Any])
        #expect(run["outcome"] as? String == "timeout")
        #expect((run["limits"] as? [String: Any])?["wall_ms"] as? Int == 200)
        #expect((run["sandbox"] as? [String: Any])?["namespaces"] as? [String] == ["user", "pid", "ipc", "mount", "uts"])

        let events = try #require(root["events"] as? [[String: Any]])
        #expect(events.map { $0["seq"] as? Int } == [1, 2, 3, 4])
        #expect(events[0]["blocked_ns"] as? Int == 2_000_000)
        #expect(events[0]["returned"] as? Bool == true)
        let payload = try #require(events[0]["payload"] as? [String: Any])
        #expect(payload["text"] as? String == "Hello\u{0}")
        #expect(payload["hex"] as? String == "48656c6c6f00")
        #expect(payload["truncated"] as? Bool == false)
        #expect(events[2]["errno"] as? String == "EAGAIN")
        #expect(events[3]["returned"] as? Bool == false)
        #expect(events[3]["end_ns"] is NSNull)
        #expect(events[3]["result"] is NSNull)
        #expect(events[3]["blocked_ns"] is NSNull)

        let processes = try #require(root["processes"] as? [[String: Any]])
        #expect((processes[0]["exit"] as? [String: Any])?["signal"] as? String == "SIGKILL")
        #expect((processes[1]["exit"] as? [String: Any])?["code"] as? Int == 0)
        #expect(processes[2]["exit"] is NSNull)
        #expect(processes[0]["parent"] is NSNull)

        let objects = try #require(root["objects"] as? [[String: Any]])
        #expect((objects.first?["state"] as? [String: Any])?["capacity"] as? Int == 65536)
        let observations = try #require(root["observations"] as? [[String: Any]])
        #expect(observations.map { $0["holds"] as? Bool } == [true, false])

        // The trace carries its scenario, which decodes back to the one that ran.
        let parsed = try JSONValue.parse(trace.json(pretty: true))
        guard case .object(let fields) = parsed, let scenario = fields["scenario"] else {
            Issue.record("no scenario")
            return
        }
        #expect(try Scenario.decode(scenario) == trace.scenario)
    }
}
