/// What one check found in one run: `{"id","name","passed","points","max_points","message","evidence":[seq…]}`
/// (and `hint` when it failed and has one).
public struct CheckResult: Sendable, Equatable {
    public var id: String
    public var name: String
    public var passed: Bool
    /// The points earned: the check's points when it passed, else 0.
    public var points: Int
    /// The check's points.
    public var maxPoints: Int
    /// What was seen, with the run's names and numbers.
    public var message: String
    /// `seq` of the events that show it.
    public var evidence: [Int]
    /// The check's hint, when it failed.
    public var hint: String?

    public init(id: String, name: String, passed: Bool, points: Int, maxPoints: Int, message: String, evidence: [Int],
                hint: String? = nil) {
        self.id = id
        self.name = name
        self.passed = passed
        self.points = points
        self.maxPoints = maxPoints
        self.message = message
        self.evidence = evidence
        self.hint = hint
    }

    /// Writes the result as one JSON object.
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("id", id)
            w.field("name", name)
            w.field("passed", passed)
            w.field("points", points)
            w.field("max_points", maxPoints)
            w.field("message", message)
            w.key("evidence"); w.array { w in for s in evidence { w.value(s) } }
            if let hint { w.field("hint", hint) }
        }
    }
}
