/// A trace read back from its JSON (``json(pretty:)``'s bytes), for its other renderings: a stored
/// run keeps only the JSON its answer sent, and its text (``text()``) and Chrome trace
/// (``chromeJSON()``) are made from that on request, byte for byte what the run's own would have been.
///
/// It reads every field those two renderings read: the run's id, experiment, times, outcome, reason
/// and tracer; the processes; the events (their `args` in their order); the transfers; the
/// observations; the checks. What they do not read is left empty (the scenario, the limits, the
/// sandbox's report, the object snapshots, a deadlock's or a schedule's detail, the compiler's
/// diagnostics): the JSON itself is kept as it was sent, never rendered again from this.
extension Trace {
    /// Reads `bytes`, a trace's JSON. Throws `invalid_json` when they are not one.
    public init(json bytes: [UInt8]) throws(LabError) {
        do {
            self = try bytes.withUnsafeBufferPointer { buffer in
                try JSONParser.read(buffer) { p in try TraceDecoder.trace(&p) }
            }
        } catch let error as LabError {
            throw error
        } catch let failure as JSONParser.Failure {
            throw LabError(.invalidJSON, "not a trace's JSON: \(failure.message) at byte \(failure.offset)")
        } catch {
            throw LabError(.invalidJSON, "not a trace's JSON: \(error)")
        }
    }
}

/// The reading behind ``Trace/init(json:)``, in the order ``Trace/write(to:)`` writes.
private enum TraceDecoder {
    static func trace(_ p: inout JSONParser) throws -> Trace {
        var run: RunInfo?
        var processes: [TraceProcess] = []
        var events: [TraceEvent] = []
        var transfers: [Transfer] = []
        var observations: [Observation] = []
        var checks: [CheckResult]?
        try p.fields { p, key in
            switch key {
            case "run": run = try runInfo(p.next())
            case "processes": processes = try p.next().items.map(process)
            case "events":
                try p.items { p in events.append(try event(&p)) }
            case "transfers": transfers = try p.next().items.map(transfer)
            case "observations": observations = try p.next().items.map(observation)
            case "checks": checks = try p.next().items.map(check)
            default: _ = try p.next()
            }
        }
        guard let run else { throw LabError(.invalidJSON, "not a trace's JSON: no \"run\"") }
        var trace = Trace(run: run, scenario: Scenario(channels: [], processes: []), processes: processes, events: events,
                          objects: [], observations: observations, transfers: transfers)
        trace.checks = checks
        return trace
    }

    static func runInfo(_ v: JSONValue) throws -> RunInfo {
        let outcomeName = try v.string("outcome")
        guard let outcome = Outcome(rawValue: outcomeName) else { throw bad("run.outcome \"\(outcomeName)\"") }
        var run = RunInfo(id: try v.string("id"), experiment: v["experiment"]?.stringValue, startedAt: try v.string("started_at"),
                          durationNs: try v.int("duration_ns"), outcome: outcome, reason: v["reason"]?.stringValue,
                          limits: RunLimits(), sandbox: SandboxReport(namespaces: [], setup: []),
                          eventsDropped: Int(v["events_dropped"]?.intValue ?? 0))
        run.recordsRejected = Int(v["records_rejected"]?.intValue ?? 0)
        run.tracer = v["tracer"]?.stringValue
        return run
    }

    static func process(_ v: JSONValue) throws -> TraceProcess {
        var exit: TraceProcess.Exit?
        if let e = v["exit"], e != .null {
            if let code = e["code"]?.intValue {
                exit = .code(Int(code))
            } else {
                exit = .signal(name: try e.string("signal"), coreDumped: e["core_dumped"] == .bool(true))
            }
        }
        let cpu = v["cpu_ns"]
        var process = TraceProcess(name: try v.string("name"), pid: Int32(truncatingIfNeeded: try v.int("pid")),
                                   parent: v["parent"]?.stringValue, exit: exit,
                                   userCPUNs: cpu?["user"]?.intValue, systemCPUNs: cpu?["system"]?.intValue)
        process.stdout = v["stdout"]?.stringValue
        process.stderr = v["stderr"]?.stringValue
        process.truncated = v["truncated"] == .bool(true)
        return process
    }

