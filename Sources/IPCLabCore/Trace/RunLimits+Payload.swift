extension Step {
    /// The bytes this step asks to move: a `write` or `send` step's size × repeat, a `write_file`'s
    /// bytes; 0 for the others. What ``RunLimits/payloadBytes`` bounds.
    public var payloadBytes: Int {
        switch self {
        case .pipe(.write(_, let data, let count)): data.count.multipliedReportingOverflow(by: count).partialValue
        case .send(let s): s.data.count.multipliedReportingOverflow(by: s.count).partialValue
        case .process(.writeFile(_, let bytes)): bytes
        default: 0
        }
    }
}

extension RunLimits {
    /// Checks that the scenario's steps ask to move at most ``payloadBytes`` in all. Past it, an
    /// `invalid_limit` error at `limits.payload_bytes` names the step where the total went over.
    public func check(_ scenario: Scenario, maxima: RunLimits = .standardMaxima) throws(LabError) {
        var total = 0
        for (p, process) in scenario.processes.enumerated() {
            for (s, step) in process.steps.enumerated() where step.payloadBytes > 0 {
                total = total.addingReportingOverflow(step.payloadBytes).partialValue
                guard total <= payloadBytes else {
                    let at = JSONPath("scenario").key("processes").index(p).key(process.loops?.origins[s].path ?? "steps[\(s)]")
                    throw LabError(.invalidLimit,
                                   "the scenario asks to move \(total) bytes by \(at) (\(step.op)), more than the run's payload_bytes limit of \(payloadBytes)"
                                   + (payloadBytes < maxima.payloadBytes ? "; ask for up to \(maxima.payloadBytes)" : " (the server's maximum)"),
                                   path: "limits.payload_bytes")
                }
            }
        }
    }
}
