/// `bench.throughput` — bulk bytes through a pipe, a Unix stream socket, TCP on the run's loopback,
/// a POSIX queue and a shared-memory ring, one phase each between the same two processes. The
/// trace keeps one `bench_throughput` event per phase (bytes, time, CPU time of both sides, where
/// they ran) and a few `progress` events; the observations compare the mechanisms in this run.
public struct BenchThroughput: Preset {
    public init() {}

    /// The sync region: the 4 KiB control block and a 1020 KiB ring.
    static let syncBytes = 1_048_576
    /// The port of the TCP phase, on the run's own loopback.
    static let port = 5201

    public let experiment = Experiment(
        id: "bench.throughput",
        mechanism: "bench",
        title: "Throughput: which IPC moves bytes fastest?",
        claim: "Shared memory is the fastest way for two processes to exchange bulk data: a pipe (or a socket, or a queue) copies each byte into the kernel and out again, a ring in shared memory is written once and read in place.",
        seed: "003, 004",
        parameters: [
            Parameter("mechanisms", .stringArray,
                      "Which mechanisms to measure, in this order: pipe, unix_stream (a socketpair), tcp (127.0.0.1 in the run's own network namespace), posix_mq, shm_ring (a ring buffer in shared memory, futex wait/wake).",
                      default: .array(BenchMechanism.throughput.map { .string($0.rawValue) }),
                      count: 1...5, choices: BenchMechanism.throughput.map(\.rawValue)),
            Parameter("total_bytes", .integer, "Bytes each mechanism moves.", default: 268_435_456, range: 1024...1_073_741_824),
            Parameter("chunk_bytes", .integer,
                      "Bytes per write (per message for posix_mq, at most its 8192-byte message size; per copy into the ring).",
                      default: 65_536, range: 64...1_048_576),
            BenchPlacement.parameter,
        ],
        observations: ["bench.throughput.moved", "bench.throughput.shm_fastest", "bench.throughput.fewer_copies"],
        defaultWallMs: 9000
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try BenchPlacement.check(params)
    }

