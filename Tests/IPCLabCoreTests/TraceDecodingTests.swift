import IPCLabCore
import Testing

/// `Trace(json:)`: a stored run keeps only its JSON, and its text and Chrome trace are made from it
/// when read, so those must come out byte for byte as the original trace renders them.
@Suite("Trace read back from its JSON")
struct TraceDecodingTests {
    /// The rendering sample, with what it lacks: a loop's step origin (two indexes, in their order),
    /// arguments of every JSON type in an order no sorting gives, a payload that is not UTF-8 and
    /// was cut, a core dump, a transfer of each kind, checks, a tracer, no experiment.
    static func rich() -> Trace {
        var trace = TraceRenderingTests.sample()
        trace.run.experiment = nil
        trace.run.tracer = "interposer"
        trace.run.reason = "a \"quoted\" reason\twith a tab"
        trace.processes[0].exit = .signal(name: "SIGSEGV", coreDumped: true)
        trace.processes[1].stdout = "out\n"
        trace.processes[1].truncated = true
        var odd = trace.events[1]
        odd.seq = 5
        odd.tNs = 160_000
        odd.endNs = 3_160_000
        odd.call = "sendmsg"
        odd.args = [("zeta", 1), ("alpha", "é \u{1}\\\"x"), ("ratio", .double(0.1)), ("big", .double(1e21)), ("none", .null),
                    ("flag", true), ("list", [1, "two", [3]]), ("nested", ["b": 1, "a": ["c": false]]), ("channel", "sock")]
        odd.payload = Payload(bytes: 100, preview: [0xff, 0x00, 0x41, 0xc3, 0x28, 0x0a, 0x7f])
        odd.origin = StepOrigin(path: "steps[2].do[1]", iteration: LoopScope([LoopIndex(name: "j", value: 3), LoopIndex(name: "i", value: 1)]))
        trace.events.append(odd)
        var signal = trace.events[2]
        signal.seq = 6
        signal.call = "deliver"
        signal.args = [("signal", "SIGUSR1")]
        trace.events.append(signal)
        trace.transfers = [
            Transfer(kind: .data, from: 2, to: 1, channel: "pfds", bytes: 6),
            Transfer(kind: .signal, from: 5, to: 6, channel: "SIGUSR1", merged: [3, 4]),
            Transfer(kind: .wake, from: 2, to: 4, channel: "s"),
            Transfer(kind: .descriptor, from: 5, to: 1, channel: "sock"),
        ]
        trace.checks = [
            CheckResult(id: "c1", name: "one", passed: true, points: 2, maxPoints: 2, message: "fine", evidence: [1]),
            CheckResult(id: "c2", name: "two", passed: false, points: 0, maxPoints: 3, message: "not ✓", evidence: [], hint: "look"),
        ]
        return trace
    }

    @Test("text and Chrome made from the JSON are byte for byte the trace's own", arguments: [false, true])
    func renderingsMatch(rich: Bool) throws {
        let trace = rich ? Self.rich() : TraceRenderingTests.sample()
        let read = try Trace(json: trace.json())
        #expect(read.text() == trace.text())
        #expect(read.chromeJSON() == trace.chromeJSON())
    }

    @Test("the events keep their order, arguments, origin and payload bytes")
    func eventsKeepTheirDetail() throws {
        let trace = Self.rich()
        let read = try Trace(json: trace.json())
        #expect(read.events.count == trace.events.count)
        let odd = try #require(read.events.first { $0.seq == 5 })
        #expect(odd.args.map(\.0) == ["zeta", "alpha", "ratio", "big", "none", "flag", "list", "nested", "channel"])
        #expect(odd.args[2].1 == .double(0.1))
        #expect(odd.payload == Payload(bytes: 100, preview: [0xff, 0x00, 0x41, 0xc3, 0x28, 0x0a, 0x7f]))
        #expect(odd.origin?.iteration.description == "j=3, i=1")
        #expect(read.run.tracer == "interposer" && read.run.experiment == nil)
        #expect(read.transfers == trace.transfers)
        #expect(read.checks == trace.checks)
    }

    @Test("what is not a trace's JSON is an invalid_json error, not a crash")
    func notATrace() {
        for bytes in ["", "[]", "{\"events\":[]}", "{\"run\":{\"id\":1}}", "{\"run\":", "{\"trace_version\":1} x"] {
            #expect(throws: LabError.self, "\(bytes)") { try Trace(json: Array(bytes.utf8)) }
        }
        var json = Self.rich().json()
        json.removeLast(10)
        #expect(throws: LabError.self) { try Trace(json: json) }
    }
}
