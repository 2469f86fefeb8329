import IPCLabCore
import Testing

@Suite("Scenario validation")
struct ScenarioValidationTests {
    // MARK: Good scenarios

    @Test("the course's pipe.c decodes into the steps it says")
    func goodScenario() throws {
        let s = try decodeScenario(scenarioText())
        #expect(s.channels == [.pipe("p")])
        #expect(s.processes.map(\.name) == ["parent", "child"])
        #expect(s.processes[0].steps == [
            .close(channel: "p", end: .write),
            .read(channel: "p", size: 6, repeat: 1),
            .wait(process: "child"),
        ])
        #expect(s.processes[1].steps == [
            .close(channel: "p", end: .read),
            .write(channel: "p", data: .text("Hello"), repeat: 1),
            .exit(code: 0),
        ])
    }

    @Test("optional fields get their defaults")
    func defaults() throws {
        let s = try decodeScenario(scenarioText(
            parent: [#"{"op": "read_all", "channel": "p"}"#, #"{"op": "set_nonblocking", "channel": "p", "end": "read"}"#],
            child: [#"{"op": "fill", "channel": "p"}"#, #"{"op": "exit"}"#, #"{"op": "write", "channel": "p", "size": 3, "repeat": 2}"#]))
        #expect(s.processes[0].steps == [.readAll(channel: "p", size: 4096), .setNonblocking(channel: "p", end: .read, enabled: true)])
        #expect(s.processes[1].steps == [.fill(channel: "p", size: 4096), .exit(code: 0), .write(channel: "p", data: .size(3), repeat: 2)])
    }

    @Test("a FIFO under /tmp is accepted, with its path kept; without a path it defaults to /tmp/NAME")
    func goodFIFO() throws {
        let s = try decodeScenario(scenarioText(
            channels: [#"{"name": "f", "kind": "fifo", "path": "/tmp/labfifo"}"#, #"{"name": "g", "kind": "fifo"}"#],
            parent: [#"{"op": "open", "channel": "f", "end": "read"}"#, #"{"op": "read", "channel": "f", "size": 5}"#],
            child: [#"{"op": "open", "channel": "f", "end": "write"}"#, #"{"op": "write", "channel": "f", "data": "hello"}"#]))
        #expect(s.channels == [.fifo("f", path: "/tmp/labfifo"), .fifo("g", path: "/tmp/g")])
        #expect(s.channels.map(\.kind) == ["fifo", "fifo"])
        #expect(s.channels.map(\.path) == ["/tmp/labfifo", "/tmp/g"])
        #expect(s.processes[0].steps.first == .open(channel: "f", end: .read))
    }

    @Test("eight processes and a 32-character name are allowed")
    func upperBounds() throws {
        let name32 = "a" + String(repeating: "b", count: 31)
        let processes = (0..<8).map { #"{"name": "p\#($0)", "steps": []}"# }
        let s = try decodeScenario(#"{"processes": [\#(processes.joined(separator: ","))]}"#)
        #expect(s.processes.count == 8)
        #expect(s.channels.isEmpty)
        let named = try decodeScenario(#"{"processes": [{"name": "\#(name32)"}]}"#)
        #expect(named.processes.first?.name == name32)
    }

    // MARK: Processes

    @Test("processes is required")
    func missingProcesses() {
        expectLabError(.invalidScenario, path: "scenario.processes", message: "required") {
            try decodeScenario(#"{"channels": []}"#)
        }
    }

    @Test("an empty list of processes is rejected")
    func noProcesses() {
        expectLabError(.invalidScenario, path: "scenario.processes", message: "1…8") {
            try decodeScenario(#"{"processes": []}"#)
        }
    }

    @Test("nine processes are one too many")
    func nineProcesses() {
        let processes = (0..<9).map { #"{"name": "p\#($0)", "steps": []}"# }
        expectLabError(.invalidScenario, path: "scenario.processes", message: "not 9") {
            try decodeScenario(#"{"processes": [\#(processes.joined(separator: ","))]}"#)
        }
    }

    @Test("bad process names are rejected at their path",
          arguments: ["Parent", "9lives", "_x", "has-dash", "has space", "", "a" + String(repeating: "b", count: 32), "é"])
    func badProcessName(_ name: String) {
        expectLabError(.invalidScenario, path: "scenario.processes[0].name", message: "a-z") {
            try decodeScenario(scenarioText(parentName: name))
        }
    }

    @Test("a bad channel name is rejected at its path")
    func badChannelName() {
        expectLabError(.invalidScenario, path: "scenario.channels[0].name", message: "a-z") {
            try decodeScenario(scenarioText(channels: [#"{"name": "P", "kind": "pipe"}"#]))
        }
    }

    @Test("two processes may not share a name")
    func duplicateProcessNames() {
        expectLabError(.invalidScenario, path: "scenario.processes[1].name", message: "already") {
            try decodeScenario(scenarioText(child: [], parentName: "twin", childName: "twin"))
        }
    }

    @Test("two channels may not share a name")
    func duplicateChannelNames() {
        expectLabError(.invalidScenario, path: "scenario.channels[1].name", message: "already") {
            try decodeScenario(scenarioText(channels: [#"{"name": "p", "kind": "pipe"}"#, #"{"name": "p", "kind": "fifo"}"#]))
        }
    }

    @Test("an unknown channel kind is rejected")
    func unknownKind() {
        expectLabError(.invalidScenario, path: "scenario.channels[0].kind", message: "socket") {
            try decodeScenario(scenarioText(channels: [#"{"name": "p", "kind": "socket"}"#]))
        }
    }

    // MARK: Steps

    @Test("an unknown op is named at its path")
    func unknownOp() {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].op", message: "frobnicate") {
            try decodeScenario(scenarioText(parent: [#"{"op": "frobnicate", "channel": "p"}"#]))
        }
    }

    @Test("a step needs an op")
    func missingOp() {
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].op", message: "required") {
            try decodeScenario(scenarioText(child: [#"{"channel": "p"}"#]))
        }
    }

    @Test("write sizes outside 1…1048576 are rejected at their path", arguments: [0, 2_000_000, -1, 1_048_577])
    func writeSizeOutOfRange(_ size: Int) {
        let steps = [
            #"{"op": "close", "channel": "p", "end": "read"}"#,
            #"{"op": "write", "channel": "p", "data": "Hello"}"#,
            #"{"op": "write", "channel": "p", "size": 1}"#,
            #"{"op": "write", "channel": "p", "size": \#(size)}"#,
        ]
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[3].size", message: "1…1048576") {
            try decodeScenario(scenarioText(child: steps))
        }
    }

    @Test("read size 0 is rejected too")
    func readSizeZero() {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[1].size", message: "not 0") {
            try decodeScenario(scenarioText(parent: [#"{"op": "close", "channel": "p", "end": "write"}"#,
                                                     #"{"op": "read", "channel": "p", "size": 0}"#]))
        }
    }

    @Test("the bounds of the size fields are inclusive")
    func sizeBoundsInclusive() throws {
        let s = try decodeScenario(scenarioText(child: [#"{"op": "write", "channel": "p", "size": 1048576}"#,
                                                        #"{"op": "write", "channel": "p", "size": 1, "repeat": 4096}"#,
                                                        #"{"op": "set_pipe_size", "channel": "p", "size": 4096}"#]))
        #expect(s.processes[1].steps == [.write(channel: "p", data: .size(1_048_576), repeat: 1),
                                         .write(channel: "p", data: .size(1), repeat: 4096),
                                         .setPipeSize(channel: "p", size: 4096)])
    }

    @Test("a misspelt optional field is an unknown field, not silently ignored")
    func unknownFieldInStep() {
        expectLabError(.unknownField, path: "scenario.processes[0].steps[0].sizee") {
            try decodeScenario(scenarioText(parent: [#"{"op": "read_all", "channel": "p", "sizee": 64}"#]))
        }
    }

    @Test("an extra field next to every required one is an unknown field")
    func unknownFieldWithRequired() {
        expectLabError(.unknownField, path: "scenario.processes[0].steps[0].sizee") {
            try decodeScenario(scenarioText(parent: [#"{"op": "read", "channel": "p", "size": 6, "sizee": 6}"#]))
        }
    }

    @Test("unknown fields of a process, a channel and the scenario are rejected")
    func unknownFieldsElsewhere() {
        expectLabError(.unknownField, path: "scenario.processes[0].stepz") {
            try decodeScenario(#"{"processes": [{"name": "a", "stepz": []}]}"#)
        }
        expectLabError(.unknownField, path: "scenario.channels[0].size") {
            try decodeScenario(scenarioText(channels: [#"{"name": "p", "kind": "pipe", "size": 1}"#]))
        }
        expectLabError(.unknownField, path: "scenario.extra") {
            try decodeScenario(#"{"processes": [{"name": "a"}], "extra": true}"#)
        }
    }

    @Test("a step must name a channel that exists")
    func unknownChannel() {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[1].channel", message: "\"q\"") {
            try decodeScenario(scenarioText(parent: [#"{"op": "close", "channel": "p", "end": "write"}"#,
                                                     #"{"op": "read", "channel": "q", "size": 6}"#]))
        }
    }

    @Test("open is only for a FIFO")
    func openOnPipe() {
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].channel", message: "fifo") {
            try decodeScenario(scenarioText(child: [#"{"op": "open", "channel": "p", "end": "write"}"#]))
        }
    }

    @Test("only the first process may wait")
    func waitFromNonFirst() {
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[1].process", message: "first process") {
            try decodeScenario(scenarioText(child: [#"{"op": "close", "channel": "p", "end": "read"}"#,
                                                    #"{"op": "wait", "process": "parent"}"#]))
        }
    }

    @Test("the first process may not wait for itself, nor for a process that does not exist")
    func waitForWhom() {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].process", message: "another process") {
            try decodeScenario(scenarioText(parent: [#"{"op": "wait", "process": "parent"}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].process", message: "\"nobody\"") {
            try decodeScenario(scenarioText(parent: [#"{"op": "wait", "process": "nobody"}"#]))
        }
    }

    @Test("FIFO paths that leave /tmp or are not canonical are rejected",
          arguments: ["/tmp/../etc/x", "/etc/x", "/tmp//x", "/tmp/a/../../b", "/tmp/", "/tmp", "tmp/x", "/tmp/./x",
                      "/tmp/x/", "/tmpx/y", "/tmp/with space", "/tmp/" + String(repeating: "x", count: 96)])
    func badFIFOPath(_ path: String) {
        expectLabError(.invalidScenario, path: "scenario.channels[0].path") {
            try decodeScenario(scenarioText(channels: [#"{"name": "f", "kind": "fifo", "path": "\#(path)"}"#], parent: [], child: []))
        }
    }

    @Test("a pipe has no path")
    func pipeWithPath() {
        expectLabError(.invalidScenario, path: "scenario.channels[0].path") {
            try decodeScenario(scenarioText(channels: [#"{"name": "p", "kind": "pipe", "path": "/tmp/p"}"#]))
        }
    }

    @Test("two FIFOs may not share a path")
    func duplicateFIFOPath() {
        expectLabError(.invalidScenario, path: "scenario.channels[1].path", message: "/tmp/same") {
            try decodeScenario(scenarioText(channels: [#"{"name": "f", "kind": "fifo", "path": "/tmp/same"}"#,
                                                       #"{"name": "g", "kind": "fifo", "path": "/tmp/same"}"#], parent: [], child: []))
        }
    }

    @Test("a write gives data or size, not both, and not neither")
    func dataAndSize() {
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].size", message: "not both") {
            try decodeScenario(scenarioText(child: [#"{"op": "write", "channel": "p", "data": "Hello", "size": 5}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].data") {
            try decodeScenario(scenarioText(child: [#"{"op": "write", "channel": "p"}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].data") {
            try decodeScenario(scenarioText(child: [#"{"op": "write", "channel": "p", "data": ""}"#]))
        }
    }

    @Test("values of the wrong type are rejected with the type they had")
    func wrongTypes() {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].size", message: "not string") {
            try decodeScenario(scenarioText(parent: [#"{"op": "read", "channel": "p", "size": "6"}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].size", message: "not number") {
            try decodeScenario(scenarioText(parent: [#"{"op": "read", "channel": "p", "size": 6.5}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].channel", message: "not integer") {
            try decodeScenario(scenarioText(parent: [#"{"op": "read", "channel": 1, "size": 6}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].enabled", message: "true or false") {
            try decodeScenario(scenarioText(parent: [#"{"op": "set_nonblocking", "channel": "p", "end": "read", "enabled": "yes"}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].end", message: "\"read\", \"write\"") {
            try decodeScenario(scenarioText(parent: [#"{"op": "close", "channel": "p", "end": "both"}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes", message: "not object") {
            try decodeScenario(#"{"processes": {}}"#)
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0]", message: "not array") {
            try decodeScenario(#"{"processes": [{"name": "a", "steps": [[]]}]}"#)
        }
        expectLabError(.invalidScenario, path: "scenario", message: "not string") {
            try Scenario.decode(.string("pipe"))
        }
    }

    @Test("other bounds: sleep, exit code, pipe size, repeat")
    func otherBounds() {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].ms") {
            try decodeScenario(scenarioText(parent: [#"{"op": "sleep", "ms": 10001}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].code") {
            try decodeScenario(scenarioText(child: [#"{"op": "exit", "code": 256}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].size", message: "4096…1048576") {
            try decodeScenario(scenarioText(child: [#"{"op": "set_pipe_size", "channel": "p", "size": 4095}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].repeat") {
            try decodeScenario(scenarioText(child: [#"{"op": "write", "channel": "p", "size": 1, "repeat": 0}"#]))
        }
    }

    @Test("more than 16 channels or 256 steps are rejected")
    func countBounds() {
        let channels = (0..<17).map { #"{"name": "c\#($0)", "kind": "pipe"}"# }
        expectLabError(.invalidScenario, path: "scenario.channels") {
            try decodeScenario(scenarioText(channels: channels, parent: [], child: []))
        }
        let steps = Array(repeating: #"{"op": "sleep", "ms": 0}"#, count: 257)
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps") {
            try decodeScenario(scenarioText(child: steps))
        }
    }
}