    /// The chunk a mechanism moves: a POSIX queue's message is at most 8192 bytes.
    static func chunk(_ m: BenchMechanism, _ params: Parameters) -> Int {
        let chunk = params.int("chunk_bytes") ?? 65_536
        return m == .posixMQ ? min(chunk, MessageQueueChannel.Bounds.messageSize.upperBound) : chunk
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let total = params.int("total_bytes") ?? 268_435_456
        var channels: [Channel] = []
        var receiver: [Step] = []
        var sender: [Step] = []
        let (receiverCPU, senderCPU) = BenchPlacement(params).cpus
        for m in BenchMechanism.chosen(params, from: BenchMechanism.throughput) {
            var channel: String?
            switch m {
            case .pipe:
                channel = "data"; channels.append(.pipe("data"))
            case .unixStream:
                channel = "pair"; channels.append(Channel(name: "pair", spec: .socket(.socketpair(type: .stream))))
            case .tcp:
                channel = "tcp"; channels.append(Channel(name: "tcp", spec: .socket(.tcp(address: .loopback, port: Self.port))))
            case .posixMQ:
                channel = "queue"
                channels.append(Channel(name: "queue", spec: .messageQueue(.posix(name: "/queue", maxMessages: 10,
                                                                                   messageSize: Self.chunk(.posixMQ, params), raiseMsgMax: true))))
            default:
                break
            }
            var t = BenchStep.Transfer(mechanism: m, channel: channel, sync: "sync", totalBytes: total, chunkBytes: Self.chunk(m, params))
            t.cpu = receiverCPU
            receiver.append(.benchReceive(t))
            t.cpu = senderCPU
            sender.append(.benchSend(t))
        }
        channels.append(Channel(name: "sync", spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: Self.syncBytes))))
        receiver.append(.wait(process: "sender"))
        return Scenario(channels: channels, processes: [ProcessSpec(name: "receiver", steps: receiver),
                                                        ProcessSpec(name: "sender", steps: sender)])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let total = Int64(params.int("total_bytes") ?? 268_435_456)
        let wanted = BenchMechanism.chosen(params, from: BenchMechanism.throughput)
        let phases = trace.calls("bench_throughput", by: "receiver")
        func phase(_ m: BenchMechanism) -> TraceEvent? { phases.first { $0.string("mechanism") == m.rawValue } }
        let mismatches = trace.calls("bench_mismatch")
        let measured = wanted.compactMap { m in phase(m).map { (m, $0) } }

        let complete = measured.count == wanted.count && measured.allSatisfy { $0.1.int("bytes") == total } && mismatches.isEmpty
        let missing = wanted.filter { phase($0) == nil }.map(\.rawValue)
        let moved = Observation(
            id: "bench.throughput.moved",
            claim: "Every mechanism moved all the bytes, each one checked by the receiver (one byte per 64-byte line).",
            holds: complete,
            evidence: (phases + mismatches).seqs,
            detail: measured.map { "\($0.0.rawValue) \(Self.rate($0.1)) (\(Self.bytes($0.1.int("bytes") ?? 0)) in \(milliseconds($0.1.int("elapsed_ns") ?? 0)), CPUs \($0.1.int("cpu") ?? -1)/\($0.1.int("peer_cpu") ?? -1))" }
                .joined(separator: "; ")
                + (missing.isEmpty ? "" : "; no figure for \(missing.joined(separator: ", ")) (see the trace's errors)")
                + (mismatches.isEmpty ? "" : "; bytes differed from what was sent in \(mismatches.count) phase(s)"))

        let ranked = measured.sorted { Self.gibps($0.1) > Self.gibps($1.1) }
        let ring = phase(.shmRing)
        let fastest: Observation
        if let ring, ranked.count >= 2 {
            let others = ranked.filter { $0.0 != .shmRing }
            let best = others[0]
            let holds = Noise.clearlyAbove(Self.gibps(ring), Self.gibps(best.1))
            let tied = Noise.tie(Self.gibps(ring), Self.gibps(best.1))
            var versus = String(format: "; the ring is %.2f× ", Self.gibps(ring) / max(Self.gibps(best.1), 1e-9)) + best.0.rawValue
            if let pipe = phase(.pipe), best.0 != .pipe {
                versus += String(format: " and %.2f× the pipe", Self.gibps(ring) / max(Self.gibps(pipe), 1e-9))
            }
            fastest = Observation(
                id: "bench.throughput.shm_fastest",
                claim: "Shared memory is the fastest (the seed): the ring moves bytes faster than every other mechanism measured.",
                holds: holds,
                evidence: ranked.map(\.1.seq),
                detail: "ranking: " + Noise.ranking(ranked.map { ("\($0.0.rawValue) \(Self.rate($0.1))", Self.gibps($0.1)) }, separator: " > ")
                    + versus + (holds ? "" : tied ? " — a tie with \(best.0.rawValue) within the \(Int(Noise.margin * 100)) % noise margin, not a ranking"
                                               : " — not the fastest in this run"))
        } else {
            fastest = Observation(
                id: "bench.throughput.shm_fastest",
                claim: "Shared memory is the fastest (the seed): the ring moves bytes faster than every other mechanism measured.",
                holds: false, evidence: phases.seqs,
                detail: "not compared: this run measured \(measured.map(\.0.rawValue).joined(separator: ", ")) (the claim needs shm_ring and another mechanism)")
        }

        let copies: Observation
        if let ring, let pipe = phase(.pipe) {
            let ringCPU = Self.cpuPerMiB(ring), pipeCPU = Self.cpuPerMiB(pipe)
            copies = Observation(
                id: "bench.throughput.fewer_copies",
                claim: "A pipe costs more copies than shared memory (the seed: four against two, counting the copies from and to files): here a pipe copies each byte twice (write into the kernel, read out), the ring once (memcpy in, read in place), and the pipe spends more CPU time per byte.",
                holds: Noise.clearlyAbove(pipeCPU, ringCPU),
                evidence: [pipe.seq, ring.seq],
                detail: String(format: "pipe: %d copies per byte, %.0f µs of CPU per MiB (both sides, %.0f%% in the kernel); ring: %d copy, %.0f µs per MiB (%.0f%% in the kernel)",
                               pipe.int("copies_per_byte") ?? 0, pipeCPU, Self.kernelShare(pipe) * 100,
                               ring.int("copies_per_byte") ?? 0, ringCPU, Self.kernelShare(ring) * 100)
                    + (Noise.clearlyAbove(pipeCPU, ringCPU) ? "" : Noise.tie(pipeCPU, ringCPU)
                        ? String(format: " — a tie within the %d %% noise margin: this run does not show the pipe costing more", Int(Noise.margin * 100))
                        : " — the pipe cost less CPU per byte in this run"))
        } else {
            copies = Observation(
                id: "bench.throughput.fewer_copies",
                claim: "A pipe costs more copies than shared memory (the seed: four against two, counting the copies from and to files): here a pipe copies each byte twice (write into the kernel, read out), the ring once (memcpy in, read in place), and the pipe spends more CPU time per byte.",
                holds: false, evidence: phases.seqs,
                detail: "not compared: the claim needs both pipe and shm_ring in mechanisms")
        }
        return [moved, fastest, copies]
    }
}
