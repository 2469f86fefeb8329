import CIPCLab

/// A run's ring header as the server reads it: copied once out of the shared mapping, then checked
/// against what the server itself wrote there. A run can overwrite any byte of it; nothing here is
/// used as a bound before it is checked, and a header that does not hold what the server wrote is
/// reported as ``corruption`` (the run then ends with outcome `error` and that reason).
struct RingHeader {
    /// Records claimed (the header's `next`), at most the ring's capacity.
    var claimed: Int
    /// Records the ring was too full to hold (the header's `dropped`).
    var dropped: Int
    /// Nanoseconds from the run's start to its init's finish; nil when the init never finished.
    var tEnd: Int64?
    var outcome: ipclab_outcome
    var failedErrno: Int32
    /// What failed, when the init says the run ended in error.
    var failure: String
    /// What the spawner read from the run's cgroups (it writes them after the run's last process is gone).
    var evidence: ipclab_run_evidence
    /// What was overwritten, naming each field and the value found, when the header does not hold
    /// what the server wrote (or holds a value no recorder can produce); nil when it is intact.
    var corruption: String?

    /// The largest `dropped` a run can reach: one failed claim per nanosecond for the longest wall-clock
    /// limit would not come near it.
    static let maxDropped: UInt64 = 1 << 40
    /// The largest time in a ring (ns from the run's start): about 2.3 years.
    static let maxTime: Int64 = 1 << 56
}

extension EventRing {
    /// Copies the header once and checks it (see ``RingHeader``).
    func readHeader() -> RingHeader {
        let h = header.pointee
        var wrong: [String] = []
        func check(_ name: String, _ found: some BinaryInteger, _ made: some BinaryInteger) {
            if found != made { wrong.append("\(name)=\(found) (the server wrote \(made))") }
        }
        check("magic", h.magic, IPCLAB_RING_MAGIC)
        check("version", h.version, IPCLAB_RING_VERSION)
        check("capacity", h.capacity, capacity)
        check("records_offset", h.records_offset, ipclab_ring_records_offset())
        check("plan_offset", h.plan_offset, planOffset)
        check("plan_capacity", h.plan_capacity, planCapacity)
        check("plan_length", h.plan_length, planLength)
        if !withUnsafeBytes(of: h.limits, { a in withUnsafeBytes(of: limits) { b in a.elementsEqual(b) } }) {
            wrong.append("limits (the server wrote wall_ms=\(limits.wall_ms), found \(h.limits.wall_ms))")
        }
        // A recorder claims a record only below the capacity, so `next` never passes it.
        if h.next > UInt64(capacity) { wrong.append("next=\(h.next) (the ring has \(capacity) records)") }
        if h.dropped > RingHeader.maxDropped { wrong.append("dropped=\(h.dropped)") }
        if h.t_end < 0 || h.t_end > RingHeader.maxTime { wrong.append("t_end=\(h.t_end)") }
        let outcome = ipclab_outcome(rawValue: UInt32(bitPattern: h.outcome))
        let outcomes: [ipclab_outcome] = [IPCLAB_OUTCOME_RUNNING, IPCLAB_OUTCOME_OK, IPCLAB_OUTCOME_TIMEOUT,
                                          IPCLAB_OUTCOME_LIMIT, IPCLAB_OUTCOME_ERROR]
        if !outcomes.contains(outcome) { wrong.append("outcome=\(h.outcome)") }
        let failure = withUnsafeBytes(of: h.failure) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return RingHeader(
            claimed: Int(min(h.next, UInt64(capacity))),
            dropped: Int(min(h.dropped, RingHeader.maxDropped)),
            tEnd: h.t_end > 0 && h.t_end <= RingHeader.maxTime ? h.t_end : nil,
            outcome: outcomes.contains(outcome) ? outcome : IPCLAB_OUTCOME_ERROR,
            failedErrno: h.failed_errno, failure: failure, evidence: h.evidence,
            corruption: wrong.isEmpty ? nil : "the event ring's header was overwritten: " + wrong.joined(separator: ", "))
    }
}
