import IPCLabCore
import Testing

/// A bounded buffer of `items` items through `slots` 16-byte slots, written with loops (7 steps as
/// written per side at most), as the grading samples write it.
private func boundedBuffer(items: Int = 20, slots: Int = 4, offset: String? = nil) -> String {
    let at = offset ?? "{i % \(slots) * 16}"
    return """
    {"channels": [{"name": "buf", "kind": "shared_memory", "type": "anonymous", "size": \(slots * 16)},
                  {"name": "slots", "kind": "semaphore", "type": "posix_unnamed", "value": \(slots)},
                  {"name": "items", "kind": "semaphore", "type": "posix_unnamed", "value": 0}],
     "processes": [
       {"name": "prod", "steps": [
         {"op": "loop", "times": \(items), "do": [
           {"op": "sem_wait", "channel": "slots"},
           {"op": "store", "channel": "buf", "offset": "\(at)", "data": "item {i + 1}"},
           {"op": "sem_post", "channel": "items"}]},
         {"op": "wait", "process": "cons"}]},
       {"name": "cons", "steps": [
         {"op": "loop", "times": \(items), "index": "k", "do": [
           {"op": "sem_wait", "channel": "items"},
           {"op": "load", "channel": "buf", "offset": "{k % \(slots) * 16}", "size": 16},
           {"op": "sem_post", "channel": "slots"}]}]}
     ]}
    """
}

@Suite("Scenario loops")
struct ScenarioLoopTests {
    @Test("a loop repeats its steps with the index filled into text and integer fields")
    func expansion() throws {
        let s = try decodeScenario(boundedBuffer())
        let prod = s.processes[0]
        #expect(prod.steps.count == 20 * 3 + 1)
        #expect(prod.steps[1] == .store(channel: "buf", offset: 0, data: "item 1"))
        #expect(prod.steps[4] == .store(channel: "buf", offset: 16, data: "item 2"))
        #expect(prod.steps[3 * 13 + 1] == .store(channel: "buf", offset: 16, data: "item 14"))
        #expect(prod.steps.last == .wait(process: "cons"))
        #expect(s.processes[1].steps[3 * 19 + 1] == .load(channel: "buf", offset: 48, size: 16))
        // Each step keeps where it is written and which iteration made it.
        let origins = try #require(prod.loops?.origins)
        #expect(origins.count == prod.steps.count)
        #expect(origins[4].path == "steps[0].do[1]" && origins[4].iteration.description == "i=1")
        #expect(origins.last?.path == "steps[1]" && origins.last?.iteration.indexes.isEmpty == true)
        #expect(s.processes[1].loops?.origins[59].iteration == LoopScope([LoopIndex(name: "k", value: 19)]))
    }

    @Test("the scenario's JSON keeps the loops as written, and reads back to the same steps")
    func roundTrip() throws {
        let s = try decodeScenario(boundedBuffer())
        guard case .object(let root) = s.json, case .array(let processes) = root["processes"],
              case .object(let prod) = processes[0], case .array(let steps) = prod["steps"] else {
            Issue.record("unexpected JSON \(s.json)")
            return
        }
        #expect(steps.count == 2)
        guard case .object(let loop) = steps[0] else { Issue.record("\(steps[0])"); return }
        #expect(loop["op"] == "loop" && loop["times"] == 20)
        #expect(try Scenario.decode(s.json) == s)
    }

