import IPCLabCore
import Testing

/// The grade over many runs, and the schedule's delays.
@Suite("Grade report")
struct GradeReportTests {
    @Test("a check scores only when it passed in every run; the first failure is the lowest run's")
    func aggregate() throws {
        let checks = [Check(id: "ok", points: 2, kind: .outcome(.ok)), Check(id: "eof", kind: .noDeadlock)]
        var report = GradeReport(checks: checks, schedule: RunSchedule(seed: 10, jitterUs: 500))
        func run(_ outcome: Outcome, _ index: Int) -> Trace {
            var t = GradingCheckTests.trace(outcome: outcome, events: [])
            t.run.schedule = RunSchedule(seed: 10, jitterUs: 500).run(index)
            t.checks = checks.map { $0.evaluate(t) }
            return t
        }
        // Runs finish out of order.
        report.add(run: 3, trace: run(.timeout, 3))
        report.add(run: 0, trace: run(.ok, 0))
        report.add(run: 2, trace: run(.timeout, 2))
        report.add(run: 1, trace: run(.ok, 1))
        #expect(report.runs == 4 && !report.passed)
        #expect(report.score == 1 && report.maxScore == 3)
        #expect(report.outcomes == ["ok": 2, "timeout": 2])
        let ok = report.checks[0]
        #expect(ok.passedRuns == 2 && ok.failedRuns == 2 && ok.firstFailure?.run == 2 && ok.firstFailure?.seed == 12)
        #expect(report.failingTrace?.run.schedule?.seed == 12)
        let gradescope = try JSONValue.parse(report.gradescopeJSON())
        guard case .object(let g) = gradescope, case .array(let tests)? = g["tests"], case .object(let t0)? = tests.first else {
            Issue.record("bad gradescope JSON"); return
        }
        #expect(g["score"] == .integer(1) && t0["status"] == .string("failed") && t0["max_score"] == .integer(2))
        guard case .string(let output)? = t0["output"] else { Issue.record("no output"); return }
        #expect(output.contains("failed in 2 of 4 runs; first in run 2 (schedule seed 12)"), "\(output)")
    }

    @Test("the schedule's delays are the same for the same seed and process, within [0, jitter]")
    func jitter() {
        var a = JitterGenerator(seed: 7, process: 1, jitterUs: 1000)
        var b = JitterGenerator(seed: 7, process: 1, jitterUs: 1000)
        var c = JitterGenerator(seed: 7, process: 2, jitterUs: 1000)
        let xs = (0..<100).map { _ in a.next() }
        #expect(xs == (0..<100).map { _ in b.next() })
        #expect(xs != (0..<100).map { _ in c.next() })
        #expect(xs.allSatisfy { (0...1000).contains($0) } && Set(xs).count > 50)
    }

    @Test("a grade body: checks are required, repeat and schedule are bounded")
    func decode() throws {
        let scenario = #""scenario": {"processes": [{"name": "a", "steps": []}]}"#
        func grade(_ rest: String) throws -> GradeRequest {
            try GradeRequest.decode(Array("{\(scenario)\(rest)}".utf8), maxima: RunLimits.standardMaxima)
        }
        expectLabError(.invalidRequest, path: "checks") { try grade("") }
        let g = try grade(#", "checks": [{"id": "o", "kind": "outcome", "is": "ok"}], "schedule": {"seed": 5, "jitter_us": 100}"#)
        #expect(g.repeatCount == 20 && g.runRequest(3).schedule == RunSchedule(seed: 8, jitterUs: 100))
        expectLabError(.invalidRequest, path: "repeat") { try grade(#", "checks": [{"id": "o", "kind": "no_deadlock"}], "repeat": 501"#) }
        expectLabError(.invalidRequest, path: "schedule.jitter_us") {
            try grade(#", "checks": [{"id": "o", "kind": "no_deadlock"}], "schedule": {"jitter_us": 100001}"#)
        }
        expectLabError(.invalidRequest, path: "schedule.cpus") {
            try grade(#", "checks": [{"id": "o", "kind": "no_deadlock"}], "schedule": {"cpus": "two"}"#)
        }
    }

    @Test("a grade of C programs: programs instead of a scenario, read as a run reads them")
    func programs() throws {
        let checks = #""checks": [{"id": "s", "kind": "stdout", "process": "main", "contains": "hi"}]"#
        let program = #"{"name": "main", "language": "c", "source": "int main(void) { return 0; }"}"#
        let g = try GradeRequest.decode(Array(#"{"programs": [\#(program)], \#(checks), "repeat": 3}"#.utf8),
                                        maxima: RunLimits.standardMaxima)
        #expect(g.repeatCount == 3 && g.run.programs?.map(\.name) == ["main"])
        expectLabError(.invalidRequest, path: "experiment") {
            try GradeRequest.decode(Array(#"{"programs": [\#(program)], "experiment": "pipe.hello", \#(checks)}"#.utf8),
                                    maxima: RunLimits.standardMaxima)
        }
        expectLabError(.invalidRequest, path: "programs[0].name") {
            try GradeRequest.decode(Array(#"{"programs": [{"name": "Main!", "source": "x"}], \#(checks)}"#.utf8),
                                    maxima: RunLimits.standardMaxima)
        }
    }
}

/// Bad JSON says where, as a person counts.
@Suite("JSON error positions")
struct JSONErrorPositionTests {
    @Test("a syntax error names its line and column, and the byte")
    func lineAndColumn() {
        expectLabError(.invalidJSON, path: nil, message: "at line 3, column 8 (byte 20)") {
            try JSONValue.parse(Array("{\n  \"a\": 1,\n  \"é\": tru }".utf8))
        }
        expectLabError(.invalidJSON, path: nil, message: "at line 1, column") { try JSONValue.parse(Array("[1,".utf8)) }
    }
}

/// `?fields=`: only the top-level members asked for, byte for byte.
@Suite("Trace fields")
struct TraceFieldsTests {
    @Test("keeps trace_version and the fields named, in their order, and refuses unknown names")
    func select() throws {
        var t = GradingCheckTests.good
        t.checks = [try GradingCheckTests.check(#"{"id": "o", "kind": "outcome", "is": "ok"}"#).evaluate(t)]
        let full = try JSONValue.parse(t.json())
        let some = try JSONValue.parse(try TraceFields("checks,run").select(t.json()))
        guard case .object(let all) = full, case .object(let kept) = some else { Issue.record("not objects"); return }
        #expect(Set(kept.keys) == ["trace_version", "run", "checks", "score", "max_score"])
        for (k, v) in kept { #expect(all[k] == v, "\(k)") }
        let events = try JSONValue.parse(try TraceFields("events").select(t.json(pretty: true)))
        guard case .object(let e) = events else { Issue.record("not an object"); return }
        #expect(Set(e.keys) == ["trace_version", "events"] && e["events"] == all["events"])
        expectLabError(.invalidParameter, path: "fields") { try TraceFields("run,colour") }
    }
}
