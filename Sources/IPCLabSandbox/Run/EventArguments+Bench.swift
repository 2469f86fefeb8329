import IPCLabCore

/// Argument names of the records a bench step makes (see `Participant+Bench.swift`): the
/// mechanism and the chunk size come from the step, the figures from the C loops.
extension EventArguments {
    func describeBenchCall(_ r: RawRecord) -> [(String, JSONValue)]? {
        guard let i = r.step, scenario.processes.indices.contains(r.process),
              scenario.processes[r.process].steps.indices.contains(i),
              case .bench(let step) = scenario.processes[r.process].steps[i] else { return nil }
        let a = r.args
        let mechanism: (String, JSONValue) = ("mechanism", .string(step.mechanism.rawValue))
        switch r.call {
        case "bench_throughput":
            var chunk: Int64 = 0
            if case .receive(let t) = step { chunk = Int64(t.chunkBytes) }
            return [mechanism, ("bytes", .integer(a[0])), ("chunk_bytes", .integer(chunk)), ("elapsed_ns", .integer(a[1])),
                    ("cpu_user_ns", .integer(a[2])), ("cpu_system_ns", .integer(a[3])),
                    ("peer_cpu_user_ns", .integer(a[4])), ("peer_cpu_system_ns", .integer(a[5])),
                    ("cpu", .integer(a[6])), ("peer_cpu", .integer(a[7])),
                    ("copies_per_byte", .integer(Int64(step.mechanism.copiesPerByte)))]
        case "bench_latency":
            return [mechanism, ("round_trips", .integer(a[0])), ("min_ns", .integer(a[1])), ("p50_ns", .integer(a[2])),
                    ("p99_ns", .integer(a[3])), ("max_ns", .integer(a[4])), ("cpu", .integer(a[5])), ("peer_cpu", .integer(a[6]))]
        case "progress":
            return [("bench", .string(step.bench)), mechanism, ("done", .integer(a[0])), ("total", .integer(a[1]))]
        case "sched_setaffinity":
            return [mechanism, ("cpu", .integer(a[1]))]
        case "ring_position":
            // EPROTO: the other side's position in the shm ring, read from the shared page, could not be
            // (the run overwrote it); the phase stopped before using it.
            return [mechanism, ("read", .integer(a[1])), ("position", .integer(a[2]))]
        case "bench_mismatch":
            return [mechanism, ("mismatched_lines", .integer(a[1]))]
        default:
            // A call of the loop that failed; its errno says why.
            return [mechanism]
        }
    }
}
