/// `bench.latency` — ping-pong of a 64-byte message between two processes through each mechanism,
/// plus a bare signal (`kill`/`sigwaitinfo`) and a semaphore pair. The pinger times every round trip
/// with `CLOCK_MONOTONIC`, sorts the samples and records one `bench_latency` event per phase (min,
/// p50, p99, max, and the CPU each process ran on).
public struct BenchLatency: Preset {
    public init() {}

    static let port = 5202

    public let experiment = Experiment(
        id: "bench.latency",
        mechanism: "bench",
        title: "Latency: how long does a round trip take?",
        claim: "Shared memory is the fastest IPC for a small message too: a round trip through a ring in shared memory (futex wait/wake) beats a pipe, a socket, a queue, a signal and a semaphore pair; where the two processes run (one CPU or two) changes every figure.",
        seed: "003, 004",
        parameters: [
            Parameter("mechanisms", .stringArray,
                      "Which mechanisms to measure, in this order: pipe (two pipes), unix_stream (a socketpair), tcp (127.0.0.1, TCP_NODELAY), posix_mq (two queues), shm_ring (message slots in shared memory, futex wait/wake), signal (kill/sigwaitinfo of SIGUSR1), semaphore (a pair of process-shared POSIX semaphores).",
                      default: .array(BenchMechanism.latency.map { .string($0.rawValue) }),
                      count: 1...7, choices: BenchMechanism.latency.map(\.rawValue)),
            Parameter("round_trips", .integer, "Measured round trips per mechanism (after \(16) unmeasured ones).",
                      default: 10_000, range: 1...200_000),
            BenchPlacement.parameter,
        ],
        observations: ["bench.latency.measured", "bench.latency.shm_fastest", "bench.latency.placement"],
        defaultWallMs: 9000
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try BenchPlacement.check(params)
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let n = params.int("round_trips") ?? 10_000
        var channels: [Channel] = []
        var pinger: [Step] = []
        var ponger: [Step] = []
        let (pingerCPU, pongerCPU) = BenchPlacement(params).cpus
        for m in BenchMechanism.chosen(params, from: BenchMechanism.latency) {
            var channel: String?
            var reply: String?
            switch m {
            case .pipe:
                channel = "ping"; reply = "pong"
                channels += [.pipe("ping"), .pipe("pong")]
            case .unixStream:
                channel = "pair"; channels.append(Channel(name: "pair", spec: .socket(.socketpair(type: .stream))))
            case .tcp:
                channel = "tcp"; channels.append(Channel(name: "tcp", spec: .socket(.tcp(address: .loopback, port: Self.port))))
            case .posixMQ:
                channel = "ping_queue"; reply = "pong_queue"
                for (name, path) in [("ping_queue", "/ping"), ("pong_queue", "/pong")] {
                    channels.append(Channel(name: name, spec: .messageQueue(.posix(name: path, maxMessages: 10,
                                                                                   messageSize: BenchStep.Bounds.messageBytes, raiseMsgMax: true))))
                }
            default:
                break
            }
            var t = BenchStep.RoundTrips(mechanism: m, channel: channel, reply: reply, sync: "sync", roundTrips: n)
            t.cpu = pingerCPU
            pinger.append(.benchPing(t))
            t.cpu = pongerCPU
            ponger.append(.benchPong(t))
        }
        channels.append(Channel(name: "sync", spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: BenchStep.Bounds.syncBytes))))
        pinger.append(.wait(process: "ponger"))
        return Scenario(channels: channels, processes: [ProcessSpec(name: "pinger", steps: pinger),
                                                        ProcessSpec(name: "ponger", steps: ponger)])
    }

    static func micros(_ ns: Int64?) -> String { String(format: "%.1f µs", Double(ns ?? 0) / 1000) }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let n = Int64(params.int("round_trips") ?? 10_000)
        let wanted = BenchMechanism.chosen(params, from: BenchMechanism.latency)
        let phases = trace.calls("bench_latency", by: "pinger")
        let measured = wanted.compactMap { m in phases.first { $0.string("mechanism") == m.rawValue }.map { (m, $0) } }
        func ordered(_ e: TraceEvent) -> Bool {
            guard let lo = e.int("min_ns"), let p50 = e.int("p50_ns"), let p99 = e.int("p99_ns"), let hi = e.int("max_ns") else { return false }
            return 0 < lo && lo <= p50 && p50 <= p99 && p99 <= hi
        }
        let missing = wanted.filter { m in !measured.contains { $0.0 == m } }.map(\.rawValue)
        let all = Observation(
            id: "bench.latency.measured",
            claim: "Every mechanism completed its round trips; per mechanism min ≤ p50 ≤ p99 ≤ max.",
            holds: missing.isEmpty && measured.allSatisfy { $0.1.int("round_trips") == n && ordered($0.1) },
            evidence: phases.seqs,
            detail: measured.map { "\($0.0.rawValue) p50 \(Self.micros($0.1.int("p50_ns"))), p99 \(Self.micros($0.1.int("p99_ns"))), max \(Self.micros($0.1.int("max_ns")))" }
                .joined(separator: "; ")
                + (missing.isEmpty ? "" : "; no figure for \(missing.joined(separator: ", ")) (see the trace's errors)"))

        let ranked = measured.sorted { ($0.1.int("p50_ns") ?? .max) < ($1.1.int("p50_ns") ?? .max) }
        let claim = "Shared memory is the fastest (the seed): the shared-memory ring has the lowest median round trip of the mechanisms measured."
        let fastest: Observation
        if let ring = measured.first(where: { $0.0 == .shmRing }), ranked.count >= 2 {
            let best = ranked.first { $0.0 != .shmRing }!
            let r = Double(ring.1.int("p50_ns") ?? .max), b = Double(best.1.int("p50_ns") ?? .max)
            let holds = Noise.clearlyAbove(b, r)
            let tied = Noise.tie(r, b)
            fastest = Observation(
                id: "bench.latency.shm_fastest", claim: claim, holds: holds, evidence: ranked.map(\.1.seq),
                detail: "by median: " + Noise.ranking(ranked.map { ("\($0.0.rawValue) \(Self.micros($0.1.int("p50_ns")))", Double($0.1.int("p50_ns") ?? .max)) }, separator: " < ")
                    + (holds ? "" : tied ? " — the ring ties with \(best.0.rawValue) within the \(Int(Noise.margin * 100)) % noise margin, not a ranking"
                                         : " — the ring is not the fastest in this run"))
        } else {
            fastest = Observation(
                id: "bench.latency.shm_fastest", claim: claim, holds: false, evidence: phases.seqs,
                detail: "not compared: this run measured \(measured.map(\.0.rawValue).joined(separator: ", ")) (the claim needs shm_ring and another mechanism)")
        }

        let placed = measured.filter { ($0.1.int("cpu") ?? -1) >= 0 && ($0.1.int("peer_cpu") ?? -1) >= 0 }
        let placement = Observation(
            id: "bench.latency.placement",
            claim: "Where the two processes ran is part of the result: one CPU means every round trip waits for a context switch, two CPUs let each side spin or wake on its own.",
            holds: !measured.isEmpty && placed.count == measured.count,
            evidence: phases.seqs,
            detail: placed.isEmpty ? "no CPU was reported"
                : "placement \(BenchPlacement(params).rawValue): " + placed.map { e -> String in
                    let cpu = e.1.int("cpu") ?? -1, peer = e.1.int("peer_cpu") ?? -1
                    return "\(e.0.rawValue): pinger on CPU \(cpu), ponger on CPU \(peer)" + (cpu == peer ? " (same CPU)" : "")
                }.joined(separator: "; ") + " (CPUs at the end of each phase, from sched_getcpu)")
        return [all, fastest, placement]
    }
}
