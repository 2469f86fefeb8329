/// A grade as JSON (`grade_version` 1), as Gradescope's results.json, and as text.
extension GradeReport {
    /// The format clients code against.
    public static let version = 1

    /// The grade as JSON; `failing_trace` only when a run failed, with only `fields` of it when given
    /// (`?fields=run,checks` on `POST /api/v1/grades`).
    public func json(pretty: Bool = false, fields: TraceFields? = nil) -> [UInt8] {
        var w = JSONWriter(pretty: pretty, capacity: 4096 + (fields == nil ? (failingTrace?.events.count ?? 0) * 320 : 0))
        write(to: &w, fields: fields)
        return w.bytes
    }

    public func write(to w: inout JSONWriter, fields: TraceFields? = nil) {
        w.object { w in
            w.field("grade_version", Self.version)
            if let id { w.field("id", id) }
            w.field("runs", runs)
            w.field("passed", passed)
            w.field("score", score)
            w.field("max_score", maxScore)
            w.key("outcomes"); w.object { w in for k in outcomes.keys.sorted() { w.field(k, outcomes[k]!) } }
            w.field("schedule", schedule.json)
            w.key("checks")
            w.array { w in
                for c in checks {
                    w.object { w in
                        w.field("id", c.id)
                        w.field("name", c.name)
                        w.field("points", c.passed ? c.points : 0)
                        w.field("max_points", c.points)
                        w.field("passed", c.passed)
                        w.field("passed_runs", c.passedRuns)
                        w.field("failed_runs", c.failedRuns)
                        w.key("first_failure")
                        if let f = c.firstFailure {
                            w.object { w in
                                w.field("run", f.run)
                                w.field("seed", f.seed)
                                w.field("message", f.message)
                                w.key("evidence"); w.array { w in for s in f.evidence { w.value(s) } }
                                if let hint = f.hint { w.field("hint", hint) }
                            }
                        } else {
                            w.null()
                        }
                    }
                }
            }
            if let failingTrace {
                w.key("failing_trace")
                if let fields { w.raw(fields.select(failingTrace.json())) } else { failingTrace.write(to: &w) }
            }
            w.field("duration_ms", durationMs)
        }
    }

    /// Gradescope's `results.json`: `score` and one test per check.
    public func gradescopeJSON(pretty: Bool = false) -> [UInt8] {
        var w = JSONWriter(pretty: pretty)
        w.object { w in
            w.field("score", score)
            w.key("tests")
            w.array { w in
                for c in checks {
                    w.object { w in
                        w.field("name", c.name)
                        w.field("score", c.passed ? c.points : 0)
                        w.field("max_score", c.points)
                        w.field("status", c.passed ? "passed" : "failed")
                        w.field("output", output(c))
                    }
                }
            }
        }
        return w.bytes
    }

    /// What a student reads for one check.
    public func output(_ c: CheckSummary) -> String {
        if let f = c.firstFailure {
            return "failed in \(c.failedRuns) of \(runs) runs; first in run \(f.run) (schedule seed \(f.seed)): \(f.message)"
                + (f.hint.map { "\nHint: \($0)" } ?? "")
        }
        return "passed in all \(runs) runs" + (c.firstPass.map { ": \($0.message)" } ?? "")
    }

    /// The grade for people: one line per check, then the total.
    public func text() -> String {
        var out = ""
        for c in checks {
            out += "\(c.passed ? "PASS" : "FAIL") \(c.name) [\(c.passed ? c.points : 0)/\(c.points)] — \(output(c))\n"
        }
        let outs = outcomes.keys.sorted().map { "\($0) \(outcomes[$0]!)" }.joined(separator: ", ")
        out += "score \(score)/\(maxScore) over \(runs) runs (\(outs)), \(durationMs) ms\n"
        return out
    }
}
