import Synchronization

/// How the traces of a runner's runs were read from their rings (``ReadAtFinish``): at the init's
/// finish and answered so, at the finish but read again after the run's end (it did not end as read),
/// or only after the end (no finish was said: a Swift init's run, a program run, a run streamed as it goes).
/// `GET /metrics` reports them as `ipclab_run_traces_total{read="at_finish"|"again"|"at_end"}`.
public final class TraceReadings: Sendable {
    /// Where a trace was read.
    public enum Reading: String, CaseIterable, Sendable {
        case atFinish = "at_finish"
        case again
        case atEnd = "at_end"
    }

    private let counts = Mutex([Reading: Int]())

    public init() {}

    /// One more trace read as `reading`.
    func count(_ reading: Reading) {
        counts.withLock { $0[reading, default: 0] += 1 }
    }

    /// How many traces were read as `reading` so far.
    public func count(of reading: Reading) -> Int {
        counts.withLock { $0[reading] ?? 0 }
    }

    /// The counter in the Prometheus text format, each reading on a line of its own (0 until one happens).
    public func render() -> String {
        let now = counts.withLock { $0 }
        return """
            # HELP ipclab_run_traces_total Run traces by where they were read from the run's ring: at the init's finish, at the finish and again after the end, or after the end only.
            # TYPE ipclab_run_traces_total counter

            """ + Reading.allCases.map { "ipclab_run_traces_total{read=\"\($0.rawValue)\"} \(now[$0] ?? 0)\n" }.joined()
    }
}
