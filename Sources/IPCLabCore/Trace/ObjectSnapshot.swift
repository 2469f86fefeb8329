/// The state of a kernel object right after an event changed it
/// (e.g. the bytes waiting in a pipe, from `ioctl(FIONREAD)`).
public struct ObjectSnapshot: Sendable {
    /// The event after which the state was read.
    public var seq: Int?
    public var tNs: Int64
    /// The scenario name of the object (a channel name).
    public var object: String
    public var kind: String
    public var state: [(String, Int64)]
    /// State that is a word rather than a number (a process's state letter, `"T"`), in the same `state` object.
    public var labels: [(String, String)]

    public init(seq: Int?, tNs: Int64, object: String, kind: String, state: [(String, Int64)],
                labels: [(String, String)] = []) {
        self.seq = seq
        self.tNs = tNs
        self.object = object
        self.kind = kind
        self.state = state
        self.labels = labels
    }

    public func value(_ key: String) -> Int64? {
        state.first { $0.0 == key }?.1
    }

    public func label(_ key: String) -> String? {
        labels.first { $0.0 == key }?.1
    }
}

/// A claim from the course, checked against one run's events.
public struct Observation: Sendable {
    /// Stable id graders key on, e.g. `pipe.byte_stream.no_boundaries`.
    public var id: String
    public var claim: String
    /// Whether the claim held in this run.
    public var holds: Bool
    /// `seq` numbers of the events that show it.
    public var evidence: [Int]
    /// What was seen, in one sentence with the run's numbers.
    public var detail: String

    public init(id: String, claim: String, holds: Bool, evidence: [Int], detail: String) {
        self.id = id
        self.claim = claim
        self.holds = holds
        self.evidence = evidence
        self.detail = detail
    }
}
