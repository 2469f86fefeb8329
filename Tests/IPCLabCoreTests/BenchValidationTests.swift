import IPCLabCore
import Testing

/// The bench steps, the measurement presets' parameters and their default wall limit.
@Suite("Bench validation")
struct BenchValidationTests {
    static let channels = [
        #"{"name": "p", "kind": "pipe"}"#, #"{"name": "q", "kind": "pipe"}"#,
        #"{"name": "pair", "kind": "socketpair"}"#, #"{"name": "dgram", "kind": "socketpair", "type": "dgram"}"#,
        #"{"name": "t", "kind": "tcp", "port": 5000}"#,
        #"{"name": "mq", "kind": "message_queue", "api": "posix", "message_size": 1024}"#,
        #"{"name": "small", "kind": "message_queue", "api": "posix", "message_size": 32}"#,
        #"{"name": "sync", "kind": "shared_memory", "size": 65536}"#,
        #"{"name": "tiny", "kind": "shared_memory", "size": 4096}"#,
        #"{"name": "priv", "kind": "shared_memory", "size": 65536, "mapping": "private"}"#,
    ]

    func scenario(parent: [String], child: [String]) -> String {
        scenarioText(channels: Self.channels, parent: parent, child: child)
    }

    static let send = #"{"op": "bench_send", "mechanism": "pipe", "channel": "p", "sync": "sync", "total_bytes": 4096, "chunk_bytes": 512}"#
    static let receive = #"{"op": "bench_receive", "mechanism": "pipe", "channel": "p", "sync": "sync", "total_bytes": 4096, "chunk_bytes": 512}"#

    @Test("a send/receive and a ping/pong pair decode, and round-trip through JSON")
    func goodPairs() throws {
        let ping = #"{"op": "bench_ping", "mechanism": "pipe", "channel": "p", "reply": "q", "sync": "sync", "round_trips": 10}"#
        let pong = ping.replacingOccurrences(of: "bench_ping", with: "bench_pong")
        let ring = #"{"op": "bench_ping", "mechanism": "shm_ring", "sync": "sync", "round_trips": 10}"#
        let s = try decodeScenario(scenario(parent: [Self.receive, ping, ring], child: [Self.send, pong, ring.replacingOccurrences(of: "ping", with: "pong")]))
        let t = BenchStep.Transfer(mechanism: .pipe, channel: "p", sync: "sync", totalBytes: 4096, chunkBytes: 512)
        #expect(s.processes[0].steps[0] == .benchReceive(t))
        #expect(s.processes[1].steps[0] == .benchSend(t))
        #expect(s.processes[0].steps[1] == .benchPing(BenchStep.RoundTrips(mechanism: .pipe, channel: "p", reply: "q", sync: "sync", roundTrips: 10)))
        #expect(try Scenario.decode(s.json) == s)
    }

    @Test("bad bench steps are named by path", arguments: [
        // No other side, or one that does not mirror this step.
        ([send], [String](), "scenario.processes[0].steps[0].op", "needs a bench_receive"),
        ([send], [send], "scenario.processes[0].steps[0].op", "must meet a bench_receive"),
        ([send], [receive.replacingOccurrences(of: "4096", with: "8192")], "scenario.processes[0].steps[0].op", "same fields"),
        ([send, send], [receive], "scenario.processes[0].steps[0].op", "same fields"),
        // Fields.
        ([send.replacingOccurrences(of: "\"pipe\"", with: "\"udp\"")], [receive], "scenario.processes[0].steps[0].mechanism", "one of"),
        ([send.replacingOccurrences(of: "\"pipe\"", with: "\"semaphore\"")], [receive], "scenario.processes[0].steps[0].mechanism", "moves bytes"),
        ([send.replacingOccurrences(of: "4096", with: "0")], [receive], "scenario.processes[0].steps[0].total_bytes", "1…1073741824"),
        ([send.replacingOccurrences(of: "512", with: "2097152")], [receive], "scenario.processes[0].steps[0].chunk_bytes", "1…1048576"),
        // Channels.
        ([send.replacingOccurrences(of: "\"p\"", with: "\"pair\"")], [receive.replacingOccurrences(of: "\"p\"", with: "\"pair\"")],
         "scenario.processes[0].steps[0].channel", "needs a pipe channel"),
        ([send.replacingOccurrences(of: "\"sync\": \"sync\"", with: "\"sync\": \"tiny\"")], [receive.replacingOccurrences(of: "\"sync\": \"sync\"", with: "\"sync\": \"tiny\"")],
         "scenario.processes[0].steps[0].sync", "at least 8192"),
        ([send.replacingOccurrences(of: "\"sync\": \"sync\"", with: "\"sync\": \"priv\"")], [receive.replacingOccurrences(of: "\"sync\": \"sync\"", with: "\"sync\": \"priv\"")],
         "scenario.processes[0].steps[0].sync", "shared mapping"),
        ([send.replacingOccurrences(of: "\"sync\": \"sync\"", with: "\"sync\": \"p\"")], [receive.replacingOccurrences(of: "\"sync\": \"sync\"", with: "\"sync\": \"p\"")],
         "scenario.processes[0].steps[0].sync", "anonymous shared-memory"),
    ] as [([String], [String], String, String?)])
    func badSteps(_ parent: [String], _ child: [String], _ path: String, _ message: String?) {
        expectLabError(.invalidScenario, path: path, message: message) { try decodeScenario(scenario(parent: parent, child: child)) }
    }