    @Test("the 20-item bounded buffer fits in 30 steps as written; a loop reaches 4096 steps, not 4097")
    func bounds() throws {
        let text = boundedBuffer()
        #expect(text.components(separatedBy: "\"op\"").count - 1 <= 30)
        let big = try decodeScenario(#"{"processes": [{"name": "p", "steps": [{"op": "loop", "times": 64, "do": [{"op": "loop", "times": 64, "index": "j", "do": [{"op": "sleep", "ms": "{(i + j) % 2}"}]}]}]}]}"#)
        #expect(big.processes[0].steps.count == 4096)
        #expect(big.processes[0].steps[4095] == .sleep(ms: 0) && big.processes[0].steps[4094] == .sleep(ms: 1))
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[1]", message: "more than 4096 steps") {
            try decodeScenario(#"{"processes": [{"name": "p", "steps": [{"op": "loop", "times": 4096, "do": [{"op": "sleep", "ms": 0}]}, {"op": "exit"}]}]}"#)
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].times", message: "1…4096") {
            try decodeScenario(#"{"processes": [{"name": "p", "steps": [{"op": "loop", "times": 4097, "do": [{"op": "sleep", "ms": 0}]}]}]}"#)
        }
    }

    @Test("text with expressions: 4 MiB of it over the whole scenario once expanded, not a byte more")
    func expandedTextBound() throws {
        func scenario(_ loops: [(times: Int, bytes: Int)]) -> String {
            let processes = loops.enumerated().map { i, loop in
                let data = "{i}" + String(repeating: "x", count: loop.bytes - 3)
                return #"{"name": "p\#(i)", "steps": [{"op": "loop", "times": \#(loop.times), "do": [{"op": "write", "channel": "c", "data": "\#(data)"}]}]}"#
            }
            return #"{"channels": [{"name": "c", "kind": "pipe"}], "processes": [\#(processes.joined(separator: ", "))]}"#
        }
        let full = try decodeScenario(scenario([(4096, 1024)]))
        #expect(full.processes[0].steps.count == 4096)
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].do[0]", message: "4194304 bytes of text with {expressions}") {
            try decodeScenario(scenario([(4096, 1025)]))
        }
        // All processes count together: the second one's first iteration past the bound is named.
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].do[0]", message: "once its loops are expanded") {
            try decodeScenario(scenario([(2048, 1024), (2049, 1024)]))
        }
        // Text without braces is shared between iterations, not copied: it does not count.
        let plain = #"{"channels": [{"name": "c", "kind": "pipe"}], "processes": [{"name": "p", "steps": [{"op": "loop", "times": 4096, "do": [{"op": "write", "channel": "c", "data": "\#(String(repeating: "y", count: 4096))"}]}]}]}"#
        #expect(try decodeScenario(plain).processes[0].steps.count == 4096)
    }

    @Test("nested loops: an inner index of its own, times from the outer index")
    func nested() throws {
        let s = try decodeScenario(#"{"processes": [{"name": "p", "steps": [{"op": "loop", "times": 3, "do": [{"op": "loop", "index": "j", "times": "{i + 1}", "do": [{"op": "exit", "code": "{i * 10 + j}"}]}]}]}]}"#)
        #expect(s.processes[0].steps == [0, 10, 11, 20, 21, 22].map { Step.exit(code: $0) })
        #expect(s.processes[0].loops?.origins[4].path == "steps[0].do[0].do[0]")
        #expect(s.processes[0].loops?.origins[4].iteration.description == "i=2, j=1")
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].do[0].times", message: "division by zero (in the iteration i=0)") {
            try decodeScenario(#"{"processes": [{"name": "p", "steps": [{"op": "loop", "times": 2, "do": [{"op": "loop", "index": "j", "times": "{5 / i}", "do": [{"op": "exit"}]}]}]}]}"#)
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].do[0].index", message: "already uses \"i\"") {
            try decodeScenario(#"{"processes": [{"name": "p", "steps": [{"op": "loop", "times": 2, "do": [{"op": "loop", "times": 2, "do": [{"op": "exit"}]}]}]}]}"#)
        }
    }

    @Test("braces: {{ and }} are braces; outside a loop text is left as it is")
    func braces() throws {
        let s = try decodeScenario(scenarioText(child: [#"{"op": "loop", "times": 2, "do": [{"op": "write", "channel": "p", "data": "{{\"n\": {i}}}"}]}"#,
                                                        #"{"op": "write", "channel": "p", "data": "{i} stays"}"#]))
        #expect(s.processes[1].steps == [.write(channel: "p", data: .text(#"{"n": 0}"#), repeat: 1),
                                         .write(channel: "p", data: .text(#"{"n": 1}"#), repeat: 1),
                                         .write(channel: "p", data: .text("{i} stays"), repeat: 1)])
    }

    @Test("errors inside a loop name the written path and the iteration", arguments: [
        (#"{"op": "store", "channel": "buf", "data": "x{i +}"}"#, "scenario.processes[1].steps[2].do[0].data", "in \"{i +}\""),
        (#"{"op": "store", "channel": "buf", "data": "{n}"}"#, "scenario.processes[1].steps[2].do[0].data", "no loop index named \"n\" here (indexes: i)"),
        (#"{"op": "store", "channel": "buf", "offset": "{16 / (2 - i) + 8}", "data": "x"}"#, "scenario.processes[1].steps[2].do[0].offset", "division by zero (in the iteration i=2)"),
        (#"{"op": "store", "channel": "buf", "offset": "i * 8", "data": "x"}"#, "scenario.processes[1].steps[2].do[0].offset", "must be an integer, or inside a loop"),
        (#"{"op": "store", "channel": "buf", "offset": "{i * 8}", "data": "x"}"#, "scenario.processes[1].steps[2].do[0].offset", "goes past the end of \"buf\" (64 bytes) (in the iteration i=8)"),
        (#"{"op": "store", "channel": "buf", "offset": "{0 - i}", "data": "x"}"#, "scenario.processes[1].steps[2].do[0].offset", "not -1 (\"{0 - i}\") (in the iteration i=1)"),
    ] as [(String, String, String)])
    func errorsInLoops(step: String, path: String, message: String) {
        let text = scenarioText(channels: [#"{"name": "buf", "kind": "shared_memory", "type": "anonymous", "size": 64}"#],
                                parent: [#"{"op": "wait", "process": "child"}"#],
                                child: [#"{"op": "sleep", "ms": 0}"#, #"{"op": "sleep", "ms": 0}"#,
                                        #"{"op": "loop", "times": 10, "do": [\#(step)]}"#])
        expectLabError(.invalidScenario, path: path, message: message) { try decodeScenario(text) }
        // A mistake repeated in every iteration is reported once.
        #expect(labError { try decodeScenario(text) }?.errors.count ?? 0 <= 1)
    }

    @Test("a loop needs times and 1…256 steps to do, and knows no other fields")
    func loopFields() {
        let loop = { (fields: String) in scenarioText(child: [#"{"op": "loop", \#(fields)}"#]) }
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].times", message: "is required") {
            try decodeScenario(loop(#""do": [{"op": "exit"}]"#))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].do", message: "is required") {
            try decodeScenario(loop(#""times": 2"#))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].do", message: "1…256 steps, not 0") {
            try decodeScenario(loop(#""times": 2, "do": []"#))
        }
        expectLabError(.unknownField, path: "scenario.processes[1].steps[0].count") {
            try decodeScenario(loop(#""times": 2, "count": 3, "do": [{"op": "exit"}]"#))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].index") {
            try decodeScenario(loop(#""times": 2, "index": "I", "do": [{"op": "exit"}]"#))
        }
    }
}

@Suite("Every error at once")
struct EveryErrorTests {
    @Test("a bad channel in step 0 and ms -1 in step 1: both, in document order")
    func twoSteps() {
        let text = scenarioText(parent: [#"{"op": "read", "channel": "nope", "size": 4}"#, #"{"op": "sleep", "ms": -1}"#])
        let error = labError { try decodeRequest(#"{"scenario": \#(text)}"#) }
        #expect(error?.path == "scenario.processes[0].steps[0].channel")
        #expect(error?.errors.map(\.path) == ["scenario.processes[0].steps[0].channel", "scenario.processes[0].steps[1].ms"])
        #expect(error?.errors.first?.message == error?.message)
    }

    @Test("a request's errors in scenario, limits, checks and top-level fields come in the body's order")
    func documentOrder() {
        let body = """
        {"checks": [{"id": "a", "kind": "outcome", "is": "fine"}, {"id": "b", "kind": "call"}],
         "colour": 1,
         "scenario": {"processes": [{"name": "p", "steps": [{"op": "sleep", "ms": -1}, {"op": "loop", "times": 2, "do": [{"op": "exit", "code": "{i + 300}", "bogus": 1}]}]}]},
         "limits": {"wall_ms": 0}}
        """
        let error = labError { try decodeRequest(body) }
        #expect(error?.errors.map(\.path) == ["checks[0].is", "checks[1].match", "colour", "scenario.processes[0].steps[0].ms",
                                              "scenario.processes[0].steps[1].do[0].code", "limits.wall_ms"])
        #expect(error?.errors.map(\.code) == [.invalidRequest, .invalidRequest, .unknownField, .invalidScenario, .invalidScenario, .invalidLimit])
        #expect(error?.path == "checks[0].is" && error?.code == .invalidRequest)
    }

    @Test("every unknown field and every null is reported; at most 100 errors")
    func manyErrors() {
        let error = labError { try decodeScenario(#"{"processes": [{"name": "p", "steps": [{"op": "exit", "a": 1, "b": 2}]}], "z": 1}"#) }
        #expect(error?.errors.map(\.path) == ["scenario.z", "scenario.processes[0].steps[0].a", "scenario.processes[0].steps[0].b"])
        let nulls = labError { try decodeRequest(#"{"scenario": {"processes": [{"name": "p", "steps": [{"op": "exit", "code": null}, {"op": null}]}]}}"#) }
        #expect(nulls?.errors.map(\.path) == ["scenario.processes[0].steps[0].code", "scenario.processes[0].steps[1].op"])
        let steps = (0..<150).map { _ in #"{"op": "sleep", "ms": -1}"# }.joined(separator: ",")
        let capped = labError { try decodeRequest(#"{"scenario": {"processes": [{"name": "p", "steps": [\#(steps)]}]}}"#) }
        #expect(capped?.errors.count == ErrorCollector.cap)
        #expect(capped?.errors.last?.path == "scenario.processes[0].steps[99].ms")
    }

    @Test("a grade's errors come together too")
    func grade() {
        let body = #"{"scenario": {"processes": [{"name": "p", "steps": [{"op": "sleep", "ms": -1}]}]}, "repeat": 0, "checks": []}"#
        let error = labError { try GradeRequest.decode(Array(body.utf8), maxima: .standardMaxima) }
        #expect(error?.errors.map(\.path) == ["scenario.processes[0].steps[0].ms", "repeat", "checks"])
    }
}
