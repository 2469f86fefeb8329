/// One line of a grade streamed as NDJSON (`POST /api/v1/grades` with `Accept: application/x-ndjson`;
/// `openapi.yaml`, schema `GradeStreamLine`): one line per finished run, in the order they finish,
/// and the grade last (or an error).
public enum GradeStreamLine: Sendable {
    /// `{"type":"run","run","seed","outcome","passed","score","max_score","checks":[…]}`.
    case run(Int, Trace)
    /// `{"type":"grade","grade":<Grade>}`: the last line.
    case grade(GradeReport)
    /// `{"type":"error","error":{"code","message","path"}}`: the last line of a grade that could not finish.
    case error(LabError)

    /// The line as compact JSON, ending in `\n`.
    public func ndjson() -> [UInt8] {
        switch self {
        case let .run(index, trace):
            JSONWriter.streamLine("run", capacity: 1024) { w in
                w.field("run", index)
                w.field("seed", trace.run.schedule?.seed)
                w.field("outcome", trace.run.outcome.rawValue)
                w.field("passed", trace.checksPassed)
                w.field("score", trace.score)
                w.field("max_score", trace.maxScore)
                w.key("checks"); w.array { w in for c in trace.checks ?? [] { c.write(to: &w) } }
            }
        case .grade(let report):
            JSONWriter.streamLine("grade", capacity: 1024) { w in w.key("grade"); report.write(to: &w) }
        case .error(let error):
            error.streamLine()
        }
    }
}
