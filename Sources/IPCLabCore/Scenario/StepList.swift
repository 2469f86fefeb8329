/// Reads one process's `steps`, expanding its loops:
///
/// ```json
/// {"op": "loop", "times": 20, "index": "i", "do": [
///   {"op": "sem_wait", "channel": "slots"},
///   {"op": "store", "channel": "buf", "offset": "{i % 4 * 16}", "data": "item {i + 1}"},
///   {"op": "sem_post", "channel": "items"}]}
/// ```
///
/// runs its `do` steps `times` times (1…4096), the index (`i` unless named; 0, 1, … `times` − 1) in
/// scope for the steps' text and integer fields (``LoopScope``). Loops nest (each with its own
/// index name, and `times` may use the enclosing indexes); a process runs at most
/// ``Scenario/Bounds/expandedSteps`` steps once expanded. Every step keeps where it is written
/// and its iteration (``StepOrigin``), so a trace can name it and an error points at the written
/// field (`scenario.processes[1].steps[2].do[0].data`).
struct StepList {
    /// The `op` of a loop step.
    static let loopOp = "loop"

    private(set) var steps: [Step] = []
    private(set) var origins: [StepOrigin] = []
    private(set) var hasLoops = false
    /// Set once the expansion went past its bound: nothing more is read.
    private var overflowed = false
    /// False once a step (or a loop's header) was refused: the list lacks it, so checks across
    /// steps (a send's receive, a channel's users) would only report its absence again.
    private(set) var complete = true
    /// Bytes of text with expressions read inside loops so far (``Scenario/Bounds/expandedTextBytes``),
    /// counting those of the processes read before this one.
    private(set) var expandedTextBytes: Int

    init(expandedTextBytes: Int = 0) {
        self.expandedTextBytes = expandedTextBytes
    }

    /// What a loop's body is in every iteration, worked out once for all of them: a body is read
    /// again in each iteration, and a step of 64 KiB of text in a loop of 4096 would otherwise be
    /// scanned and decoded 4096 times (a request of eight such loops held a thread for ~40 s).
    private struct LoopBody {
        /// Per written step: the bytes of its text with expressions (0: none, so that every
        /// iteration reads the same step).
        let textBytes: [Int]
        /// The steps without expressions, as the first iteration decoded them, by index in the body.
        var decoded: [Int: Step] = [:]

        init(_ values: [JSONValue]) {
            textBytes = values.map(StepList.textBytesWithExpressions)
        }
    }

    /// Reads `values` (a `steps` or `do` array at `path`, `relative` to its process) in `scope`,
    /// recording its errors in `errors`.
    mutating func read(_ values: [JSONValue], at path: JSONPath, relative: String, scope: LoopScope,
                       errors: inout ErrorCollector) {
        var outside: LoopBody? = nil
        read(values, at: path, relative: relative, scope: scope, errors: &errors, body: &outside)
    }

