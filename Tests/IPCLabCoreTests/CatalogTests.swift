import Foundation
import IPCLabCore
import Testing

@Suite("Catalog")
struct CatalogTests {
    static let pipePresets = ["pipe.hello", "pipe.byte_stream", "pipe.eof", "pipe.capacity"]

    @Test("experiment ids are unique, and the four pipe presets are there")
    func uniqueIDs() {
        let ids = Catalog.standard.experiments.map(\.id)
        #expect(Set(ids).count == ids.count, "duplicate ids in \(ids)")
        for id in Self.pipePresets {
            #expect(ids.contains(id))
            #expect(Catalog.standard.preset(id)?.experiment.id == id)
        }
        #expect(Catalog.standard.preset("pipe.nope") == nil)
    }

    @Test("every experiment has at least one observation, each namespaced by the experiment id, none repeated")
    func observations() {
        for e in Catalog.standard.experiments {
            #expect(!e.observations.isEmpty, "\(e.id) has no observations")
            #expect(Set(e.observations).count == e.observations.count, "\(e.id) repeats an observation")
            for o in e.observations {
                #expect(o.hasPrefix(e.id + "."), "\(o) is not under \(e.id)")
            }
        }
    }

    @Test("every experiment names its mechanism, title, claim and seed; parameter names are unique")
    func entriesComplete() {
        for e in Catalog.standard.experiments {
            #expect(e.id.hasPrefix(e.mechanism + "."), "\(e.id) is not under \(e.mechanism)")
            #expect(!e.title.isEmpty && !e.claim.isEmpty && !e.seed.isEmpty, "\(e.id)")
            let names = e.parameters.map(\.name)
            #expect(Set(names).count == names.count, "\(e.id): \(names)")
        }
    }

    @Test("each experiment's defaults validate against its own parameters", arguments: Catalog.standard.presets.map(\.experiment.id))
    func defaultsValidate(_ id: String) throws {
        let preset = try #require(Catalog.standard.preset(id))
        let e = preset.experiment
        var given: [String: JSONValue] = [:]
        for p in e.parameters where p.defaultValue != .null { given[p.name] = p.defaultValue }
        let params = try Parameters.decode(.object(given), for: e)
        try preset.validate(params)
        let defaults = Parameters.defaults(for: e)
        #expect(params.json == defaults.json)
        try preset.validate(defaults)
        // The expansion is a scenario the language accepts.
        let scenario = preset.scenario(defaults)
        #expect(try Scenario.decode(scenario.json) == scenario)
    }

    @Test("each preset's default scenario round-trips through its JSON, also as text", arguments: Catalog.standard.presets.map(\.experiment.id))
    func scenarioRoundTrip(_ id: String) throws {
        let preset = try #require(Catalog.standard.preset(id))
        let scenario = preset.scenario(.defaults(for: preset.experiment))
        #expect(try Scenario.decode(scenario.json) == scenario)
        var w = JSONWriter()
        w.value(scenario.json)
        let reparsed = try JSONValue.parse(w.bytes)
        #expect(reparsed == scenario.json)
        #expect(try Scenario.decode(reparsed) == scenario)
    }

    @Test("non-default parameters expand to scenarios that round-trip too")
    func nonDefaultRoundTrip() throws {
        let requests: [(String, JSONValue)] = [
            ("pipe.byte_stream", ["write_sizes": [7, 3, 11], "read_sizes": [4, 4, 13]]),
            ("pipe.eof", ["close_unused_ends": false, "message": "tab\there \"quoted\""]),
            ("pipe.capacity", ["nonblocking": true, "pipe_size": 12288, "chunk_size": 1000, "reader_delay_ms": 0]),
            ("pipe.hello", ["message": "hi there"]),
        ]
        for (id, params) in requests {
            let r = try RunRequest.preset(id, params: params)
            #expect(try Scenario.decode(r.scenario.json) == r.scenario, "\(id)")
        }
    }

