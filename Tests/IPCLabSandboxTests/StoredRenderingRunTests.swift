import IPCLabCore
import Testing

/// A stored run keeps only its JSON; its text and Chrome trace are made from it when read
/// (`Trace(json:)`). On real runs of every preset (the measurements aside: they run for seconds)
/// and a scenario with nested loops, those must be byte for byte what the run's trace renders.
@Suite("Text and Chrome made from a run's JSON")
struct StoredRenderingRunTests {
    static let presets = Catalog.standard.presets.map(\.experiment.id).filter { !$0.hasPrefix("bench.") }

    @Test("every preset", arguments: presets)
    func preset(_ id: String) async throws {
        try expectSameRenderings(try await run(id))
    }

    @Test("a scenario with nested loops (each event's step_path and iteration)")
    func loops() async throws {
        let trace = try await run(scenario: """
            {"channels": [{"name": "p", "kind": "pipe"}],
             "processes": [{"name": "solo", "steps": [
                {"op": "loop", "times": 2, "index": "i", "do": [
                    {"op": "loop", "times": 2, "index": "j", "do": [
                        {"op": "write", "channel": "p", "data": "i{i} j{j}\\n"}]}]},
                {"op": "read", "channel": "p", "size": 64}]}]}
            """, wallMs: 2000)
        #expect(trace.events.contains { $0.origin?.iteration.indexes.count == 2 }, "\(trace.text())")
        try expectSameRenderings(trace)
    }

    private func expectSameRenderings(_ trace: Trace) throws {
        let read = try Trace(json: trace.json())
        #expect(read.text() == trace.text())
        #expect(read.chromeJSON() == trace.chromeJSON())
    }
}
