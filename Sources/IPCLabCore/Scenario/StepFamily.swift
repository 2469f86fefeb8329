/// The steps of one mechanism (pipes, signals, shared memory, …). Each family lives in
/// its own file under `Steps/`; ``Step`` only dispatches to it (one case in ``Step``, one
/// line in ``Step/families``). A mechanism touches more than its steps: its channel, its
/// calls' table, its participant and describer, its presets (CONTRIBUTING.md lists them).
public protocol StepFamily: Sendable, Equatable {
    /// The `op` words this family reads.
    static var ops: [String] { get }

    /// Reads the fields of a step whose `op` is one of ``ops`` (the reader's `op` is already read;
    /// the caller checks for unknown fields afterwards).
    static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> Self

    /// The `op` word of this step.
    var op: String { get }

    /// The channel the step uses, if any (checked to exist by the scenario's validation).
    var channel: String? { get }

    /// The step's fields besides `op`, for the scenario's JSON.
    var fields: [String: JSONValue] { get }

    /// Checks that the step makes sense in its scenario: the channel's kind, named processes…
    /// `process` is the index of the process running it; `path` points at the step.
    func check(in scenario: Scenario, process: Int, at path: JSONPath) throws(LabError)

    /// The same, for a check that needs the step's place in the process's steps as they run
    /// (`step`, loops expanded), which the written `path` no longer tells once loops are used.
    func check(in scenario: Scenario, process: Int, step: Int, at path: JSONPath) throws(LabError)
}

extension StepFamily {
    public func check(in scenario: Scenario, process: Int, at path: JSONPath) throws(LabError) {}

    public func check(in scenario: Scenario, process: Int, step: Int, at path: JSONPath) throws(LabError) {
        try check(in: scenario, process: process, at: path)
    }
}