    @Test("Catalog.json() parses as JSON and lists the four pipe presets with their parameters")
    func catalogJSON() throws {
        let root = try #require(try foundationJSON(Catalog.standard.json()) as? [String: Any])
        let experiments = try #require(root["experiments"] as? [[String: Any]])
        let ids = experiments.compactMap { $0["id"] as? String }
        #expect(Set(Self.pipePresets).isSubset(of: Set(ids)))
        #expect(ids.count == Catalog.standard.experiments.count)

        let byteStream = try #require(experiments.first { $0["id"] as? String == "pipe.byte_stream" })
        #expect(byteStream["mechanism"] as? String == "pipe")
        #expect(byteStream["observations"] as? [String] == ["pipe.byte_stream.no_boundaries", "pipe.byte_stream.bytes_conserved"])
        let params = try #require(byteStream["parameters"] as? [[String: Any]])
        let writeSizes = try #require(params.first { $0["name"] as? String == "write_sizes" })
        #expect(writeSizes["type"] as? String == "integer_array")
        #expect(writeSizes["default"] as? [Int] == [10, 10, 10, 10])
        #expect(writeSizes["minimum"] as? Int == 1)
        #expect(writeSizes["maximum"] as? Int == 65536)
        #expect(writeSizes["min_items"] as? Int == 1)
        #expect(writeSizes["max_items"] as? Int == 64)

        let capacity = try #require(experiments.first { $0["id"] as? String == "pipe.capacity" })
        let pipeSize = try #require((capacity["parameters"] as? [[String: Any]])?.first { $0["name"] as? String == "pipe_size" })
        #expect(pipeSize["default"] is NSNull, "an optional parameter's default is null")
        #expect(pipeSize["type"] as? String == "integer")

        let hello = try #require(experiments.first { $0["id"] as? String == "pipe.hello" })
        let message = try #require((hello["parameters"] as? [[String: Any]])?.first)
        #expect(message["type"] as? String == "string")
        #expect(message["max_length"] as? Int == 4096)
        #expect(hello["scenario"] == nil, "the list carries no scenarios")
    }

    @Test("Catalog.json(for:) carries the expanded scenario; an unknown id gives nil")
    func catalogEntryJSON() throws {
        #expect(Catalog.standard.json(for: "pipe.nope") == nil)
        let bytes = try #require(Catalog.standard.json(for: "pipe.hello"))
        let value = try JSONValue.parse(bytes)
        guard case .object(let entry) = value, let scenario = entry["scenario"] else {
            Issue.record("no scenario in \(String(decoding: bytes, as: UTF8.self))")
            return
        }
        #expect(entry["id"] == "pipe.hello")
        let preset = try #require(Catalog.standard.preset("pipe.hello"))
        #expect(try Scenario.decode(scenario) == preset.scenario(.defaults(for: preset.experiment)))
    }

    @Test("corrections: each names a note, what it says and what the kernel does; a cited observation is the experiment's own")
    func corrections() throws {
        let all = Catalog.standard.experiments.flatMap { e in e.corrections.map { (e, $0) } }
        #expect(all.count >= 7)
        for (e, c) in all {
            #expect(["000", "001", "002", "003", "004"].contains(c.note))
            #expect(!c.says.isEmpty && !c.kernel.isEmpty)
            if let o = c.observation { #expect(e.observations.contains(o), "\(e.id): \(o)") }
        }
        let root = try #require(try JSONSerialization.jsonObject(with: Data(Catalog.standard.json())) as? [String: Any])
        let listed = try #require(root["experiments"] as? [[String: Any]])
        for e in listed { #expect(e["corrections"] is [Any], "\(e["id"] ?? "?")") }
    }

    @Test("pipe.capacity refuses a chunk whose fill a trace cannot hold; pipe.byte_stream counts page slots")
    func fillBudget() {
        #expect(PipeCapacity.writesToFill(capacity: 65_536, chunk: 1000) == 65)
        #expect(PipeByteStream.slotsNeeded(Array(repeating: 2049, count: 20)) == 20)
        #expect(PipeByteStream.slotsNeeded([10, 10, 10, 10]) == 1)
        #expect(PipeByteStream.slotsNeeded([4096, 1]) == 2)
        #expect(PipeByteStream.slotsNeeded([5000, 3000]) == 2)
    }
}
