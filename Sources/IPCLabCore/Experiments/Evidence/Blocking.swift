/// The one rule every "waits" / "blocks" observation is checked with.
///
/// A call *waited for* another event only when the trace brackets it: it began before that event
/// began and returned after it began. A call that began after the releasing event (the room was
/// already made) or returned before it (there was room) did not wait for it, however long it took.
/// Why it waited (the queue full, the pipe full, the value 0) is the object's recorded state, which
/// each observation checks beside this.
extension TraceEvent {
    /// Whether this call was still in the kernel when `release` began, having begun before it.
    public func blocked(until release: TraceEvent) -> Bool {
        guard returned, let end = endNs else { return false }
        return tNs < release.tNs && end > release.tNs
    }
}

extension Trace {
    /// The last snapshot of `object` taken at or before `time` (the state a call that began then found).
    public func state(of object: String, before time: Int64) -> ObjectSnapshot? {
        objects.filter { $0.object == object && $0.tNs <= time }.max { $0.tNs < $1.tNs }
    }
}

/// Why a waiting claim did or did not hold, in words, for an observation's detail.
public enum WaitVerdict {
    case waited(Int64)
    case noRelease
    case notFull(String)
    case didNotWait(startedAfterRelease: Bool)

    /// Judges `call` against the event that could have released it and whether the state said full.
    public static func judge(_ call: TraceEvent, release: TraceEvent?, full: Bool, state: String) -> WaitVerdict {
        guard let release else { return .noRelease }
        if !full { return .notFull(state) }
        if call.blocked(until: release) { return .waited(release.tNs - call.tNs) }
        return .didNotWait(startedAfterRelease: call.tNs >= release.tNs)
    }

    public var holds: Bool { if case .waited = self { true } else { false } }
}
