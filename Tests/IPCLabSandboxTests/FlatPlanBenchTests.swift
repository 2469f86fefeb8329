import CIPCLab
import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// Measurement steps in the flat plan (ops 0x0Axx): the mechanisms whose channels the C runner has
/// (pipe, shm_ring, signal, semaphore) read back as their steps and load in the C validator, which
/// refuses each field broken alone; the socket and queue mechanisms keep a run on the Swift runner.
@Suite("Flat plan: measurements")
struct FlatPlanBenchTests {
    static let ported = ["pipe", "shm_ring", "signal", "semaphore"]

    static func scenario(_ id: String, _ mechanisms: [String], _ params: [String: JSONValue] = [:]) throws -> Scenario {
        var p = params
        p["mechanisms"] = .array(mechanisms.map { .string($0) })
        return try RunRequest.preset(id, params: .object(p)).scenario
    }

    @Test("bench.latency and bench.throughput over the ported mechanisms read back field for field; tcp, unix_stream and posix_mq are refused")
    func roundTrips() throws {
        let latency = try Self.scenario("bench.latency", Self.ported, ["round_trips": 50])
        let throughput = try Self.scenario("bench.throughput", ["pipe", "shm_ring"], ["total_bytes": 65536, "chunk_bytes": 4096])
        for s in [latency, throughput] {
            _ = try FlatPlanTests.roundTrip(s)
        }
        let bytes = try #require(FlatPlan.compile(latency, schedule: nil))
        let d = FlatPlanDecoder(bytes: bytes)
        let first = Int(d.u32(24))
        #expect(d.u16(first) == 0x0A03, "the pinger's first step is a ping")
        #expect(d.i64(first + 24) == 50 && d.i64(first + 40) == 0 && d.i32(first + 16) >= 0 && d.i32(first + 20) >= 0,
                "pipe: 50 round trips, a data and a reply channel")
        for other in ["tcp", "unix_stream", "posix_mq"] {
            let s = try Self.scenario("bench.latency", ["pipe", other], ["round_trips": 50])
            guard case .failure(let refusal) = FlatPlan.build(s, schedule: nil) else {
                Issue.record("\(other) compiled")
                continue
            }
            // Refused for its channel (a socket or queue) or for its step: either way, not on C.
            switch refusal {
            case .channel, .step: break
            default: Issue.record("\(other): \(refusal)")
            }
        }
    }

    @Test("The C validator loads the compiled plan and refuses each measurement field broken alone")
    func validator() throws {
        let plan = try #require(FlatPlan.compile(try Self.scenario("bench.latency", Self.ported, ["round_trips": 50]), schedule: nil))
        let h = CRunnerPlanTests.header(plan)
        // The pinger's first step (pipe, with a data and a reply channel), and a throughput plan's sender.
        let ping = { (body: (inout ipclab_plan_step) -> Void) in FlatPlanSignalsTests.breaking(plan, step: 0, body) }
        let pipe = Int32(0)
        let sync = Int16(h.nchannels) - 1
        let broken: [String: [UInt8]] = [
            "mechanism tcp": ping { $0.n.2 = 2 },
            "mechanism 7": ping { $0.n.2 = 7 },
            "cpu 1024": ping { $0.n.3 = 1024 },
            "cpu -2": ping { $0.n.3 = -2 },
            "no round trips": ping { $0.n.0 = 0 },
            "a chunk size on a ping": ping { $0.n.1 = 1 },
            "a million and one round trips": ping { $0.n.0 = 1_000_001 },
            "data channel out of range": ping { $0.reserved.0 = Int32(h.nchannels) },
            "data channel -2": ping { $0.reserved.0 = -2 },
            "the sync region as the data channel": ping { $0.reserved.0 = Int32(sync) },
            "reply channel out of range": ping { $0.reserved.1 = Int32(h.nchannels) },
            "a reply for shm_ring": ping { $0.n.2 = 4 },
            "a pipe as the sync region": ping { $0.channel = Int16(pipe) },
            "no sync region": ping { $0.channel = -1 },
            "a step flag": ping { $0.flags = 1 },
        ]
        let throughput = try #require(FlatPlan.compile(try Self.scenario("bench.throughput", ["pipe"], ["total_bytes": 65536, "chunk_bytes": 4096]),
                                                       schedule: nil))
        var all = broken
        all["a chunk of 0"] = FlatPlanSignalsTests.breaking(throughput, step: 0) { $0.n.1 = 0 }
        all["a chunk past 1 MiB"] = FlatPlanSignalsTests.breaking(throughput, step: 0) { $0.n.1 = (1 << 20) + 1 }
        all["no bytes"] = FlatPlanSignalsTests.breaking(throughput, step: 0) { $0.n.0 = 0 }
        let names = all.keys.sorted()
        let answers = try CRunnerPlanTests.verdicts([plan, throughput] + names.map { all[$0]! })
        #expect(Array(answers.prefix(2)) == ["Y", "Y"], "the compiled plans load")
        for (name, verdict) in zip(names, answers.dropFirst(2)) {
            #expect(verdict == "N", "\(name): \(verdict)")
        }
    }
}
