import CIPCLab
import Glibc
import IPCLabCore

/// Bench steps: one side of a throughput or latency phase, run by the C loops of `bench.c`
/// with the descriptors and the sync region this process inherited.
///
/// Event args (named in `EventArguments+Bench.swift`): `bench_throughput` [bytes, elapsed_ns,
/// cpu_user_ns, cpu_system_ns, peer_cpu_user_ns, peer_cpu_system_ns, cpu, peer_cpu];
/// `bench_latency` [round_trips, min_ns, p50_ns, p99_ns, max_ns, cpu, peer_cpu];
/// `progress` [done, total]; a failed call [mechanism].
extension Participant {
    mutating func runBenchStep(_ step: BenchStep, at i: Int) {
        let sync = ends[channelIndex(step.sync)]
        guard let region = sync.address else {
            // The region's mmap failed when the first process created it (that failure is in the trace).
            Recorder.record(IPCLAB_REC_EVENT, step.op, step: i, args: [Int64(step.mechanism.number)], result: -1, errno: EFAULT)
            return
        }
        var spec = ipclab_bench_spec()
        spec.mechanism = step.mechanism.number
        spec.role = step.initiates ? 0 : 1
        spec.step = Int32(i)
        spec.fd = -1
        spec.fd2 = -1
        spec.sync = region
        spec.sync_size = Int64(sync.size)
        spec.cpu = Int32(step.cpu ?? -1)
        if let name = step.channel {
            let c = channelIndex(name)
            let e = ends[c]
            switch scenario.channels[c].spec {
            case .pipe:
                spec.fd = step.initiates ? e.write : e.read
            case .socket(.tcp(let address, let port)):
                spec.tcp_address = address.value
                spec.tcp_port = Int32(port)
            case .socket:
                // socketpair: the first process holds sv[0], the others sv[1].
                spec.fd = index == 0 ? Int32(e.handle) : e.write
            default:
                spec.fd = Int32(e.handle)
            }
        }
        if let name = step.reply {
            let e = ends[channelIndex(name)]
            switch step.mechanism {
            case .pipe: spec.fd2 = step.initiates ? e.read : e.write
            default: spec.fd2 = Int32(e.handle)
            }
        }
        switch step {
        case .send(let t), .receive(let t):
            spec.total_bytes = Int64(t.totalBytes)
            spec.chunk_bytes = Int64(t.chunkBytes)
            _ = ipclab_bench_throughput(&spec)
        case .ping(let t), .pong(let t):
            spec.round_trips = Int64(t.roundTrips)
            _ = ipclab_bench_latency(&spec)
        }
    }
}
