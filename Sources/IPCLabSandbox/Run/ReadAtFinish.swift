import CIPCLab
import IPCLabCore

/// A run's trace read at its init's finish, before the run is over: the init has written its last record
/// and reaped every other process, and has told the server so on an eventfd right after its done. The
/// spawner has still to take that done (the kernel's word that no process of the run is left) and to
/// write the cgroups' counters into the ring; the server reads the trace meanwhile, on the other core,
/// instead of after (docs/performance.md, "The trace read at the init's finish").
///
/// Such a trace is only a reading ahead. It is answered only when the run's end shows nothing it was
/// read without: the spawner took the done (so no process of the run was left to write the ring after
/// the init's finish; a run ended at its init's reap is read again), the ring's header ends as it was
/// read, and the counters the spawner wrote since give the same limit reasons as none did. Otherwise
/// the trace is read again from the ring, as every run's was before.
struct ReadAtFinish {
    /// The trace, with the observations and checks of a run that ended as the header read then says.
    let trace: Trace
    /// The ring's header as it was read (checked) before the trace.
    let header: RingHeader

    /// Whether the trace holds for a run whose ring's header, at its end, is `end`: the same records
    /// claimed and dropped, the same finish, outcome and failure, the same corruption (or none), and the
    /// same reasons from the kernel's evidence (``TraceBuilder/limitReasons(header:capacity:limits:processes:events:)``).
    func holds(at end: RingHeader, limits: RunLimits, capacity: UInt32) -> Bool {
        guard header.claimed == end.claimed, header.dropped == end.dropped, header.tEnd == end.tEnd,
              header.outcome == end.outcome, header.failedErrno == end.failedErrno, header.failure == end.failure,
              header.corruption == end.corruption else { return false }
        func reasons(_ h: RingHeader) -> [String] {
            TraceBuilder.limitReasons(header: h, capacity: capacity, limits: limits, processes: trace.processes, events: trace.events)
        }
        return reasons(header) == reasons(end)
    }
}
