/// The pseudo-random delays of a perturbed schedule: SplitMix64 seeded by (seed, process index).
/// Deterministic on every platform, so a run's `schedule` replays the same delays.
public struct JitterGenerator: Sendable {
    private var state: UInt64
    private let bound: UInt64

    /// Delays in [0, `jitterUs`] µs for process `process` of a run with `seed`.
    public init(seed: Int64, process: Int, jitterUs: Int) {
        state = UInt64(bitPattern: seed) &* 0x9E37_79B9_7F4A_7C15 ^ (UInt64(process) &+ 1) &* 0xD1B5_4A32_D192_ED03
        bound = UInt64(max(0, jitterUs)) + 1
    }

    /// The next delay in microseconds.
    public mutating func next() -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % bound)
    }
}
