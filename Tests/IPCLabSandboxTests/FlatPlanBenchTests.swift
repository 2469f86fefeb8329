import CIPCLab
import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// Measurement steps in the flat plan (ops 0x0Axx) over every mechanism: read back as their steps, the
/// descriptors' channels where the Swift participant takes them from, loaded by the C validator, which
/// refuses each field broken alone (a channel of another kind than the mechanism's among them).
@Suite("Flat plan: measurements")
struct FlatPlanBenchTests {
    static let ported = ["pipe", "shm_ring", "signal", "semaphore"]

    static func scenario(_ id: String, _ mechanisms: [String]? = nil, _ params: [String: JSONValue] = [:]) throws -> Scenario {
        var p = params
        if let mechanisms { p["mechanisms"] = .array(mechanisms.map { .string($0) }) }
        return try RunRequest.preset(id, params: .object(p)).scenario
    }

    /// Step `index` of the plan (all processes' steps in order): its op, sync, data and reply channels, mechanism.
    static func step(_ bytes: [UInt8], _ index: Int) -> (op: UInt16, sync: Int16, data: Int32, reply: Int32, mechanism: Int64) {
        let d = FlatPlanDecoder(bytes: bytes)
        let at = Int(d.u32(24)) + index * MemoryLayout<ipclab_plan_step>.size
        return (d.u16(at), d.i16(at + 4), d.i32(at + 16), d.i32(at + 20), d.i64(at + 40))
    }

    @Test("bench.latency and bench.throughput over every mechanism, by default and with parameters, read back field for field")
    func roundTrips() throws {
        let scenarios = [
            try Self.scenario("bench.latency"), try Self.scenario("bench.throughput"),
            try Self.scenario("bench.latency", Self.ported, ["round_trips": 50]),
            try Self.scenario("bench.throughput", ["pipe", "shm_ring"], ["total_bytes": 65536, "chunk_bytes": 4096]),
            try Self.scenario("bench.latency", ["posix_mq", "tcp", "unix_stream"], ["round_trips": 50, "placement": "same_cpu"]),
            try Self.scenario("bench.throughput", ["tcp", "posix_mq", "unix_stream"], ["total_bytes": 65536, "chunk_bytes": 8192]),
        ]
        for s in scenarios {
            _ = try FlatPlanTests.roundTrip(s)
        }
        // The default latency plan: channels ping, pong, pair, tcp, ping_queue, pong_queue, sync; the pinger's
        // steps in BenchMechanism.latency's order, each with the channels its mechanism moves data through.
        let latency = try #require(FlatPlan.compile(scenarios[0], schedule: nil))
        let want: [(Int32, Int32)] = [(0, 1), (2, -1), (3, -1), (4, 5), (-1, -1), (-1, -1), (-1, -1)]
        for (i, (data, reply)) in want.enumerated() {
            let s = Self.step(latency, i)
            #expect(s.op == 0x0A03 && s.sync == 6 && s.mechanism == Int64(i), "step \(i): \(s)")
            #expect(s.data == data && s.reply == reply, "step \(i): \(s)")
        }
        let throughput = try #require(FlatPlan.compile(scenarios[1], schedule: nil))
        for (i, data) in [Int32(0), 1, 2, 3, -1].enumerated() {
            let s = Self.step(throughput, i)
            #expect(s.op == 0x0A02 && s.data == data && s.reply == -1 && s.mechanism == Int64(i), "step \(i): \(s)")
        }
    }

