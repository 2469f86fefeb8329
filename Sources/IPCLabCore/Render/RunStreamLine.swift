/// One line of a run streamed as NDJSON (`POST /api/v1/runs` with
/// `Accept: application/x-ndjson`; `openapi.yaml`, schema `RunStreamLine`): an event as
/// soon as the ring holds it complete, a progress report for each `progress` event, and the
/// whole trace last (or an error, should the run not start once the stream has begun).
public enum RunStreamLine: Sendable {
    /// `{"type": "event", "event": <TraceEvent>}`: its `seq` is provisional.
    case event(TraceEvent)
    /// `{"type": "progress", "process", "bench", "mechanism", "done", "total", "percent"}`.
    case progress(Progress)
    /// `{"type": "trace", "trace": <Trace>}`: the last line of a run that ran.
    case trace(Trace)
    /// `{"type": "error", "error": {"code", "message"}}`: the last line of a run that could not run.
    case error(LabError)

    /// A long phase's report of how far it is, from a `progress` event
    /// (args `bench`, `mechanism`, `done`, `total`; result: percent done).
    public struct Progress: Sendable, Equatable {
        public var process: String
        public var bench: String
        public var mechanism: String
        public var done: Int64
        public var total: Int64
        public var percent: Int64

        /// The report a `progress` event makes; nil for any other event, or one that did not return.
        public init?(_ event: TraceEvent) {
            guard event.call == "progress", let percent = event.result else { return nil }
            process = event.process
            bench = event.string(.bench) ?? ""
            mechanism = event.string(.mechanism) ?? ""
            done = event.int(.done) ?? 0
            total = event.int(.total) ?? 0
            self.percent = percent
        }
    }

    /// The lines an event makes: its event line and, for a `progress` event, a progress line.
    public static func lines(for event: TraceEvent) -> [RunStreamLine] {
        guard let progress = Progress(event) else { return [.event(event)] }
        return [.event(event), .progress(progress)]
    }

    /// The line as compact JSON, ending in `\n`.
    public func ndjson() -> [UInt8] {
        switch self {
        case .event(let event):
            JSONWriter.streamLine("event") { w in w.key("event"); event.write(to: &w) }
        case .progress(let p):
            JSONWriter.streamLine("progress") { w in
                w.field("process", p.process)
                w.field("bench", p.bench)
                w.field("mechanism", p.mechanism)
                w.field("done", p.done)
                w.field("total", p.total)
                w.field("percent", p.percent)
            }
        case .trace(let trace):
            JSONWriter.streamLine("trace", capacity: 4096) { w in w.key("trace"); trace.write(to: &w) }
        case .error(let error):
            error.streamLine()
        }
    }
}
