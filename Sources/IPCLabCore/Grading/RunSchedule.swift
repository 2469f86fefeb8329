/// How a run's schedule is perturbed: `{"seed", "jitter_us", "cpus"}`.
///
/// With `jitter_us` > 0 each process sleeps before each of its steps for a pseudo-random time in
/// [0, jitter_us] µs drawn from a ``JitterGenerator`` seeded by (seed, process index), so the same
/// schedule replays the same delays. The kernel's own scheduling is not replayed.
public struct RunSchedule: Sendable, Equatable {
    /// Where the processes may run.
    public enum CPUs: String, Sendable, CaseIterable {
        /// Every process pinned to the same CPU (interleavings come from preemption only).
        case one
        /// Process i pinned to the i-th CPU (modulo their number): true parallelism.
        case spread
        /// Wherever the kernel puts them.
        case any
    }

    public var seed: Int64
    public var jitterUs: Int
    public var cpus: CPUs

    public static let maxJitterUs = 100_000

    public init(seed: Int64 = 1, jitterUs: Int = 0, cpus: CPUs = .any) {
        self.seed = seed
        self.jitterUs = jitterUs
        self.cpus = cpus
    }

    /// Whether it changes anything in a run.
    public var perturbs: Bool { jitterUs > 0 || cpus != .any }

    /// The schedule of run `index` of a grade: seed + index.
    public func run(_ index: Int) -> RunSchedule {
        RunSchedule(seed: seed &+ Int64(index), jitterUs: jitterUs, cpus: cpus)
    }

    /// Reads `{"seed","jitter_us","cpus"}` at `path`, every field optional.
    public static func decode(_ value: JSONValue?, at path: JSONPath) throws(LabError) -> RunSchedule? {
        guard let value else { return nil }
        var r = try JSONObjectReader(value, at: path, code: .invalidRequest)
        var s = RunSchedule()
        if let v = r.value("seed") {
            guard case .integer(let i) = v, i >= 0, i <= Int64(1) << 53 else {
                throw r.fail("seed", "must be an integer 0…9007199254740992, not \(v.typeName == "integer" ? "\(v)" : v.typeName)")
            }
            s.seed = i
        }
        s.jitterUs = try r.int("jitter_us", in: 0...maxJitterUs) ?? 0
        s.cpus = try r.choice("cpus", CPUs.self) ?? .any
        try r.finish()
        return s
    }

    public var json: JSONValue {
        .object(["seed": .integer(seed), "jitter_us": .integer(Int64(jitterUs)), "cpus": .string(cpus.rawValue)])
    }
}