    @Test("A data or reply channel of another kind than the mechanism's, or one it does not have, keeps the run on Swift")
    func refused() throws {
        let sync = Channel(name: "sync", spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: BenchStep.Bounds.syncBytes)))
        let channels: [Channel] = [
            .pipe("p"), .pipe("q"), Channel(name: "pair", spec: .socket(.socketpair(type: .dgram))),
            Channel(name: "udp", spec: .socket(.udp(address: .loopback, port: 5000))),
            Channel(name: "sysv", spec: .messageQueue(.sysv(key: 7))),
            Channel(name: "small", spec: .messageQueue(.posix(name: "/small", maxMessages: 10, messageSize: 32, raiseMsgMax: false))),
            Channel(name: "big", spec: .messageQueue(.posix(name: "/big", maxMessages: 10, messageSize: 4096, raiseMsgMax: false))),
            Channel(name: "big2", spec: .messageQueue(.posix(name: "/big2", maxMessages: 10, messageSize: 64, raiseMsgMax: false))),
            sync,
        ]
        func transfer(_ m: BenchMechanism, _ c: String?, chunk: Int = 64) -> Step {
            .benchSend(BenchStep.Transfer(mechanism: m, channel: c, sync: "sync", totalBytes: 4096, chunkBytes: chunk))
        }
        func trips(_ m: BenchMechanism, _ c: String?, _ r: String?) -> Step {
            .benchPing(BenchStep.RoundTrips(mechanism: m, channel: c, reply: r, sync: "sync", roundTrips: 5))
        }
        let cases: [String: Step] = [
            "unix_stream over a dgram socketpair": trips(.unixStream, "pair", nil),
            "tcp over udp": transfer(.tcp, "udp"),
            "tcp over a pipe": transfer(.tcp, "p"),
            "posix_mq over a System V queue": transfer(.posixMQ, "sysv"),
            "a chunk past the queue's message size": transfer(.posixMQ, "big", chunk: 4097),
            "a ping past the queue's message size": trips(.posixMQ, "small", "big"),
            "a pong queue too small": trips(.posixMQ, "big", "small"),
            "posix_mq without a reply": trips(.posixMQ, "big", nil),
            "a pipe's reply through itself": trips(.pipe, "p", "p"),
            "a reply on a stream": trips(.unixStream, "pair", "p"),
            "shm_ring with a channel": trips(.shmRing, "p", nil),
            "tcp without a channel": trips(.tcp, nil, nil),
            "throughput over signals": transfer(.signal, nil),
        ]
        for (name, step) in cases {
            let scenario = Scenario(channels: channels, processes: [ProcessSpec(name: "a", steps: [.sleep(ms: 1), step])])
            #expect(FlatPlan.build(scenario, schedule: nil) == .failure(.step(process: "a", index: 1, op: step.op)), "\(name)")
        }
        // Steps with channels of their mechanisms' kinds compile.
        let fine = Scenario(channels: channels, processes: [ProcessSpec(name: "a", steps: [
            transfer(.posixMQ, "big", chunk: 4096), trips(.posixMQ, "big", "big2"), trips(.pipe, "p", "q"), transfer(.pipe, "q"),
        ])])
        #expect(FlatPlan.compile(fine, schedule: nil) != nil)
    }

    @Test("The C validator loads the compiled plans and refuses each measurement field broken alone")
    func validator() throws {
        let plan = try #require(FlatPlan.compile(try Self.scenario("bench.latency", nil, ["round_trips": 50]), schedule: nil))
        let h = CRunnerPlanTests.header(plan)
        // The pinger's steps: pipe (ping, pong), unix_stream (pair), tcp, posix_mq (ping_queue, pong_queue), shm_ring, ...
        let ping = { (step: Int, body: (inout ipclab_plan_step) -> Void) in FlatPlanSignalsTests.breaking(plan, step: step, body) }
        let (pipe, pong, pair, tcp, pingQueue, pongQueue) = (Int32(0), Int32(1), Int32(2), Int32(3), Int32(4), Int32(5))
        let sync = Int16(h.nchannels) - 1
        let channel = { (i: Int32, body: (inout ipclab_plan_channel) -> Void) in
            CRunnerPlanTests.with(plan, at: Int(h.off_channels) + Int(i) * MemoryLayout<ipclab_plan_channel>.size,
                                  as: ipclab_plan_channel.self, body)
        }
        let broken: [String: [UInt8]] = [
            "mechanism 7": ping(0) { $0.n.2 = 7 },
            "mechanism -1": ping(0) { $0.n.2 = -1 },
            "cpu 1024": ping(0) { $0.n.3 = 1024 },
            "cpu -2": ping(0) { $0.n.3 = -2 },
            "no round trips": ping(0) { $0.n.0 = 0 },
            "a chunk size on a ping": ping(0) { $0.n.1 = 1 },
            "a million and one round trips": ping(0) { $0.n.0 = 1_000_001 },
            "data channel out of range": ping(0) { $0.reserved.0 = Int32(h.nchannels) },
            "data channel -2": ping(0) { $0.reserved.0 = -2 },
            "the sync region as the data channel": ping(0) { $0.reserved.0 = Int32(sync) },
            "reply channel out of range": ping(0) { $0.reserved.1 = Int32(h.nchannels) },
            "a pipe without its reply": ping(0) { $0.reserved.1 = -1 },
            "a pipe replying through itself": ping(0) { $0.reserved.1 = pipe },
            "a reply for shm_ring": ping(0) { $0.n.2 = 4 },
            "a pipe as the sync region": ping(0) { $0.channel = Int16(pong) },
            "no sync region": ping(0) { $0.channel = -1 },
            "a step flag": ping(0) { $0.flags = 1 },
            "tcp over the socketpair": ping(1) { $0.n.2 = 2 },
            "unix_stream over a pipe": ping(1) { $0.reserved.0 = pipe },
            "unix_stream without its socketpair": ping(1) { $0.reserved.0 = -1 },
            "a reply on unix_stream": ping(1) { $0.reserved.1 = pong },
            "unix_stream over the tcp channel": ping(2) { $0.n.2 = 1 },
            "tcp over a queue": ping(2) { $0.reserved.0 = pingQueue },
            "posix_mq over the socketpair": ping(3) { $0.reserved.0 = pair },
            "posix_mq replying over a pipe": ping(3) { $0.reserved.1 = pong },
            "posix_mq without its reply": ping(3) { $0.reserved.1 = -1 },
            "posix_mq replying through its own queue": ping(3) { $0.reserved.1 = pingQueue },
            "shm_ring with a data channel": ping(4) { $0.reserved.0 = tcp },
            "a ping queue of 63-byte messages": channel(pingQueue) { $0.b = 63 },
            "a pong queue of 63-byte messages": channel(pongQueue) { $0.b = 63 },
            "the tcp channel as a udp socket": channel(tcp) { $0.sub = UInt8(IPCLAB_PLAN_SOCKET_UDP.rawValue) },
        ]
        // The default throughput plan: the receiver's steps pipe (data), unix_stream (pair), tcp, posix_mq (queue), shm_ring.
        let throughput = try #require(FlatPlan.compile(try Self.scenario("bench.throughput", nil, ["total_bytes": 65536, "chunk_bytes": 4096]),
                                                       schedule: nil))
        let receive = { (step: Int, body: (inout ipclab_plan_step) -> Void) in FlatPlanSignalsTests.breaking(throughput, step: step, body) }
        var all = broken
        all["a chunk of 0"] = receive(0) { $0.n.1 = 0 }
        all["a chunk past 1 MiB"] = receive(0) { $0.n.1 = (1 << 20) + 1 }
        all["no bytes"] = receive(0) { $0.n.0 = 0 }
        all["a reply on a throughput phase"] = receive(0) { $0.reserved.1 = 1 }
        all["a chunk past the queue's message size"] = receive(3) { $0.n.1 = 4097 }
        all["throughput over signals"] = receive(4) { $0.n.2 = 5 }
        all["throughput over semaphores"] = receive(4) { $0.n.2 = 6 }
        let names = all.keys.sorted()
        let answers = try CRunnerPlanTests.verdicts([plan, throughput] + names.map { all[$0]! })
        #expect(Array(answers.prefix(2)) == ["Y", "Y"], "the compiled plans load")
        for (name, verdict) in zip(names, answers.dropFirst(2)) {
            #expect(verdict == "N", "\(name): \(verdict)")
        }
    }
}
