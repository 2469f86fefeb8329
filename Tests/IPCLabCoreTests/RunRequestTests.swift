import IPCLabCore
import Testing

@Suite("RunRequest.decode")
struct RunRequestTests {
    // MARK: Body shape

    @Test("a body that is not JSON is invalid_json", arguments: ["{", "", "{\"experiment\": }", "nope", "{'a': 1}", "[1] [2]", "01"])
    func invalidJSON(_ body: String) {
        expectLabError(.invalidJSON, path: nil) { try decodeRequest(body) }
    }

    @Test("trailing commas are not JSON either", arguments: [#"{"experiment": "pipe.hello",}"#, #"{"experiment": "pipe.byte_stream", "params": {"read_sizes": [5, 35,]}}"#])
    func trailingComma(_ body: String) {
        expectLabError(.invalidJSON, path: nil) { try decodeRequest(body) }
    }

    @Test("a body that is JSON but not an object is invalid_request", arguments: ["[]", "[{\"experiment\": \"pipe.hello\"}]", "\"pipe.hello\"", "42", "null"])
    func notAnObject(_ body: String) throws {
        let error = try #require(labError { try decodeRequest(body) })
        #expect(error.code == .invalidRequest)
        #expect(error.message.contains("must be an object"), "\(error.message)")
    }

    @Test("an unknown top-level field is unknown_field at its name")
    func unknownTopLevelField() {
        expectLabError(.unknownField, path: "bogus") {
            try decodeRequest(#"{"experiment": "pipe.hello", "bogus": 1}"#)
        }
    }

    @Test("experiment and scenario together are rejected")
    func both() {
        expectLabError(.invalidRequest, path: "scenario", message: "not both") {
            try decodeRequest(#"{"experiment": "pipe.hello", "scenario": {"processes": [{"name": "a"}]}}"#)
        }
    }

    @Test("a body with neither experiment nor scenario is rejected")
    func neither() {
        expectLabError(.invalidRequest, path: "experiment") { try decodeRequest("{}") }
        expectLabError(.invalidRequest, path: "experiment") { try decodeRequest(#"{"limits": {"wall_ms": 100}}"#) }
    }

    @Test("params go with an experiment, not with a scenario")
    func paramsWithScenario() {
        expectLabError(.invalidRequest, path: "params") {
            try decodeRequest(#"{"scenario": {"processes": [{"name": "a"}]}, "params": {"message": "x"}}"#)
        }
    }

    @Test("an experiment id of the wrong type is invalid_request at experiment")
    func experimentWrongType() {
        expectLabError(.invalidRequest, path: "experiment", message: "not integer") { try decodeRequest(#"{"experiment": 5}"#) }
    }

    @Test("an unknown experiment is unknown_experiment at experiment")
    func unknownExperiment() {
        expectLabError(.unknownExperiment, path: "experiment", message: "pipe.nope") {
            try decodeRequest(#"{"experiment": "pipe.nope"}"#)
        }
    }

    @Test("scenario errors carry their path under scenario")
    func scenarioErrorPath() {
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].op") {
            try decodeRequest(#"{"scenario": {"processes": [{"name": "a", "steps": [{"op": "fork"}]}]}}"#)
        }
    }

    // MARK: Parameters

    @Test("an unknown parameter is invalid_parameter at params.NAME")
    func unknownParameter() {
        expectLabError(.invalidParameter, path: "params.nope", message: "write_sizes") {
            try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"nope": 1}}"#)
        }
    }

    @Test("an out-of-range array item is named by its index")
    func outOfRangeItem() {
        expectLabError(.invalidParameter, path: "params.read_sizes[2]", message: "1…65536") {
            try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"read_sizes": [5, 5, 0]}}"#)
        }
        expectLabError(.invalidParameter, path: "params.write_sizes[1]", message: "not 65537") {
            try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"write_sizes": [1, 65537]}}"#)
        }
    }

    @Test("parameters of the wrong type are invalid_parameter at their path")
    func wrongParameterTypes() {
        expectLabError(.invalidParameter, path: "params.write_sizes", message: "not string") {
            try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"write_sizes": "10"}}"#)
        }
        expectLabError(.invalidParameter, path: "params.read_sizes[0]", message: "not string") {
            try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"read_sizes": ["5"]}}"#)
        }
        expectLabError(.invalidParameter, path: "params.nonblocking", message: "not string") {
            try decodeRequest(#"{"experiment": "pipe.capacity", "params": {"nonblocking": "yes"}}"#)
        }
        expectLabError(.invalidParameter, path: "params.message", message: "not integer") {
            try decodeRequest(#"{"experiment": "pipe.hello", "params": {"message": 5}}"#)
        }
        expectLabError(.invalidParameter, path: "params.pipe_size", message: "not boolean") {
            try decodeRequest(#"{"experiment": "pipe.capacity", "params": {"pipe_size": true}}"#)
        }
        expectLabError(.invalidParameter, path: "params", message: "not array") {
            try decodeRequest(#"{"experiment": "pipe.hello", "params": []}"#)
        }
    }

    @Test("array and string lengths are bounded")
    func lengths() {
        expectLabError(.invalidParameter, path: "params.read_sizes", message: "1…64 items") {
            try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"read_sizes": []}}"#)
        }
        expectLabError(.invalidParameter, path: "params.message", message: "1…4096") {
            try decodeRequest(#"{"experiment": "pipe.hello", "params": {"message": ""}}"#)
        }
    }

    @Test("pipe.byte_stream's writes must fit in the pipe's 16 page-sized slots at once")
    func byteStreamTotal() throws {
        expectLabError(.invalidParameter, path: "params.write_sizes", message: "17 page-sized slots") {
            try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"write_sizes": [65536, 1]}}"#)
        }
        let exact = try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"write_sizes": [32768, 32768]}}"#)
        #expect(exact.parameters?.ints("write_sizes") == [32768, 32768])
        // The issue's case: 20 writes of 2049 bytes are 40,980 bytes but need 20 slots (the kernel blocks the 17th).
        expectLabError(.invalidParameter, path: "params.write_sizes", message: "20 page-sized slots") {
            try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"write_sizes": [\#(Array(repeating: "2049", count: 20).joined(separator: ","))]}}"#)
        }
        // 16 of them fit; small writes share pages.
        _ = try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"write_sizes": [\#(Array(repeating: "2049", count: 16).joined(separator: ","))]}}"#)
        _ = try decodeRequest(#"{"experiment": "pipe.byte_stream", "params": {"write_sizes": [\#(Array(repeating: "1024", count: 64).joined(separator: ","))]}}"#)
    }

    @Test("pipe.capacity's pipe_size is bounded like set_pipe_size")
    func pipeSizeBounds() {
        expectLabError(.invalidParameter, path: "params.pipe_size", message: "4096…1048576") {
            try decodeRequest(#"{"experiment": "pipe.capacity", "params": {"pipe_size": 100}}"#)
        }
    }

    // MARK: Limits

    @Test("wall_ms outside 1…max is invalid_limit at limits.wall_ms", arguments: [0, -5, 10_001, 1_000_000])
    func wallOutOfRange(_ wall: Int) {
        expectLabError(.invalidLimit, path: "limits.wall_ms", message: "1…10000") {
            try decodeRequest(#"{"experiment": "pipe.hello", "limits": {"wall_ms": \#(wall)}}"#)
        }
    }

    @Test("the server's maximum is the upper bound")
    func wallServerMax() throws {
        expectLabError(.invalidLimit, path: "limits.wall_ms", message: "1…500") {
            try decodeRequest(#"{"experiment": "pipe.hello", "limits": {"wall_ms": 501}}"#, maxWallMs: 500)
        }
        #expect(try decodeRequest(#"{"experiment": "pipe.hello", "limits": {"wall_ms": 500}}"#, maxWallMs: 500).limits.wallMs == 500)
        #expect(try decodeRequest(#"{"experiment": "pipe.hello"}"#, maxWallMs: 500).limits.wallMs == 500)
    }

    @Test("limits of the wrong shape are invalid_limit; unknown limits are unknown_field")
    func limitShapes() {
        expectLabError(.invalidLimit, path: "limits.wall_ms", message: "not string") {
            try decodeRequest(#"{"experiment": "pipe.hello", "limits": {"wall_ms": "100"}}"#)
        }
        expectLabError(.invalidLimit, path: "limits", message: "not integer") {
            try decodeRequest(#"{"experiment": "pipe.hello", "limits": 100}"#)
        }
        expectLabError(.unknownField, path: "limits.cpu_seconds") {
            try decodeRequest(#"{"experiment": "pipe.hello", "limits": {"cpu_seconds": 100}}"#)
        }
    }

    @Test("the limit given is the limit kept; limits applies to a scenario too")
    func limitsKept() throws {
        #expect(try decodeRequest(#"{"experiment": "pipe.hello", "limits": {"wall_ms": 1}}"#).limits == RunLimits(wallMs: 1))
        #expect(try decodeRequest(#"{"experiment": "pipe.hello", "limits": {"wall_ms": 10000}}"#).limits.wallMs == 10_000)
        let custom = try decodeRequest(#"{"scenario": {"processes": [{"name": "a"}]}, "limits": {"wall_ms": 250}}"#)
        #expect(custom.limits.wallMs == 250)
        expectLabError(.invalidLimit, path: "limits.wall_ms") {
            try decodeRequest(#"{"scenario": {"processes": [{"name": "a"}]}, "limits": {"wall_ms": 0}}"#)
        }
    }

    // MARK: null

    @Test("null where the schema gives a value is refused with its path; null inside params means the default",
          arguments: [
            (#"{"experiment": "pipe.byte_stream", "params": null}"#, LabError.Code.invalidRequest, "params"),
            (#"{"experiment": "pipe.byte_stream", "scenario": null}"#, .invalidRequest, "scenario"),
            (#"{"experiment": null, "scenario": {"processes": [{"name": "a"}]}}"#, .invalidRequest, "experiment"),
            (#"{"experiment": "pipe.byte_stream", "limits": null}"#, .invalidRequest, "limits"),
            (#"{"experiment": "pipe.byte_stream", "limits": {"wall_ms": null}}"#, .invalidLimit, "limits.wall_ms"),
            (#"{"scenario": {"processes": [{"name": "a", "steps": [null]}]}}"#, .invalidScenario, "scenario.processes[0].steps[0]"),
          ])
    func nullRefused(_ body: String, _ code: LabError.Code, _ path: String) {
        expectLabError(code, path: path) { try decodeRequest(body) }
    }

    // MARK: Defaults

    @Test("empty or missing params get the experiment's defaults, and the default wall limit",
          arguments: [#"{"experiment": "pipe.byte_stream"}"#, #"{"experiment": "pipe.byte_stream", "params": {}}"#,
                      #"{"experiment": "pipe.byte_stream", "limits": {}}"#,
                      #"{"experiment": "pipe.byte_stream", "params": {"read_sizes": null}}"#])
    func defaultsApplied(_ body: String) throws {
        let r = try decodeRequest(body)
        #expect(r.experimentID == "pipe.byte_stream")
        #expect(r.parameters?.ints("write_sizes") == [10, 10, 10, 10])
        #expect(r.parameters?.ints("read_sizes") == [5, 15, 15, 5])
        #expect(r.limits.wallMs == 2000)
        let reads = r.scenario.processes.first { $0.name == "reader" }?.steps.filter { $0.op == "read" }
        #expect(reads == [5, 15, 15, 5].map { .read(channel: "p", size: $0, repeat: 1) })
    }

    @Test("pipe.capacity's optional pipe_size stays unset, and no set_pipe_size step is made")
    func optionalParameter() throws {
        let r = try decodeRequest(#"{"experiment": "pipe.capacity"}"#)
        #expect(r.parameters?.values["pipe_size"] == .null)
        #expect(r.parameters?.int("pipe_size") == nil)
        #expect(r.parameters?.bool("nonblocking") == false)
        let writer = try #require(r.scenario.processes.first { $0.name == "writer" })
        #expect(!writer.steps.contains { $0.op == "set_pipe_size" })
        let sized = try decodeRequest(#"{"experiment": "pipe.capacity", "params": {"pipe_size": 12288}}"#)
        #expect(sized.scenario.processes[1].steps.contains(.setPipeSize(channel: "p", size: 12288)))
    }

    @Test("given parameters shape the scenario")
    func givenParameters() throws {
        let r = try decodeRequest(#"{"experiment": "pipe.hello", "params": {"message": "hi there"}}"#)
        #expect(r.parameters?.string("message") == "hi there")
        #expect(r.scenario.processes[1].steps.contains(.write(channel: "pfds", data: .text("hi there\u{0}"), repeat: 1)))
        #expect(r.scenario.processes[0].steps.contains(.read(channel: "pfds", size: 9, repeat: 1)))
    }

    @Test("a custom scenario has no preset and no observations")
    func customScenario() throws {
        let r = try decodeRequest(#"{"scenario": \#(scenarioText())}"#)
        #expect(r.preset == nil)
        #expect(r.experimentID == nil)
        #expect(r.parameters == nil)
        #expect(r.scenario == (try decodeScenario(scenarioText())))
        #expect(r.limits.wallMs == 2000)
    }

    @Test("RunRequest.preset checks the same things as a body")
    func presetEntryPoint() throws {
        let r = try RunRequest.preset("pipe.eof", params: ["close_unused_ends": false], limits: ["wall_ms": 300])
        #expect(r.parameters?.bool("close_unused_ends") == false)
        #expect(r.limits.wallMs == 300)
        expectLabError(.unknownExperiment, path: "experiment") { try RunRequest.preset("nope", params: nil) }
        expectLabError(.invalidParameter, path: "params.close_unused_ends") {
            try RunRequest.preset("pipe.eof", params: ["close_unused_ends": 1])
        }
    }
}
