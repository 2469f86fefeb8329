import IPCLabCore
import Testing

@Suite("Run limits")
struct RunLimitsTests {
    private func decode(_ limits: String, maxima: RunLimits = .standardMaxima) throws(LabError) -> RunLimits {
        try RunRequest.decode(Array(#"{"experiment": "pipe.hello", "limits": \#(limits)}"#.utf8), maxima: maxima).limits
    }

    @Test("every limit is read, and the ones left out keep their defaults")
    func decodesEveryField() throws {
        let l = try decode(#"{"cpu_ms": 500, "memory_bytes": 8388608, "processes": 4, "open_files": 64, "file_bytes": 1024, "events": 100, "payload_bytes": 4096}"#)
        #expect(l == RunLimits(wallMs: 2000, cpuMs: 500, memoryBytes: 8 << 20, processes: 4, openFiles: 64,
                               fileBytes: 1024, events: 100, payloadBytes: 4096))
        #expect(try decode("{}") == .defaults)
    }

    @Test("a value above the server's maximum or below the minimum is invalid_limit at limits.<field>",
          arguments: RunLimits.Field.allCases)
    func outOfRange(_ field: RunLimits.Field) {
        let max = RunLimits.standardMaxima[field]
        expectLabError(.invalidLimit, path: "limits.\(field.rawValue)", message: "\(field.minimum)…\(max)") {
            try decode(#"{"\#(field.rawValue)": \#(max + 1)}"#)
        }
        expectLabError(.invalidLimit, path: "limits.\(field.rawValue)") {
            try decode(#"{"\#(field.rawValue)": \#(field.minimum - 1)}"#)
        }
        #expect((try? decode(#"{"\#(field.rawValue)": \#(max)}"#))?[field] == max)
    }

    @Test("defaults are capped at smaller server maxima, and the maxima bound the request")
    func serverMaxima() throws {
        var maxima = RunLimits.standardMaxima
        maxima.processes = 8
        maxima.memoryBytes = 32 << 20
        let l = try decode("{}", maxima: maxima)
        #expect(l.processes == 8 && l.memoryBytes == 32 << 20 && l.openFiles == RunLimits.defaults.openFiles)
        expectLabError(.invalidLimit, path: "limits.processes", message: "1…8") { try decode(#"{"processes": 9}"#, maxima: maxima) }
    }

    @Test("the defaults leave room for every preset and for the bench presets to come")
    func defaultsLeaveRoom() {
        let d = RunLimits.defaults
        #expect(d.cpuMs >= 10_000 && d.processes >= 8 && d.memoryBytes >= 32 << 20)
        for field in RunLimits.Field.allCases {
            #expect(d[field] >= field.minimum && d[field] <= RunLimits.standardMaxima[field], "\(field)")
        }
    }

    @Test("a scenario that asks to move more than payload_bytes is invalid_limit at limits.payload_bytes, naming the step")
    func payload() throws {
        let scenario = #"{"channels": [{"name": "p", "kind": "pipe"}], "processes": [{"name": "w", "steps": [{"op": "write", "channel": "p", "size": 1000, "repeat": 3}, {"op": "write_file", "name": "f", "bytes": 5000}]}]}"#
        func request(_ payload: Int) throws(LabError) -> RunRequest {
            try RunRequest.decode(Array(#"{"scenario": \#(scenario), "limits": {"payload_bytes": \#(payload)}}"#.utf8))
        }
        #expect(try request(8000).limits.payloadBytes == 8000)
        expectLabError(.invalidLimit, path: "limits.payload_bytes", message: "scenario.processes[0].steps[1]") { try request(7999) }
        expectLabError(.invalidLimit, path: "limits.payload_bytes", message: "scenario.processes[0].steps[0]") { try request(2999) }
    }

    @Test("the limit steps decode strictly, with their bounds")
    func limitSteps() throws {
        let s = try decodeScenario(#"{"processes": [{"name": "a", "steps": [{"op": "spin", "ms": 5}, {"op": "allocate", "bytes": 4096}, {"op": "fork_children", "count": 3, "sleep_ms": 10}, {"op": "fork_children", "count": 2}, {"op": "open_files", "count": 9}, {"op": "write_file", "name": "big_1", "bytes": 10}]}]}"#)
        #expect(s.processes[0].steps == [.spin(ms: 5), .allocate(bytes: 4096), .forkChildren(count: 3, sleepMs: 10),
                                         .forkChildren(count: 2, sleepMs: 0), .openFiles(count: 9), .writeFile(name: "big_1", bytes: 10)])
        let step = "scenario.processes[0].steps[0]"
        expectLabError(.invalidScenario, path: "\(step).ms", message: "1…60000") {
            try decodeScenario(#"{"processes": [{"name": "a", "steps": [{"op": "spin", "ms": 0}]}]}"#)
        }
        expectLabError(.invalidScenario, path: "\(step).count", message: "1…4096") {
            try decodeScenario(#"{"processes": [{"name": "a", "steps": [{"op": "fork_children", "count": 5000}]}]}"#)
        }
        expectLabError(.invalidScenario, path: "\(step).bytes") {
            try decodeScenario(#"{"processes": [{"name": "a", "steps": [{"op": "allocate"}]}]}"#)
        }
        for bad in ["../etc", "a/b", "", "Big", "1x"] {
            expectLabError(.invalidScenario, path: "\(step).name") {
                try decodeScenario(#"{"processes": [{"name": "a", "steps": [{"op": "write_file", "name": "\#(bad)", "bytes": 1}]}]}"#)
            }
        }
        expectLabError(.unknownField, path: "\(step).size") {
            try decodeScenario(#"{"processes": [{"name": "a", "steps": [{"op": "open_files", "count": 1, "size": 2}]}]}"#)
        }
    }

    @Test("a trace echoes every limit in force")
    func echoed() throws {
        let trace = Trace(run: RunInfo(id: "1", experiment: nil, startedAt: "x", durationNs: 0, outcome: .ok, reason: nil,
                                       limits: RunLimits(cpuMs: 7), sandbox: SandboxReport(namespaces: [], setup: []), eventsDropped: 0),
                          scenario: Scenario(channels: [], processes: []), processes: [], events: [], objects: [])
        guard case .object(let root) = try JSONValue.parse(trace.json()), case .object(let run)? = root["run"],
              case .object(let limits)? = run["limits"] else { Issue.record("no run.limits"); return }
        #expect(Set(limits.keys) == Set(RunLimits.Field.allCases.map(\.rawValue)))
        #expect(limits["cpu_ms"] == .integer(7))
    }
}