    /// ``read(_:at:relative:scope:errors:)`` of a loop's body (`body`: what it is in every iteration).
    private mutating func read(_ values: [JSONValue], at path: JSONPath, relative: String, scope: LoopScope,
                               errors: inout ErrorCollector, body: inout LoopBody?) {
        for (j, value) in values.enumerated() {
            guard !overflowed else { return }
            let at = path.index(j)
            let here = "\(relative)[\(j)]"
            if case .object(let fields) = value, fields["op"] == .string(Self.loopOp) {
                hasLoops = true
                readLoop(value, at: at, relative: here, scope: scope, errors: &errors)
                continue
            }
            let inLoop = scope.indexes.isEmpty ? nil : scope
            if inLoop != nil {
                // Counted before the step is read: reading it makes this iteration's copy of its texts.
                expandedTextBytes += body?.textBytes[j] ?? Self.textBytesWithExpressions(value)
                guard expandedTextBytes <= Scenario.Bounds.expandedTextBytes.upperBound else {
                    overflowed = true
                    complete = false
                    errors.add(LabError(.invalidScenario, "the scenario's steps hold more than \(Scenario.Bounds.expandedTextBytes.upperBound) bytes "
                                        + "of text with {expressions} once its loops are expanded (each iteration is a copy)",
                                        path: at.description))
                    return
                }
            }
            do throws(LabError) {
                let step: Step
                if let kept = body?.decoded[j] {
                    step = kept
                } else {
                    step = try Step.decode(value, at: at, scope: inLoop)
                    // No expression in it: every later iteration reads this same step.
                    if body?.textBytes[j] == 0 { body?.decoded[j] = step }
                }
                guard steps.count < Scenario.Bounds.expandedSteps.upperBound else {
                    overflowed = true
                    complete = false
                    errors.add(LabError(.invalidScenario, "the process runs more than \(Scenario.Bounds.expandedSteps.upperBound) steps once its loops are expanded",
                                        path: at.description))
                    return
                }
                steps.append(step)
                origins.append(StepOrigin(path: here, iteration: scope))
            } catch {
                complete = false
                for e in error.all { errors.add(Self.inIteration(e, scope)) }
            }
        }
    }

    private mutating func readLoop(_ value: JSONValue, at path: JSONPath, relative: String, scope: LoopScope,
                                   errors: inout ErrorCollector) {
        let header: (times: Int, index: String, body: [JSONValue])
        do throws(LabError) {
            header = try Self.readHeader(value, at: path, scope: scope)
        } catch {
            complete = false
            for e in error.all { errors.add(Self.inIteration(e, scope)) }
            return
        }
        var body: LoopBody? = LoopBody(header.body)
        for k in 0..<header.times {
            let before = errors.errors.count
            read(header.body, at: path.key("do"), relative: "\(relative).do", scope: scope.with(header.index, k), errors: &errors,
                 body: &body)
            // A mistake in the body would repeat in every iteration: report the first.
            if errors.errors.count > before || overflowed { return }
        }
    }

    /// The bytes of `value`'s strings that hold a brace (an expression to substitute, or an error to report).
    static func textBytesWithExpressions(_ value: JSONValue) -> Int {
        switch value {
        case .string(let text): return text.utf8.contains { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") } ? text.utf8.count : 0
        case .array(let values): return values.reduce(0) { $0 + textBytesWithExpressions($1) }
        case .object(let fields): return fields.values.reduce(0) { $0 + textBytesWithExpressions($1) }
        default: return 0
        }
    }

    /// A loop's own fields: how many times, the index's name, the steps to do.
    private static func readHeader(_ value: JSONValue, at path: JSONPath, scope: LoopScope) throws(LabError)
        -> (times: Int, index: String, body: [JSONValue]) {
        var r = try JSONObjectReader(value, at: path, code: .invalidScenario)
        _ = r.value("op")
        let index = try r.string("index") ?? "i"
        try Names.check(index, at: path.key("index"))
        if scope.value(of: index) != nil {
            throw r.fail("index", "an enclosing loop already uses \"\(index)\"; give this loop an index of its own")
        }
        // An inner loop may run a number of times that depends on the outer indexes.
        r.scope = scope.indexes.isEmpty ? nil : scope
        let times = try r.requiredInt("times", in: Scenario.Bounds.loopTimes)
        guard let body = try r.array("do") else { throw r.fail("do", "is required: the steps to repeat") }
        guard (1...Scenario.Bounds.steps.upperBound).contains(body.count) else {
            throw r.fail("do", "must have 1…\(Scenario.Bounds.steps.upperBound) steps, not \(body.count)")
        }
        try r.finish()
        return (times, index, body)
    }

    /// The error, saying in which iteration it was found (inside a loop).
    private static func inIteration(_ error: LabError, _ scope: LoopScope) -> LabError {
        guard !scope.indexes.isEmpty else { return error }
        var e = error
        e.errors = []
        e.message += " (in the iteration \(scope))"
        return e
    }
}
