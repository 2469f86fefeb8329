/// A trace's `checks`, `score` and `max_score`.
extension Trace {
    /// The points of the checks that passed.
    public var score: Int { checks?.reduce(0) { $0 + $1.points } ?? 0 }
    /// The points of every check.
    public var maxScore: Int { checks?.reduce(0) { $0 + $1.maxPoints } ?? 0 }

    /// Whether every check passed (true with none).
    public var checksPassed: Bool { checks?.allSatisfy(\.passed) ?? true }

    func writeChecks(_ checks: [CheckResult], to w: inout JSONWriter) {
        w.key("checks"); w.array { w in for c in checks { c.write(to: &w) } }
        w.field("score", score)
        w.field("max_score", maxScore)
    }
}
