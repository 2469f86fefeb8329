import Testing

@testable import IPCLabCore

/// The plan and the trace's `scenario` are the cached text of a scenario: it must be exactly what the
/// writer writes for that scenario, never the text of another one.
@Suite("Scenario JSON cache")
struct ScenarioJSONCacheTests {
    static func written(_ scenario: Scenario) -> [UInt8] {
        var w = JSONWriter()
        w.value(scenario.json)
        return w.bytes
    }

    static var presets: [Scenario] {
        Catalog.standard.presets.map { $0.scenario(.defaults(for: $0.experiment)) }
    }

    @Test("every preset's cached text is the writer's, on a miss and on a hit")
    func sameText() {
        let cache = ScenarioJSONCache(capacity: 4, maxBytes: 64 << 10)
        for scenario in Self.presets {
            #expect(cache.json(of: scenario) == Self.written(scenario))
            #expect(cache.json(of: scenario) == Self.written(scenario))
        }
        #expect(cache.count == 4)
    }

    @Test("a scenario that differs from a kept one in a single name gets its own text")
    func noStaleHit() throws {
        let cache = ScenarioJSONCache(capacity: 16, maxBytes: 64 << 10)
        let original = try #require(Self.presets.first)
        _ = cache.json(of: original)
        var renamed = original
        renamed.processes[0].name += "x"
        #expect(cache.json(of: renamed) == Self.written(renamed))
        #expect(cache.json(of: renamed) != cache.json(of: original))
        #expect(cache.count == 2)
    }

    @Test("text larger than the cache's bound is written, not kept")
    func notKeptWhenLarge() throws {
        let cache = ScenarioJSONCache(capacity: 16, maxBytes: 8)
        let scenario = try #require(Self.presets.first)
        #expect(cache.json(of: scenario) == Self.written(scenario))
        #expect(cache.count == 0)
    }

    @Test("a trace's JSON carries the scenario as the writer writes it, compact and pretty")
    func traceScenarioField() throws {
        let scenario = try #require(Self.presets.first)
        var w = JSONWriter()
        w.object { w in w.key("scenario"); w.raw(scenario.compactJSON) }
        var v = JSONWriter()
        v.object { w in w.field("scenario", scenario.json) }
        #expect(w.bytes == v.bytes)
        #expect(JSONWriter(pretty: true).isPretty && !JSONWriter().isPretty)
    }
}
