extension Trace {
    /// The trace as JSON (format version 1; see `openapi.yaml`, schema `Trace`): byte for byte the pieces
    /// of ``TraceChunks`` joined (both write with ``write(to:)``'s parts), so a streamed trace is this one.
    public func json(pretty: Bool = false) -> [UInt8] {
        // One writer for the whole document (the chunks' writer hands each event over in an array of its own).
        var w = JSONWriter(pretty: pretty, capacity: 2048 + events.count * 320 + run.sandbox.setup.count * 80
                           + objects.count * 160 + observations.count * 320)
        write(to: &w)
        return w.bytes
    }

    /// Writes the trace into an open writer (as one value).
    public func write(to w: inout JSONWriter) {
        writeHead(to: &w)
        for e in events { e.write(to: &w) }
        writeTail(to: &w)
    }

    /// Everything before the first event: the object opened, up to `"events":[`.
    func writeHead(to w: inout JSONWriter) {
        w.beginObject()
        w.field("trace_version", Trace.version)
        w.key("run"); run.write(to: &w)
        // Compact: the same text as the run's plan, written once for both (``ScenarioJSONCache``).
        if w.isPretty { w.field("scenario", scenario.json) } else { w.key("scenario"); w.raw(scenario.compactJSON) }
        w.key("processes"); w.array { w in for p in processes { p.write(to: &w) } }
        w.key("events"); w.beginArray()
    }

    /// Everything after the last event: the events closed, the transfers, the objects, the observations, the end.
    func writeTail(to w: inout JSONWriter) {
        w.endArray()
        w.key("transfers"); w.array { w in for t in transfers { t.write(to: &w) } }
        w.key("objects"); w.array { w in for o in objects { o.write(to: &w) } }
        w.key("observations"); w.array { w in for o in observations { o.write(to: &w) } }
        if let checks { writeChecks(checks, to: &w) }
        w.endObject()
    }
}

extension Transfer {
    func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("kind", kind.rawValue)
            w.field("from", from)
            w.field("to", to)
            w.field("channel", channel)
            w.field("bytes", bytes)
            if kind == .signal { w.key("merged"); w.array { w in for m in merged { w.value(m) } } }
        }
    }
}

extension RunInfo {
    func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("id", id)
            w.field("experiment", experiment)
            w.field("started_at", startedAt)
            w.field("duration_ns", durationNs)
            w.field("outcome", outcome.rawValue)
            w.field("reason", reason)
            w.key("limits"); w.object { w in for f in RunLimits.Field.allCases { w.field(f.rawValue, limits[f]) } }
            w.key("sandbox")
            w.object { w in
                w.key("namespaces"); w.array { w in for n in sandbox.namespaces { w.value(n) } }
                w.key("setup")
                w.array { w in
                    for op in sandbox.setup {
                        w.object { w in
                            w.field("op", op.op); w.field("result", op.result); w.field("errno", op.errno); w.field("t_ns", op.tNs)
                        }
                    }
                }
                w.key("seccomp")
                if let seccomp = sandbox.seccomp {
                    w.object { w in w.field("mode", seccomp.mode); w.field("filters", seccomp.filters) }
                } else {
                    w.null()
                }
            }
            w.field("events_dropped", eventsDropped)
            if recordsRejected > 0 { w.field("records_rejected", recordsRejected) }
            if let schedule { w.field("schedule", schedule.json) }
            if let deadlock { w.field("deadlock", deadlock.json) }
            if let tracer { w.field("tracer", tracer) }
            if let diagnostics {
                w.key("diagnostics")
                w.array { w in
                    for d in diagnostics {
                        w.object { w in
                            w.field("program", d.program); w.field("line", d.line); w.field("column", d.column)
                            w.field("severity", d.severity); w.field("message", d.message)
                        }
                    }
                }
            }
        }
    }
}

extension TraceProcess {
    func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("name", name)
            w.field("pid", Int(pid))
            w.field("parent", parent)
            w.key("exit")
            switch exit {
            case nil: w.null()
            case .code(let c)?: w.object { w in w.field("code", c) }
            case let .signal(name, core)?: w.object { w in w.field("signal", name); w.field("core_dumped", core) }
            }
            w.key("cpu_ns")
            if let u = userCPUNs, let s = systemCPUNs {
                w.object { w in w.field("user", u); w.field("system", s) }
            } else {
                w.null()
            }
            if let stdout { w.field("stdout", stdout) }
            if let stderr { w.field("stderr", stderr) }
            if stdout != nil || stderr != nil { w.field("truncated", truncated) }
        }
    }
}

extension TraceEvent {
    /// Writes the event into an open writer (as one value), as the trace's `events` hold it.
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("seq", seq)
            w.field("t_ns", tNs)
            w.field("end_ns", endNs)
            w.field("blocked_ns", blockedNs)
            w.field("process", process)
            w.field("pid", Int(pid))
            w.field("step", step)
            if let origin {
                w.field("step_path", origin.path)
                w.key("iteration"); w.object { w in for index in origin.iteration.indexes { w.field(index.name, index.value) } }
            }
            w.field("call", call)
            w.key("args"); w.object { w in for (k, v) in args { w.field(k, v) } }
            w.field("result", result)
            w.field("errno", errno)
            w.field("returned", returned)
            w.key("payload")
            if let payload {
                w.object { w in
                    w.field("bytes", payload.bytes)
                    // Written from the bytes, as the text and hex strings would be (``Payload/text``, ``Payload/hex``).
                    w.key("text")
                    if payload.preview.allSatisfy({ $0 < 0x80 }) { w.value(asciiBytes: payload.preview) } else { w.value(payload.text) }
                    w.key("hex"); w.value(hexOf: payload.preview)
                    w.field("truncated", payload.truncated)
                }
            } else {
                w.null()
            }
        }
    }
}

extension ObjectSnapshot {
    func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("seq", seq)
            w.field("t_ns", tNs)
            w.field("object", object)
            w.field("kind", kind)
            w.key("state"); w.object { w in for (k, v) in state { w.field(k, v) }; for (k, v) in labels { w.field(k, v) } }
        }
    }
}

extension Observation {
    func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("id", id)
            w.field("claim", claim)
            w.field("holds", holds)
            w.key("evidence"); w.array { w in for s in evidence { w.value(s) } }
            w.field("detail", detail)
        }
    }
}