    /// One event, its fields in their order (`args` and `iteration` are ordered objects).
    static func event(_ p: inout JSONParser) throws -> TraceEvent {
        var seq = 0, tNs: Int64 = 0, pid: Int32 = 0
        var endNs: Int64?, step: Int?, result: Int64?
        var blocked = false
        var process = "", call = "", stepPath: String?
        var errno: String?
        var iteration: [LoopIndex] = []
        var args: [(String, JSONValue)] = []
        var payload: Payload?
        try p.fields { p, key in
            switch key {
            case "seq": seq = Int(try p.next().int())
            case "t_ns": tNs = try p.next().int()
            case "end_ns": endNs = try p.next().intValue
            case "blocked_ns": blocked = try p.next() != .null
            case "process": process = try p.next().string()
            case "pid": pid = Int32(truncatingIfNeeded: try p.next().int())
            case "step": step = try p.next().intValue.map(Int.init)
            case "step_path": stepPath = try p.next().stringValue
            case "iteration":
                try p.fields { p, name in iteration.append(LoopIndex(name: name, value: Int(try p.next().int()))) }
            case "call": call = try p.next().string()
            case "args":
                try p.fields { p, name in args.append((name, try p.next())) }
            case "result": result = try p.next().intValue
            case "errno": errno = try p.next().stringValue
            case "payload":
                let v = try p.next()
                if v != .null { payload = Payload(bytes: Int(try v.int("bytes")), preview: try hexBytes(try v.string("hex"))) }
            default: _ = try p.next()
            }
        }
        // `blocked_ns` is written for a call that can block and returned; one that never returned
        // renders alike whether it could block or not.
        var event = TraceEvent(seq: seq, tNs: tNs, endNs: endNs, process: process, pid: pid, step: step, call: call,
                               args: args, result: result, errno: errno, canBlock: blocked, payload: payload)
        if let stepPath { event.origin = StepOrigin(path: stepPath, iteration: LoopScope(iteration)) }
        return event
    }

    static func transfer(_ v: JSONValue) throws -> Transfer {
        let kindName = try v.string("kind")
        guard let kind = Transfer.Kind(rawValue: kindName) else { throw bad("transfer kind \"\(kindName)\"") }
        return Transfer(kind: kind, from: Int(try v.int("from")), to: Int(try v.int("to")), channel: try v.string("channel"),
                        bytes: v["bytes"]?.intValue, merged: v["merged"]?.items.compactMap { $0.intValue.map(Int.init) } ?? [])
    }

    static func observation(_ v: JSONValue) throws -> Observation {
        Observation(id: try v.string("id"), claim: try v.string("claim"), holds: v["holds"] == .bool(true),
                    evidence: v["evidence"]?.items.compactMap { $0.intValue.map(Int.init) } ?? [], detail: try v.string("detail"))
    }

    static func check(_ v: JSONValue) throws -> CheckResult {
        CheckResult(id: try v.string("id"), name: v["name"]?.stringValue ?? "", passed: v["passed"] == .bool(true),
                    points: Int(try v.int("points")), maxPoints: Int(try v.int("max_points")), message: try v.string("message"),
                    evidence: v["evidence"]?.items.compactMap { $0.intValue.map(Int.init) } ?? [], hint: v["hint"]?.stringValue)
    }

    /// `6869` → `[0x68, 0x69]` (a payload's `hex`: its preview's exact bytes, which `text` may not keep).
    static func hexBytes(_ hex: String) throws -> [UInt8] {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { throw bad("payload hex \"\(hex)\"") }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else { throw bad("payload hex \"\(hex)\"") }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    static func bad(_ what: String) -> LabError { LabError(.invalidJSON, "not a trace's JSON: bad \(what)") }
}

/// Reading the values of a trace's JSON: a missing or mistyped field is an `invalid_json` error naming it.
private extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    var intValue: Int64? { if case .integer(let n) = self { n } else { nil } }
    var items: [JSONValue] { if case .array(let items) = self { items } else { [] } }

    func string() throws -> String {
        guard let s = stringValue else { throw TraceDecoder.bad("value: a \(typeName) where a string belongs") }
        return s
    }

    func int() throws -> Int64 {
        guard let n = intValue else { throw TraceDecoder.bad("value: a \(typeName) where an integer belongs") }
        return n
    }

    func string(_ key: String) throws -> String {
        guard let s = self[key]?.stringValue else { throw TraceDecoder.bad("\"\(key)\"") }
        return s
    }

    func int(_ key: String) throws -> Int64 {
        guard let n = self[key]?.intValue else { throw TraceDecoder.bad("\"\(key)\"") }
        return n
    }
}
