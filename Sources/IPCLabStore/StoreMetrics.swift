import Synchronization

/// The store's counters for `GET /metrics`: runs and bytes stored now, runs stored, failed and
/// deleted by retention since start, and a histogram of how long a store took (queue and commit).
public final class StoreMetrics: Sendable {
    /// Upper bounds of the store-latency histogram's buckets, in seconds.
    static let buckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

    /// The counters at one moment.
    public struct Snapshot: Sendable {
        public var runs = 0
        public var bytes = 0
        public var storedTotal = 0
        public var failedTotal = 0
        public var pruned = 0
        var bucketCounts = [Int](repeating: 0, count: StoreMetrics.buckets.count)
        var sum = 0.0
        var count = 0
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func set(runs: Int, bytes: Int) {
        state.withLock { $0.runs = runs; $0.bytes = bytes }
    }

    /// A run was inserted (in the transaction not yet committed).
    func added(bytes: Int) {
        state.withLock { s in
            s.runs += 1
            s.bytes += bytes
        }
    }

    /// A run's commit is done, `seconds` after it was handed to the writer.
    func stored(seconds: Double) {
        state.withLock { s in
            s.storedTotal += 1
            s.sum += seconds
            s.count += 1
            for (i, bound) in StoreMetrics.buckets.enumerated() where seconds <= bound { s.bucketCounts[i] += 1 }
        }
    }

    func failed() {
        state.withLock { $0.failedTotal += 1 }
    }

    /// Runs left the store: deleted by retention, or (`byRetention` false) never committed.
    func pruned(runs: Int, bytes: Int, byRetention: Bool = true) {
        state.withLock { s in
            s.runs -= runs
            s.bytes -= bytes
            if byRetention { s.pruned += runs }
        }
    }

    /// The Prometheus text lines, each family with its HELP and TYPE.
    public func render() -> String {
        let s = snapshot
        var out = """
            # HELP ipclab_stored_runs Runs in the store now.
            # TYPE ipclab_stored_runs gauge
            ipclab_stored_runs \(s.runs)
            # HELP ipclab_stored_bytes Bytes the stored runs' compressed traces take.
            # TYPE ipclab_stored_bytes gauge
            ipclab_stored_bytes \(s.bytes)
            # HELP ipclab_store_writes_total Runs stored since start.
            # TYPE ipclab_store_writes_total counter
            ipclab_store_writes_total \(s.storedTotal)
            # HELP ipclab_store_failures_total Runs that could not be stored (answered 503) since start.
            # TYPE ipclab_store_failures_total counter
            ipclab_store_failures_total \(s.failedTotal)
            # HELP ipclab_store_pruned_total Runs deleted by retention since start.
            # TYPE ipclab_store_pruned_total counter
            ipclab_store_pruned_total \(s.pruned)
            # HELP ipclab_store_duration_seconds Time to store a run: waiting for the writer, then the commit.
            # TYPE ipclab_store_duration_seconds histogram

            """
        for (i, bound) in Self.buckets.enumerated() {
            out += "ipclab_store_duration_seconds_bucket{le=\"\(bound)\"} \(s.bucketCounts[i])\n"
        }
        out += "ipclab_store_duration_seconds_bucket{le=\"+Inf\"} \(s.count)\n"
        out += "ipclab_store_duration_seconds_sum \(s.sum)\n"
        out += "ipclab_store_duration_seconds_count \(s.count)\n"
        return out
    }
}
