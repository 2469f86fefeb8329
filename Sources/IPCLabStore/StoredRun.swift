import Foundation
import IPCLabCore

/// A run as it is stored: its list fields and its JSON, compressed. Its text and Chrome trace are
/// made from that JSON when read (``Trace/init(json:)``), byte for byte what the run's own answer in
/// that format was: the run's thread renders the trace once, and the JSON it answered is what it stores.
/// (Runs stored before kept all three formats; those are read as they were stored.)
public struct StoredRun: Sendable {
    /// The formats a run has, as `?format=` names them.
    public enum Format: String, Sendable, CaseIterable {
        case json, text, chrome
    }

    public var summary: RunSummary
    /// The compressed bytes of each format stored (see `TraceCompression`): the JSON, and the others only when given.
    var blobs: [Format: [UInt8]]

    /// Compresses `trace`'s JSON: `json`, the bytes its answer already rendered (so that what is stored
    /// is byte for byte what was sent, and the trace is not rendered twice), else rendered here.
    public init(_ trace: Trace, json: [UInt8]? = nil, storedAt: Double) {
        blobs = [.json: TraceCompression.compress(json ?? trace.json())]
        summary = RunSummary(id: trace.run.id, experiment: trace.run.experiment, outcome: trace.run.outcome.rawValue,
                             startedAt: trace.run.startedAt, durationNs: Int(trace.run.durationNs), storedAt: storedAt,
                             bytes: blobs.values.reduce(0) { $0 + $1.count })
    }

    /// A run from its list fields and its rendered formats (tests, and stores that did not render
    /// them); a format left out is made from the JSON when read.
    public init(summary: RunSummary, formats: [Format: [UInt8]]) {
        blobs = formats.mapValues(TraceCompression.compress)
        if blobs[.json] == nil { blobs[.json] = TraceCompression.compress([]) }
        self.summary = summary
        self.summary.bytes = blobs.values.reduce(0) { $0 + $1.count }
    }

    /// A run as the journal kept it: its summary and its blobs, already compressed (``StoreJournal``).
    init(summary: RunSummary, blobs: [Format: [UInt8]]) {
        self.summary = summary
        self.blobs = blobs
    }

    /// The stored blob of a format made from the JSON when read: empty (a compressed blob never is).
    static let derived: [UInt8] = []
}

/// What a run list shows of a stored run.
public struct RunSummary: Sendable, Equatable {
    public var id: String
    /// The preset's id; nil for a custom scenario.
    public var experiment: String?
    public var outcome: String
    /// RFC 3339, as in the trace's `run.started_at`.
    public var startedAt: String
    public var durationNs: Int
    /// When the store wrote it, in seconds since 1970 (what retention by days reads).
    public var storedAt: Double
    /// The compressed size of its formats together (what retention by bytes counts).
    public var bytes: Int

    public init(id: String, experiment: String?, outcome: String, startedAt: String, durationNs: Int,
                storedAt: Double, bytes: Int) {
        self.id = id
        self.experiment = experiment
        self.outcome = outcome
        self.startedAt = startedAt
        self.durationNs = durationNs
        self.storedAt = storedAt
        self.bytes = bytes
    }

    /// `{"id", "experiment", "outcome", "started_at", "duration_ns", "stored_at", "bytes"}`.
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("id", id)
            w.field("experiment", experiment)
            w.field("outcome", outcome)
            w.field("started_at", startedAt)
            w.field("duration_ns", durationNs)
            w.field("stored_at", RunSummary.rfc3339(storedAt))
            w.field("bytes", bytes)
        }
    }

    /// `seconds` since 1970 as RFC 3339 UTC with milliseconds.
    static func rfc3339(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds)
            .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// One page of `GET /api/v1/runs`: newest first, and the cursor of the next page.
public struct RunPage: Sendable {
    public var runs: [RunSummary]
    /// The id to pass as `before` for the next (older) page; nil on the last page.
    public var next: String?

    public init(runs: [RunSummary], next: String?) {
        self.runs = runs
        self.next = next
    }

    /// `{"runs": [...], "next": ID | null}`.
    public func json() -> [UInt8] {
        var w = JSONWriter()
        w.object { w in
            w.key("runs")
            w.array { w in for run in runs { run.write(to: &w) } }
            w.field("next", next)
        }
        return w.bytes
    }
}
