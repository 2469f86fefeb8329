import Synchronization

/// What `GET /metrics` reports, in the Prometheus text exposition format (0.0.4): runs by
/// experiment and outcome, a histogram of how long runs took to serve, runs in progress,
/// the run queue's depth (in all and by client), the response budget held and the runs that
/// waited for it, and rejected run requests by reason.
public final class LabMetrics: Sendable {
    /// Upper bounds of the duration histogram's buckets, in seconds.
    static let buckets: [Double] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct State {
        var runs: [RunKey: Int] = [:]
        var bucketCounts = [Int](repeating: 0, count: LabMetrics.buckets.count)
        var sum = 0.0
        var count = 0
        var active = 0
        var rejections: [String: Int] = [:]
        var httpRefusals: [String: Int] = [:]
    }

    private struct RunKey: Hashable, Comparable {
        var experiment: String
        var outcome: String
        static func < (a: RunKey, b: RunKey) -> Bool { (a.experiment, a.outcome) < (b.experiment, b.outcome) }
    }

    private let state = Mutex(State())

    public init() {}

    /// A run begins on an executor thread.
    public func runStarted() {
        state.withLock { $0.active += 1 }
    }

    /// A run ended with a trace (`outcome`), or without one (`outcome` nil: it was refused).
    public func runFinished(experiment: String?, outcome: String?, seconds: Double) {
        state.withLock { s in
            s.active -= 1
            guard let outcome else { return }
            s.runs[RunKey(experiment: experiment ?? "custom", outcome: outcome), default: 0] += 1
            s.sum += seconds
            s.count += 1
            for (i, bound) in LabMetrics.buckets.enumerated() where seconds <= bound { s.bucketCounts[i] += 1 }
        }
    }

    /// Counts one run around `work`: active while it runs, then finished with the outcome `work`
    /// sets (left nil when it produced no trace), timed for the duration histogram.
    public func countRun<Result>(experiment: String?, _ work: (_ outcome: inout String?) -> Result) -> Result {
        runStarted()
        let clock = ContinuousClock.now
        var outcome: String?
        defer {
            let elapsed = ContinuousClock.now - clock
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            runFinished(experiment: experiment, outcome: outcome, seconds: seconds)
        }
        return work(&outcome)
    }

    /// A run request answered without a run: the error code (`invalid_parameter`, …), or `queue_full`,
    /// `client_limit`, `queue_wait` or `stopping` (``RunExecutor/Rejection``).
    public func rejected(reason: String) {
        state.withLock { $0.rejections[reason, default: 0] += 1 }
    }

    /// A request or connection the HTTP server turned away itself (``HTTPServer``'s
    /// `refused`): `bad_request`, `not_implemented`, `per_ip_limit`, `head_timeout`,
    /// `body_too_slow`.
    public func httpRefused(reason: String) {
        state.withLock { $0.httpRefusals[reason, default: 0] += 1 }
    }

    /// The exposition, with the executor's queue (in all and by client) and response budget
    /// at this moment.
    public func render(_ executor: RunExecutor.Snapshot, budgetBytes: Int?) -> String {
        let queued = executor.queued
        let s = state.withLock { $0 }
        var out = ""
        func line(_ text: String) { out += text + "\n" }
        line("# HELP ipclab_runs_total Runs that produced a trace, by experiment (custom for a scenario) and outcome.")
        line("# TYPE ipclab_runs_total counter")
        for (key, n) in s.runs.sorted(by: { $0.key < $1.key }) {
            line("ipclab_runs_total{experiment=\"\(Self.escape(key.experiment))\",outcome=\"\(key.outcome)\"} \(n)")
        }
        line("# HELP ipclab_run_duration_seconds Time to serve a run, from the start of its sandbox to its trace.")
        line("# TYPE ipclab_run_duration_seconds histogram")
        for (bound, n) in zip(LabMetrics.buckets, s.bucketCounts) {
            line("ipclab_run_duration_seconds_bucket{le=\"\(bound)\"} \(n)")
        }
        line("ipclab_run_duration_seconds_bucket{le=\"+Inf\"} \(s.count)")
        line("ipclab_run_duration_seconds_sum \(s.sum)")
        line("ipclab_run_duration_seconds_count \(s.count)")
        line("# HELP ipclab_runs_active Runs in progress.")
        line("# TYPE ipclab_runs_active gauge")
        line("ipclab_runs_active \(s.active)")
        line("# HELP ipclab_run_queue_depth Run requests waiting for a run thread.")
        line("# TYPE ipclab_run_queue_depth gauge")
        line("ipclab_run_queue_depth \(queued)")
        line("# HELP ipclab_client_runs Run requests of each client (address, or key:<name>) with any running or waiting, by state.")
        line("# TYPE ipclab_client_runs gauge")
        for (client, load) in executor.clients.sorted(by: { $0.key < $1.key }) where load.running + load.queued > 0 {
            line("ipclab_client_runs{client=\"\(Self.escape(client))\",state=\"running\"} \(load.running)")
            line("ipclab_client_runs{client=\"\(Self.escape(client))\",state=\"queued\"} \(load.queued)")
        }
        line("# HELP ipclab_response_bytes_in_flight Bytes of the response budget held by running runs and responses not yet sent.")
        line("# TYPE ipclab_response_bytes_in_flight gauge")
        line("ipclab_response_bytes_in_flight \(executor.heldBytes)")
        line("# HELP ipclab_response_budget_bytes The response budget (--response-budget-mb); 0: none.")
        line("# TYPE ipclab_response_budget_bytes gauge")
        line("ipclab_response_budget_bytes \(budgetBytes ?? 0)")
        line("# HELP ipclab_response_budget_waits_total Runs that had to wait for the response budget before they could start.")
        line("# TYPE ipclab_response_budget_waits_total counter")
        line("ipclab_response_budget_waits_total \(executor.budgetWaits)")
        line("# HELP ipclab_runs_answered_inline_total Runs run and answered on the HTTP thread that received them (it served no other connection), not handed to a run thread.")
        line("# TYPE ipclab_runs_answered_inline_total counter")
        line("ipclab_runs_answered_inline_total \(executor.answeredHere)")
        line("# HELP ipclab_run_rejections_total Run requests answered without a run, by reason (error code, or queue_full, client_limit, queue_wait, stopping).")
        line("# TYPE ipclab_run_rejections_total counter")
        for (reason, n) in s.rejections.sorted(by: { $0.key < $1.key }) {
            line("ipclab_run_rejections_total{reason=\"\(Self.escape(reason))\"} \(n)")
        }
        line("# HELP ipclab_http_refusals_total Requests and connections the HTTP server turned away itself, by reason (bad_request, not_implemented, per_ip_limit, head_timeout, body_too_slow).")
        line("# TYPE ipclab_http_refusals_total counter")
        for (reason, n) in s.httpRefusals.sorted(by: { $0.key < $1.key }) {
            line("ipclab_http_refusals_total{reason=\"\(Self.escape(reason))\"} \(n)")
        }
        return out
    }

    /// A label value with `\`, `"` and newlines escaped, as the format requires.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
