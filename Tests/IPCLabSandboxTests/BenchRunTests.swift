import IPCLabCore
import IPCLabSandbox
import Testing

/// The measurement presets run for real with small sizes: one aggregate event per phase whose
/// figures agree with the parameters, a few progress events, and both processes exiting cleanly.
@Suite("Bench runs", .serialized)
struct BenchRunTests {
    @Test("bench.throughput: every mechanism moves every byte, the receiver records one event each")
    func throughput() async throws {
        let trace = try await run("bench.throughput", params: ["total_bytes": 1_048_576, "chunk_bytes": 4096])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(trace.run.limits.wallMs == 9000)
        let phases = trace.calls(.bench(.throughput), by: "receiver")
        #expect(phases.compactMap { $0.string(.mechanism) } == BenchMechanism.throughput.map(\.rawValue))
        for e in phases {
            #expect(e.result == 1_048_576 && e.int(.bytes) == 1_048_576)
            #expect((e.int(.elapsedNs) ?? 0) > 0)
            #expect(e.int(.chunkBytes) == 4096)
            #expect(e.int(.copiesPerByte) == (e.string(.mechanism) == "shm_ring" ? 1 : 2))
        }
        #expect(trace.calls(.bench(.mismatch)).isEmpty)
        let progress = trace.calls(.bench(.progress), by: "receiver")
        #expect(progress.count >= phases.count && progress.count <= 20 * phases.count)
        #expect(trace.calls(.bench(.progress), by: "sender").isEmpty)
        #expect(trace.observations.first { $0.id == "bench.throughput.moved" }?.holds == true)
        for p in trace.processes { #expect(p.exit == .code(0), "\(p.name)") }
    }

    @Test("bench.latency: every mechanism completes its round trips; min ≤ p50 ≤ p99 ≤ max")
    func latency() async throws {
        let trace = try await run("bench.latency", params: ["round_trips": 100, "placement": "same_cpu"])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        let phases = trace.calls(.bench(.latency), by: "pinger")
        #expect(phases.compactMap { $0.string(.mechanism) } == BenchMechanism.latency.map(\.rawValue))
        for e in phases {
            let figures = [.minNs, .p50Ns, .p99Ns, .maxNs].compactMap { e.int($0) }
            #expect(figures.count == 4 && figures == figures.sorted() && figures[0] > 0, "\(e.args)")
            #expect(e.result == 100)
            #expect(e.int(.cpu) == e.int(.peerCpu), "same_cpu pins both to one CPU")
        }
        for p in trace.processes { #expect(p.exit == .code(0), "\(p.name)") }
    }
}
