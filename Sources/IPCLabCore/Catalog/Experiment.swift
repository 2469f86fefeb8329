/// A catalog entry: a preset experiment and the claim from the course it demonstrates.
public struct Experiment: Sendable {
    /// Stable id, e.g. `pipe.byte_stream`. Graders depend on it.
    public var id: String
    /// The group it belongs to, as the ids name it: `pipe`, `fifo`, `shm`, `sem`, `mq`, `signal`, `socket`.
    public var mechanism: String
    public var title: String
    /// The claim, in one or two sentences.
    public var claim: String
    /// Which course note (in `seeds/`) the claim comes from.
    public var seed: String
    public var parameters: [Parameter]
    /// The ids of the observations every trace of this experiment carries.
    public var observations: [String]
    /// The wall-clock limit of a run that gives none (still at most the server's maximum).
    public var defaultWallMs: Int
    /// Where the course notes and the kernel disagree about what this experiment shows.
    public var corrections: [Correction] { Correction.known[id] ?? [] }

    public init(id: String, mechanism: String, title: String, claim: String, seed: String,
                parameters: [Parameter], observations: [String], defaultWallMs: Int = RunLimits.defaultWallMs) {
        self.id = id
        self.mechanism = mechanism
        self.title = title
        self.claim = claim
        self.seed = seed
        self.parameters = parameters
        self.observations = observations
        self.defaultWallMs = defaultWallMs
    }
}

/// A preset: an experiment, how its parameters expand into a scenario, and how its
/// observations are checked against the events of a run.
public protocol Preset: Sendable {
    var experiment: Experiment { get }

    /// Further checks across parameters (e.g. a total); single-value bounds are checked already.
    func validate(_ params: Parameters) throws(LabError)

    /// The scenario these parameters expand to.
    func scenario(_ params: Parameters) -> Scenario

    /// The observations of `experiment.observations`, in that order, checked against `trace`.
    func observe(_ trace: Trace, _ params: Parameters) -> [Observation]
}

extension Preset {
    public func validate(_ params: Parameters) throws(LabError) {}
}
