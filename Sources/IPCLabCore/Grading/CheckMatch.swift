/// Which events a check is about: `{"process","call","channel","result","errno","data_contains",
/// "blocked_ms_at_least"}`, every field optional but `call`. An event matches when it agrees
/// with every field given.
public struct CheckMatch: Sendable, Equatable {
    public var process: String?
    public var call: String
    public var channel: String?
    public var result: Int64?
    public var errno: String?
    /// A substring of the bytes the call moved (its payload preview, as text).
    public var dataContains: String?
    /// The call blocked at least this long (a call still blocked when the run ended counts
    /// until the end of the run).
    public var blockedMsAtLeast: Double?

    public init(process: String? = nil, call: String, channel: String? = nil, result: Int64? = nil, errno: String? = nil,
                dataContains: String? = nil, blockedMsAtLeast: Double? = nil) {
        self.process = process
        self.call = call
        self.channel = channel
        self.result = result
        self.errno = errno
        self.dataContains = dataContains
        self.blockedMsAtLeast = blockedMsAtLeast
    }

    /// Reads a match object at `path`.
    public static func decode(_ value: JSONValue, at path: JSONPath) throws(LabError) -> CheckMatch {
        var r = try JSONObjectReader(value, at: path, code: .invalidRequest)
        let call = try r.requiredString("call")
        if call.isEmpty { throw r.fail("call", "must not be empty") }
        var match = CheckMatch(call: call)
        match.process = try r.string("process")
        match.channel = try r.string("channel")
        if let v = r.value("result") {
            guard case .integer(let i) = v else { throw r.fail("result", "must be an integer, not \(v.typeName)") }
            match.result = i
        }
        match.errno = try r.string("errno")
        match.dataContains = try r.string("data_contains")
        if let v = r.value("blocked_ms_at_least") {
            switch v {
            case .integer(let i) where i >= 0: match.blockedMsAtLeast = Double(i)
            case .double(let d) where d >= 0 && d.isFinite: match.blockedMsAtLeast = d
            default: throw r.fail("blocked_ms_at_least", "must be a number of milliseconds ≥ 0")
            }
        }
        try r.finish()
        return match
    }

    /// Whether `event` (of a run that lasted `runEndNs`) agrees with every field.
    public func matches(_ event: TraceEvent, runEndNs: Int64) -> Bool {
        guard event.call == call else { return false }
        if let process, event.process != process { return false }
        if let channel, event.channel != channel { return false }
        if let result, event.result != result { return false }
        if let errno, event.errno != errno { return false }
        if let dataContains {
            guard let payload = event.payload, payload.text.contains(dataContains) else { return false }
        }
        if let blockedMsAtLeast {
            guard event.canBlock else { return false }
            let blocked = (event.endNs ?? runEndNs) - event.tNs
            guard Double(blocked) >= blockedMsAtLeast * 1e6 else { return false }
        }
        return true
    }

    /// The events of `trace` that match, in order.
    public func events(in trace: Trace) -> [TraceEvent] {
        trace.events.filter { matches($0, runEndNs: trace.run.durationNs) }
    }

    /// The match in words, for messages: `sem_wait by consumer on full`.
    public var description: String {
        var s = call
        if let process { s += " by \(process)" }
        if let channel { s += " on \(channel)" }
        var extra: [String] = []
        if let result { extra.append("result \(result)") }
        if let errno { extra.append("errno \(errno)") }
        if let dataContains { extra.append("data containing \"\(dataContains)\"") }
        if let blockedMsAtLeast { extra.append("blocked ≥ \(Self.ms(blockedMsAtLeast)) ms") }
        return extra.isEmpty ? s : s + " (" + extra.joined(separator: ", ") + ")"
    }

    /// The match as JSON (as it was given).
    public var json: JSONValue {
        var o: [String: JSONValue] = ["call": .string(call)]
        if let process { o["process"] = .string(process) }
        if let channel { o["channel"] = .string(channel) }
        if let result { o["result"] = .integer(result) }
        if let errno { o["errno"] = .string(errno) }
        if let dataContains { o["data_contains"] = .string(dataContains) }
        if let blockedMsAtLeast { o["blocked_ms_at_least"] = .double(blockedMsAtLeast) }
        return .object(o)
    }

    static func ms(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }
}
