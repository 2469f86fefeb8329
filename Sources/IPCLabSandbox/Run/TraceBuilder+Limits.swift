import CIPCLab
import IPCLabCore

extension TraceBuilder {
    /// The limits the kernel's own evidence shows the run hit, each as a reason starting
    /// `limit <name>: `, in a fixed order (processes, memory, cpu, file_bytes, open_files, events).
    /// Evidence is only what the kernel said: the cgroups' counters (read by the spawner after the
    /// run), how processes died (SIGXCPU, SIGXFSZ), and the errnos the run's calls got (EMFILE,
    /// EFBIG, ENOMEM under RLIMIT_AS). Nothing is inferred from what the scenario meant to do.
    static func limitReasons(header: RingHeader, capacity: UInt32, limits: RunLimits, processes: [TraceProcess],
                             events: [TraceEvent]) -> [String] {
        let evidence = header.evidence
        var reasons: [String] = []
        func failed(_ err: String) -> TraceEvent? { events.first { $0.errno == err } }
        func cpuMs(_ p: TraceProcess) -> String {
            String(format: "%.0f", Double((p.userCPUNs ?? 0) + (p.systemCPUNs ?? 0)) / 1e6)
        }
        func died(of signal: String) -> [TraceProcess] {
            processes.filter { $0.exit == .signal(name: signal, coreDumped: false) || $0.exit == .signal(name: signal, coreDumped: true) }
        }

        if evidence.cgroups & Int32(IPCLAB_CGROUP_PIDS) != 0, evidence.pids_max_events > 0 {
            let fork = failed("EAGAIN").map { " (first: \($0.process)'s \($0.call) got EAGAIN)" } ?? ""
            reasons.append("limit processes: the run's pids cgroup refused \(evidence.pids_max_events) fork(s) at its limit of \(limits.processes) processes\(fork)")
        }
        if evidence.cgroups & Int32(IPCLAB_CGROUP_MEMORY) != 0 {
            let stats = "peak \(evidence.memory_peak) bytes, \(evidence.memory_failcnt) charge(s) over the limit"
            if evidence.memory_oom_kills > 0 {
                let killed = died(of: "SIGKILL").map(\.name)
                reasons.append("limit memory: the OOM killer ended \(evidence.memory_oom_kills) process(es) of the run at its memory cgroup limit of \(limits.memoryBytes) bytes (\(stats))"
                               + (killed.isEmpty ? "" : "; killed by SIGKILL: " + killed.joined(separator: ", ")))
            } else if evidence.memory_failcnt > 0, let e = failed("ENOMEM") {
                reasons.append("limit memory: \(e.process)'s \(e.call) got ENOMEM at the run's memory cgroup limit of \(limits.memoryBytes) bytes (\(stats))")
            }
        } else if let e = events.first(where: { $0.errno == "ENOMEM" && $0.call == "allocate" }) {
            reasons.append("limit memory: \(e.process)'s mmap got ENOMEM under RLIMIT_AS (no memory cgroup on this host; the run's memory_bytes is \(limits.memoryBytes))")
        }
        let backstopNs = Int64((limits.cpuMs + 999) / 1000 + 2) * 1_000_000_000
        let cpuKilled = died(of: "SIGXCPU") + processes.filter {
            $0.exit == .signal(name: "SIGKILL", coreDumped: false) && ($0.userCPUNs ?? 0) + ($0.systemCPUNs ?? 0) >= backstopNs - 10_000_000
        }
        if let p = cpuKilled.first {
            let how = p.exit == .signal(name: "SIGKILL", coreDumped: false) ? "SIGKILL (the RLIMIT_CPU hard limit)" : "SIGXCPU"
            reasons.append("limit cpu: \(p.name) was killed by \(how) after \(cpuMs(p)) ms of CPU time, at the run's limit of \(limits.cpuMs) ms per process")
        }
        if let p = died(of: "SIGXFSZ").first {
            reasons.append("limit file_bytes: \(p.name) was killed by SIGXFSZ writing past the run's limit of \(limits.fileBytes) bytes per file")
        } else if let e = failed("EFBIG") {
            reasons.append("limit file_bytes: \(e.process)'s \(e.call) got EFBIG at the run's limit of \(limits.fileBytes) bytes per file")
        } else if let e = events.first(where: { $0.errno == "ENOSPC" && $0.call == "write_file" }) {
            // The run's /tmp is a tmpfs of file_bytes ("size /tmp N" in the set-up).
            reasons.append("limit file_bytes: \(e.process)'s \(e.call) got ENOSPC: the run's /tmp holds \(limits.fileBytes) bytes (file_bytes) in all")
        }
        // mq_open's EMFILE is also the kernel's answer for RLIMIT_MSGQUEUE (queue memory, shared by every
        // run's uid), not the run's open_files: it is no evidence that this limit fired.
        if let e = events.first(where: { $0.errno == "EMFILE" && $0.call != "mq_open" }) {
            reasons.append("limit open_files: \(e.process)'s \(e.call) got EMFILE at the run's limit of \(limits.openFiles) descriptors per process")
        }
        if header.dropped > 0 {
            reasons.append("limit events: the run recorded more than its \(Int(capacity) - Int(IPCLAB_INIT_RESERVE)) trace records; \(header.dropped) were dropped")
        }
        return reasons
    }
}
