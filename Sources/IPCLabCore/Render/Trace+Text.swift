/// The trace as plain text, one line per event, in the manner of strace:
/// `[  0.120 ms] child(3)    write(4, "Hello\0", 6) = 6`.
extension Trace {
    /// The whole text: the pieces of ``TraceChunks`` joined, so a streamed one is the same.
    public func text() -> String {
        var out: [UInt8] = []
        var chunks = TraceChunks(self, format: .text)
        while let chunk = chunks.next() { out.append(contentsOf: chunk) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The first line: `# run … — experiment — outcome … — N ms`.
    var textHeadLine: String {
        let who = experiment.map { "\($0)" } ?? (run.tracer != nil ? "C programs" : "custom scenario")
        return "# run \(run.id) — \(who) — outcome \(run.outcome.rawValue)"
            + (run.reason.map { " (\($0))" } ?? "") + String(format: " — %.3f ms", Double(run.durationNs) / 1e6)
    }

    /// One event's line, its process label padded to `width`; `killedBy`: the signal that
    /// killed the event's process (not the run's time limit), when one did.
    func textLine(_ e: TraceEvent, width: Int, killedBy: String?) -> String {
        let label = "\(e.process)(\(e.pid))"
        let padded = label + String(repeating: " ", count: max(0, width - label.count))
        // A loop's step says which iteration made it, as `# steps[2].do[0] i=3`.
        let origin = e.origin.map { "  # \($0.path) \($0.iteration)" } ?? ""
        return String(format: "[%10.3f ms] ", Double(e.tNs) / 1e6) + padded + "  " + e.textLine(killedBy: killedBy) + origin
    }

    /// The lines after the events: how each process ended, the observations, then the checks and score.
    var textTailLines: [String] {
        var lines: [String] = []
        for p in processes {
            let end: String
            switch p.exit {
            case .code(let c)?: end = "exited with \(c)"
            case let .signal(name, core)?: end = "killed by \(name)" + (core ? " (core dumped)" : "")
            case nil: end = "not reaped"
            }
            lines.append("# \(p.name)(\(p.pid)) \(end)")
        }
        for o in observations {
            lines.append("# \(o.holds ? "✓" : "✗") \(o.id): \(o.detail)")
        }
        for c in checks ?? [] {
            lines.append("# check \(c.passed ? "✓" : "✗") \(c.id) [\(c.points)/\(c.maxPoints)]: \(c.message)")
        }
        if checks != nil { lines.append("# score \(score)/\(maxScore)") }
        return lines
    }

    private var experiment: String? { run.experiment }
}

extension TraceEvent {
    /// `call(args) = result ERRNO "payload" <blocked …>`; `killedBy` names the signal that
    /// ended the call's process, when one did.
    func textLine(killedBy signal: String?) -> String {
        let shown = args.filter { $0.0 != "channel" && $0.0 != "end" }.map { $0.1.compactText }
        var line = "\(call)(\(shown.joined(separator: ", ")))"
        if let channel { line += " [\(channel)" + (arg(.end).map { " \($0.compactText)" } ?? "") + "]" }
        if let result {
            line += " = \(result)"
            if let errno { line += " \(errno)" }
        } else if call == "exit" {
            line += " = ? <does not return>"
        } else if let signal {
            line += " = ? <never returned: \(signal) killed the process>"
        } else {
            line += " = ? <unfinished: the run ended first>"
        }
        if let payload { line += " \(payload.quoted)" }
        if let blocked = blockedNs, blocked >= 1_000_000 {
            line += String(format: " <blocked %.3f ms>", Double(blocked) / 1e6)
        }
        return line
    }
}

extension Payload {
    /// The preview as a C string literal, with `…` when cut.
    var quoted: String {
        var s = "\""
        for b in preview {
            switch b {
            case 0: s += "\\0"
            case 0x0A: s += "\\n"
            case 0x22: s += "\\\""
            case 0x5C: s += "\\\\"
            case 0x20..<0x7F: s.unicodeScalars.append(UnicodeScalar(b))
            default: s += String(format: "\\x%02x", b)
            }
        }
        return s + "\"" + (truncated ? "…" : "")
    }
}

extension JSONValue {
    var compactText: String {
        switch self {
        case .string(let s): return s
        default:
            var w = JSONWriter()
            w.value(self)
            return w.string
        }
    }
}
