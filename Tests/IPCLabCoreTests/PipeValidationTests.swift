import IPCLabCore
import Testing

/// The pipe steps issue #3 added (`dup2`, `stage`, `open` with `nonblocking`) and the
/// parameters of the new pipe, FIFO and signal presets.
@Suite("Pipe steps and the issue-3 presets: validation")
struct PipeValidationTests {
    @Test("dup2, stage and a non-blocking open decode with their defaults and round-trip")
    func newSteps() throws {
        let s = try decodeScenario(scenarioText(
            channels: [#"{"name": "p", "kind": "pipe"}"#, #"{"name": "f", "kind": "fifo"}"#],
            parent: [#"{"op": "dup2", "channel": "p", "end": "read", "fd": 0}"#, #"{"op": "stage", "program": "alnum"}"#,
                     #"{"op": "open", "channel": "f", "end": "write", "nonblocking": true}"#],
            child: [#"{"op": "dup2", "channel": "p", "end": "write", "fd": 1}"#, #"{"op": "stage", "program": "random"}"#,
                    #"{"op": "stage", "program": "take"}"#, #"{"op": "stage", "program": "take", "count": 5}"#]))
        #expect(s.processes[0].steps == [.dup2(channel: "p", end: .read, fd: 0), .stage(.alnum), .open(channel: "f", end: .write, nonblocking: true)])
        #expect(s.processes[1].steps == [.dup2(channel: "p", end: .write, fd: 1), .stage(.random(bytes: 1_048_576)),
                                         .stage(.take(count: 20)), .stage(.take(count: 5))])
        #expect(try Scenario.decode(s.json) == s)
        // A plain open keeps its old shape: no "nonblocking" field.
        #expect(Step.open(channel: "f", end: .read).json == ["op": "open", "channel": "f", "end": "read"])
    }

    @Test("a FIFO made by an mkfifo step (before_fork false) decodes and round-trips; the others keep their shape")
    func fifoMadeByStep() throws {
        let s = try decodeScenario(scenarioText(
            channels: [#"{"name": "f", "kind": "fifo", "before_fork": false}"#, #"{"name": "g", "kind": "fifo"}"#],
            parent: [#"{"op": "mkfifo", "channel": "f"}"#, #"{"op": "open", "channel": "f", "end": "read"}"#],
            child: [#"{"op": "open", "channel": "f", "end": "write"}"#]))
        #expect(s.channels[0].spec == .pipe(.fifo(path: "/tmp/f", beforeFork: false)))
        #expect(s.channels[1].spec == .pipe(.fifo(path: "/tmp/g")))
        #expect(s.processes[0].steps.first == .mkfifo(channel: "f"))
        #expect(try Scenario.decode(s.json) == s)
        #expect(s.channels[1].spec.family.fields["before_fork"] == nil && s.channels[0].spec.family.fields["before_fork"] == false,
                "only a FIFO made by a step says so")
    }

    @Test("a FIFO no step makes, mkfifo on a pipe and before_fork on a pipe are refused by path", arguments: [
        ([#"{"name": "f", "kind": "fifo", "before_fork": false}"#], [#"{"op": "open", "channel": "f", "end": "read"}"#],
         "scenario.channels[0].before_fork", "no process makes"),
        ([#"{"name": "p", "kind": "pipe"}"#], [#"{"op": "mkfifo", "channel": "p"}"#],
         "scenario.processes[0].steps[0].channel", "mkfifo is for a fifo"),
        ([#"{"name": "p", "kind": "pipe", "before_fork": false}"#], [#"{"op": "close", "channel": "p", "end": "read"}"#],
         "scenario.channels[0].before_fork", "is for a fifo"),
    ])
    func fifoMadeByStepRefusals(_ channels: [String], _ parent: [String], _ path: String, _ message: String) {
        guard let error = labError({ try decodeScenario(scenarioText(channels: channels, parent: parent, child: [])) }) else {
            Issue.record("accepted: \(channels) \(parent)")
            return
        }
        #expect(error.path == path, "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test("bad pipeline steps name their field", arguments: [
        (#"{"op": "dup2", "channel": "p", "end": "read", "fd": 3}"#, "scenario.processes[0].steps[0].fd", "0…2"),
        (#"{"op": "dup2", "channel": "p", "fd": 0}"#, "scenario.processes[0].steps[0].end", "required"),
        (#"{"op": "dup2", "channel": "nope", "end": "read", "fd": 0}"#, "scenario.processes[0].steps[0].channel", "no channel"),
        (#"{"op": "stage", "program": "cat"}"#, "scenario.processes[0].steps[0].program", "unknown program"),
        (#"{"op": "stage", "program": "alnum", "count": 3}"#, "scenario.processes[0].steps[0].count", "no count"),
        (#"{"op": "stage", "program": "take", "count": 65537}"#, "scenario.processes[0].steps[0].count", "1…65536"),
        (#"{"op": "stage", "program": "random", "count": 0}"#, "scenario.processes[0].steps[0].count", "1…"),
        (#"{"op": "stage", "program": "take", "channel": "p"}"#, "scenario.processes[0].steps[0].channel", "unknown field"),
    ])
    func badSteps(_ step: String, _ path: String, _ message: String) {
        guard let error = labError({ try decodeScenario(scenarioText(parent: [step])) }) else {
            Issue.record("accepted: \(step)")
            return
        }
        #expect(error.path == path, "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    // MARK: Preset parameters

    @Test("the new presets are in the catalog, grouped by mechanism")
    func presetsListed() {
        let ids = Catalog.standard.experiments.map(\.id)
        let wanted = ["pipe.sigpipe", "pipe.nonblocking", "pipe.duplex", "pipe.pipeline", "fifo.rendezvous",
                      "signal.handshake", "signal.sigqueue", "signal.pointer", "signal.coalescing", "signal.blocked",
                      "signal.dispositions", "signal.sigint", "signal.sigchld", "signal.fault", "signal.stop_cont"]
        for id in wanted { #expect(ids.contains(id), "\(id) missing") }
        let signals = ids.enumerated().filter { $0.element.hasPrefix("signal.") }.map(\.offset)
        #expect(signals == Array((signals.first ?? 0)...(signals.last ?? 0)), "signal presets are not together: \(ids)")
    }

    @Test("signal parameters take names and numbers, and read back as names")
    func signalParameters() throws {
        let byNumber = try RunRequest.preset("signal.handshake", params: ["signal": 12, "ack_signal": "10"])
        #expect(byNumber.parameters?.values["signal"] == "SIGUSR2")
        #expect(byNumber.parameters?.values["ack_signal"] == "SIGUSR1")
        let rt = try RunRequest.preset("signal.coalescing", params: ["rt_signal": "SIGRTMIN+3", "count": 5])
        #expect(rt.parameters?.values["rt_signal"] == "SIGRTMIN+3")
        expectLabError(.invalidParameter, path: "params.signal", message: "unknown signal") {
            try RunRequest.preset("signal.dispositions", params: ["signal": "SIGWHAT"])
        }
        expectLabError(.invalidParameter, path: "params.signal", message: "standard signal") {
            try RunRequest.preset("signal.coalescing", params: ["signal": "SIGRTMIN"])
        }
        expectLabError(.invalidParameter, path: "params.rt_signal", message: "real-time") {
            try RunRequest.preset("signal.coalescing", params: ["rt_signal": "SIGUSR1"])
        }
        expectLabError(.invalidParameter, path: "params.signal", message: "cannot be handled") {
            try RunRequest.preset("signal.coalescing", params: ["signal": "SIGKILL"])
        }
        expectLabError(.invalidParameter, path: "params.count", message: "1…100") {
            try RunRequest.preset("signal.coalescing", params: ["count": 101])
        }
        expectLabError(.invalidParameter, path: "params.disposition", message: "\"handle\"") {
            try RunRequest.preset("signal.dispositions", params: ["disposition": "catch"])
        }
        // SIGKILL is a valid choice for dispositions: the kernel answers EINVAL, which is the lesson.
        let kill = try RunRequest.preset("signal.dispositions", params: ["signal": "SIGKILL", "disposition": "ignore"])
        #expect(kill.scenario.processes[1].steps.first == .sigaction(.sigkill, .ignore, restart: true))
    }

    @Test("the pipeline's stages parse into processes joined by pipes, with dup2 onto stdin and stdout")
    func pipelineStages() throws {
        let r = try RunRequest.preset("pipe.pipeline", params: nil)
        #expect(r.scenario.processes.map(\.name) == ["shell", "random", "alnum", "take"])
        #expect(r.scenario.channels.map(\.name) == ["p1", "p2", "out"])
        let alnum = r.scenario.processes[2].steps
        #expect(alnum.first == .dup2(channel: "p1", end: .read, fd: 0))
        #expect(alnum[1] == .dup2(channel: "p2", end: .write, fd: 1))
        #expect(alnum.last == .stage(.alnum))
        #expect(alnum.count == 2 + 4 + 1, "two dup2, four closes (the other ends), the stage")
        #expect(r.scenario.processes[3].steps.last == .stage(.take(count: 20)))
        #expect(r.scenario.processes[1].steps.last == .stage(.random(bytes: 1_048_576)))

        let two = try RunRequest.preset("pipe.pipeline", params: ["stages": "random 500|take 7"])
        #expect(two.scenario.processes.map(\.name) == ["shell", "random", "take"])
        #expect(two.scenario.processes[1].steps.last == .stage(.random(bytes: 500)))
        let repeated = try RunRequest.preset("pipe.pipeline", params: ["stages": "random | alnum | alnum | take 3"])
        #expect(repeated.scenario.processes.map(\.name) == ["shell", "random", "alnum1", "alnum2", "take"])
        #expect(try Scenario.decode(repeated.scenario.json) == repeated.scenario)

        for (stages, message) in [("random | cat", "unknown program"), (" ", "empty"), ("take x", "not a number"),
                                  ("alnum 3", "no count"), ("a|b|c|d|e|f|g|h", "1…7"), ("take 1 2", "at most one"),
                                  ("random | | take", "empty")] {
            expectLabError(.invalidParameter, path: "params.stages", message: message) {
                try RunRequest.preset("pipe.pipeline", params: ["stages": .string(stages)])
            }
        }
    }

    static let changed: [(String, JSONValue)] = [
        ("pipe.sigpipe", ["disposition": "ignore", "writer_closes_read_end": false]),
        ("pipe.nonblocking", ["nonblocking": false, "writer_delay_ms": 10]),
        ("pipe.duplex", ["pipes": 1, "message": "hi"]),
        ("fifo.rendezvous", ["nonblocking": true, "delay_ms": 0]),
        ("signal.handshake", ["install_handler": false]),
        ("signal.sigqueue", ["send_with": "kill", "value": -5]),
        ("signal.pointer", ["text": "other"]),
        ("signal.coalescing", ["blocked": false, "count": 3]),
        ("signal.blocked", ["block": false]),
        ("signal.dispositions", ["signal": "SIGSTOP"]),
        ("signal.sigint", ["handler": false]),
        ("signal.sigchld", ["disposition": "ignore"]),
        ("signal.fault", ["handle": true]),
        ("signal.stop_cont", ["stop_signal": "SIGTSTP"]),
    ]

    @Test("changed parameters change the scenarios", arguments: changed)
    func changedParameters(_ id: String, _ params: JSONValue) throws {
        let preset = try #require(Catalog.standard.preset(id))
        let changed = try RunRequest.preset(id, params: params)
        #expect(changed.scenario != preset.scenario(.defaults(for: preset.experiment)), "\(id)")
        #expect(try Scenario.decode(changed.scenario.json) == changed.scenario)
    }
}

@Suite("Trace rendering of signals")
struct SignalRenderingTests {
    @Test("text: a call whose process a signal killed says so; in a timed-out run it stays 'unfinished'")
    func killedCall() {
        var trace = TraceRenderingTests.sample()
        trace.run.outcome = .ok
        trace.run.reason = nil
        trace.processes[0].exit = .signal(name: "SIGPIPE", coreDumped: false)
        let lines = trace.text().split(separator: "\n").map(String.init)
        #expect(lines[4].hasSuffix("read(3, 6) [pfds read] = ? <never returned: SIGPIPE killed the process>"), "\(lines[4])")
        #expect(TraceRenderingTests.sample().text().contains("unfinished: the run ended first"))
    }

    @Test("JSON: a process snapshot writes its state letter beside its numbers")
    func processSnapshotJSON() throws {
        var trace = TraceRenderingTests.sample()
        trace.objects = [ObjectSnapshot(seq: 1, tNs: 5, object: "child", kind: "process", state: [("pid", 3)],
                                        labels: [("state", "Z"), ("meaning", "zombie")])]
        let root = try #require(try foundationJSON(trace.json()) as? [String: Any])
        let object = try #require((root["objects"] as? [[String: Any]])?.first)
        let state = try #require(object["state"] as? [String: Any])
        #expect(state["pid"] as? Int == 3)
        #expect(state["state"] as? String == "Z")
        #expect(state["meaning"] as? String == "zombie")
        #expect(trace.objects[0].label("state") == "Z")
    }
}
