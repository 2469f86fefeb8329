/// Limits applied to one run.
public struct RunLimits: Sendable, Equatable {
    /// Wall-clock time after which everything in the run is killed.
    public var wallMs: Int

    /// The default wall-clock limit of a run.
    public static let defaultWallMs = 2000

    public init(wallMs: Int = RunLimits.defaultWallMs) {
        self.wallMs = wallMs
    }

    /// Reads `{"wall_ms": N}`; `maxWallMs` is the server's maximum, `defaultWallMs` what a request
    /// that gives none gets (a preset's own default, such as a measurement's several seconds).
    public static func decode(_ value: JSONValue?, maxWallMs: Int, defaultWallMs: Int = RunLimits.defaultWallMs) throws(LabError) -> RunLimits {
        guard let value else { return RunLimits(wallMs: min(defaultWallMs, maxWallMs)) }
        var r = try JSONObjectReader(value, at: JSONPath("limits"), code: .invalidLimit)
        let wall = try r.int("wall_ms", in: 1...maxWallMs) ?? min(defaultWallMs, maxWallMs)
        try r.finish()
        return RunLimits(wallMs: wall)
    }
}