    @Test("each mechanism needs its own channel kind, and a reply only when one-way", arguments: [
        (#""mechanism": "unix_stream", "channel": "dgram""#, "channel", "socketpair channel of type stream"),
        (#""mechanism": "tcp", "channel": "p""#, "channel", "tcp channel"),
        (#""mechanism": "posix_mq", "channel": "small", "reply": "mq""#, "channel", "64-byte message"),
        (#""mechanism": "posix_mq", "channel": "mq""#, "reply", "one-way"),
        (#""mechanism": "pipe", "channel": "p", "reply": "p""#, "reply", "another channel"),
        (#""mechanism": "tcp", "channel": "t", "reply": "t""#, "reply", "only for a latency phase over a pipe"),
        (#""mechanism": "signal", "channel": "p""#, "channel", "no channel of its own"),
        (#""mechanism": "pipe""#, "channel", "is required"),
    ])
    func channelKinds(_ fields: String, _ key: String, _ message: String) {
        let ping = #"{"op": "bench_ping", "sync": "sync", "round_trips": 5, "# + fields + "}"
        let pong = ping.replacingOccurrences(of: "bench_ping", with: "bench_pong")
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].\(key)", message: message) {
            try decodeScenario(scenario(parent: [ping], child: [pong]))
        }
    }

    @Test("a queue's chunk is at most its message size")
    func queueChunk() {
        let send = #"{"op": "bench_send", "mechanism": "posix_mq", "channel": "mq", "sync": "sync", "total_bytes": 4096, "chunk_bytes": 2048}"#
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[0].chunk_bytes", message: "message_size (1024)") {
            try decodeScenario(scenario(parent: [send.replacingOccurrences(of: "bench_send", with: "bench_receive")], child: [send]))
        }
    }

    @Test("the presets: mechanisms is a list of distinct known words; a default wall limit of their own")
    func presets() throws {
        let r = try RunRequest.preset("bench.throughput", params: try json(#"{"mechanisms": ["shm_ring", "pipe"], "total_bytes": 65536}"#))
        #expect(r.limits.wallMs == 9000)
        #expect(r.scenario.processes.map(\.name) == ["receiver", "sender"])
        #expect(r.scenario.processes[1].steps.map { step -> String in if case .bench(let b) = step { b.mechanism.rawValue } else { step.op } }
                == ["shm_ring", "pipe"])
        #expect(try RunRequest.preset("bench.latency", params: nil, maxWallMs: 5000).limits.wallMs == 5000)
        #expect(try RunRequest.preset("bench.latency", params: nil, limits: try json(#"{"wall_ms": 700}"#)).limits.wallMs == 700)
        #expect(try RunRequest.preset("pipe.hello", params: nil).limits.wallMs == RunLimits.defaultWallMs)
        for (params, path) in [(#"{"mechanisms": ["tcp", "tcp"]}"#, "params.mechanisms[1]"), (#"{"mechanisms": ["signal"]}"#, "params.mechanisms[0]"),
                               (#"{"mechanisms": []}"#, "params.mechanisms"), (#"{"mechanisms": [3]}"#, "params.mechanisms[0]")] {
            expectLabError(.invalidParameter, path: path) { try RunRequest.preset("bench.throughput", params: try json(params)) }
        }
        // Every default expansion is a valid scenario (the steps pair up), with every mechanism.
        for id in ["bench.throughput", "bench.latency"] {
            let request = try RunRequest.preset(id, params: nil)
            #expect(try Scenario.decode(request.scenario.json) == request.scenario)
        }
        let latency = try RunRequest.preset("bench.latency", params: nil)
        #expect(latency.scenario.processes[0].steps.count == BenchMechanism.latency.count + 1)
    }
}

extension BenchValidationTests {
    @Test("each side may pin itself to its own CPU; the pair must agree on everything else")
    func placement() throws {
        let pinned = Self.send.replacingOccurrences(of: "\"sync\": \"sync\"", with: "\"sync\": \"sync\", \"cpu\": 1")
        let s = try decodeScenario(scenario(parent: [Self.receive], child: [pinned]))
        guard case .bench(let b) = s.processes[1].steps[0] else { Issue.record("not a bench step"); return }
        #expect(b.cpu == 1)
        #expect(try Scenario.decode(s.json) == s)
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].cpu", message: "0…1023") {
            try decodeScenario(scenario(parent: [Self.receive], child: [pinned.replacingOccurrences(of: "\"cpu\": 1", with: "\"cpu\": 1024")]))
        }
        let r = try RunRequest.preset("bench.latency", params: try json(#"{"placement": "two_cpus", "mechanisms": ["pipe"]}"#))
        #expect(r.scenario.processes.map { p in p.steps.compactMap { if case .bench(let b) = $0 { b.cpu } else { nil } } } == [[0], [1]])
        expectLabError(.invalidParameter, path: "params.placement") {
            try RunRequest.preset("bench.throughput", params: try json(#"{"placement": "numa"}"#))
        }
    }
}
