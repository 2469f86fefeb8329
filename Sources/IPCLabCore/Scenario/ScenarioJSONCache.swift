/// The compact JSON text of the scenarios seen lately, most recent first: a run's plan (written before
/// the run is handed over) and its trace's `scenario` (written after it) are that text, and most runs
/// are the same few presets. Building it (the ``Scenario/json`` value, then every object's keys sorted
/// and written) was ~5 % of the server's CPU per `pipe.hello` run for the plan and ~7 % for the trace,
/// both on the run's path (perf, 2026-12-06). A hit costs a comparison of scenarios (`==`), which
/// fails at the first difference. Entries are whole scenarios compared by value, so a hit is always
/// the text the writer would write; a scenario whose text is larger than ``maxBytes`` is not kept.
final class ScenarioJSONCache: Sendable {
    static let shared = ScenarioJSONCache(capacity: 16, maxBytes: 64 << 10)

    let maxBytes: Int
    private let cache: RecentCache<Scenario, [UInt8]>

    init(capacity: Int, maxBytes: Int) {
        self.maxBytes = maxBytes
        cache = RecentCache(capacity: capacity)
    }

    /// `scenario`'s JSON as `JSONWriter().value(scenario.json)` writes it (compact).
    func json(of scenario: Scenario) -> [UInt8] {
        cache.value(for: scenario, keeps: { $0.count <= maxBytes }) {
            var w = JSONWriter()
            w.value(scenario.json)
            return w.bytes
        }
    }

    /// How many scenarios are kept now (tests).
    var count: Int { cache.count }
}

extension Scenario {
    /// ``json`` written as compact JSON text, from ``ScenarioJSONCache`` when this scenario was written lately.
    public var compactJSON: [UInt8] { ScenarioJSONCache.shared.json(of: self) }
}
