/// The figures the throughput observations print, from a `bench_throughput` event.
extension BenchThroughput {
    /// GiB per second: bytes over elapsed time.
    static func gibps(_ e: TraceEvent) -> Double {
        let ns = Double(e.int(.elapsedNs) ?? 0)
        return ns > 0 ? Double(e.int(.bytes) ?? 0) / ns * 1e9 / 1_073_741_824 : 0
    }

    static func rate(_ e: TraceEvent) -> String { String(format: "%.2f GiB/s", gibps(e)) }

    static func bytes(_ n: Int64) -> String {
        n >= 1_048_576 ? String(format: "%.0f MiB", Double(n) / 1_048_576) : "\(n) bytes"
    }

    /// CPU time of both sides (user and system) per MiB moved, in microseconds.
    static func cpuPerMiB(_ e: TraceEvent) -> Double {
        let cpu = [.cpuUserNs, .cpuSystemNs, .peerCpuUserNs, .peerCpuSystemNs].reduce(Int64(0)) { $0 + (e.int($1) ?? 0) }
        let mib = Double(e.int(.bytes) ?? 0) / 1_048_576
        return mib > 0 ? Double(cpu) / 1000 / mib : 0
    }

    /// The part of both sides' CPU time spent in the kernel.
    static func kernelShare(_ e: TraceEvent) -> Double {
        let system = Double((e.int(.cpuSystemNs) ?? 0) + (e.int(.peerCpuSystemNs) ?? 0))
        let user = Double((e.int(.cpuUserNs) ?? 0) + (e.int(.peerCpuUserNs) ?? 0))
        return system + user > 0 ? system / (system + user) : 0
    }
}
