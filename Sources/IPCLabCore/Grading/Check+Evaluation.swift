/// Checking a check against a trace. Every message says what was seen.
extension Check {
    /// The result of this check on `trace`. `run` is the run's own preset id and parameters, when
    /// the run was of a preset (observation checks of that preset default to its parameters).
    public func evaluate(_ trace: Trace, run: (preset: String, parameters: Parameters)? = nil) -> CheckResult {
        let (passed, evidence, message) = outcome(on: trace, run: run)
        return CheckResult(id: id, name: name, passed: passed, points: passed ? points : 0, maxPoints: points,
                           message: message, evidence: evidence, hint: passed ? nil : hint)
    }

    private func outcome(on trace: Trace, run: (preset: String, parameters: Parameters)?) -> (Bool, [Int], String) {
        switch kind {
        case .outcome(let expected):
            let seen = trace.run.outcome
            let why = trace.run.reason.map { ": \($0)" } ?? ""
            let ended = seen == .deadlock ? "in a deadlock" : seen.rawValue
            return (seen == expected, [], "the run ended \(ended)\(why)" + (seen == expected ? "" : " (expected \(expected.rawValue))"))
        case let .exit(process, code, signal):
            if let missing = trace.missing(process: process) { return (false, [], missing) }
            let exits = trace.calls(.process(.exit), by: process).seqs
            switch trace.process(process)?.exit {
            case nil:
                return (false, exits, "\(process) has no exit status: it was still running when the run ended")
            case .code(let c)?:
                let ok = code == c
                return (ok, exits, "\(process) exited with code \(c)" + (ok ? "" : code.map { " (expected code \($0))" } ?? " (expected \(signal ?? "?"))"))
            case let .signal(name, core)?:
                let ok = signal == name
                return (ok, exits, "\(process) was killed by \(name)\(core ? " (core dumped)" : "")"
                    + (ok ? "" : signal.map { " (expected \($0))" } ?? " (expected exit code \(code ?? 0))"))
            }
        case let .call(match, min, max):
            if let missing = trace.missing(match) { return (false, [], missing) }
            let found = match.events(in: trace)
            let ok = found.count >= min && (max.map { found.count <= $0 } ?? true)
            let range = max.map { $0 == min ? "exactly \(min)" : "\(min)…\($0)" } ?? "at least \(min)"
            return (ok, found.seqs, "\(Self.calls(found.count)) matched \(match.description)"
                + Self.seqList(found) + (ok ? "" : "; expected \(range)"))
        case .noCall(let match):
            if let missing = trace.missing(match) { return (false, [], missing) }
            let found = match.events(in: trace)
            return (found.isEmpty, found.seqs, found.isEmpty
                ? "no call matched \(match.description)"
                : "\(Self.calls(found.count)) matched \(match.description)\(Self.seqList(found)); expected none")
        case let .order(first, then):
            if let missing = trace.missing(first) ?? trace.missing(then) { return (false, [], missing) }
            guard let a = first.events(in: trace).first else { return (false, [], "no \(first.description) call was made") }
            guard let b = then.events(in: trace).first else {
                return (false, [a.seq], "no \(then.description) call was made (\(first.description) was, at \(Self.ms(a.tNs)))")
            }
            guard let aEnd = a.endNs else {
                return (false, [a.seq, b.seq], "\(first.description) (seq \(a.seq)) never returned; \(then.description) started at \(Self.ms(b.tNs))")
            }
            let ok = aEnd <= b.tNs
            return (ok, [a.seq, b.seq], ok
                ? "\(first.description) (seq \(a.seq)) returned at \(Self.ms(aEnd)), before \(then.description) (seq \(b.seq)) started at \(Self.ms(b.tNs))"
                : "\(then.description) (seq \(b.seq)) started at \(Self.ms(b.tNs)), before \(first.description) (seq \(a.seq)) returned at \(Self.ms(aEnd))")
        case let .received(process, channel, data):
            if let missing = trace.missing(process: process) ?? trace.missing(channel: channel) { return (false, [], missing) }
            let takes = trace.received(by: process, on: channel)
            let got = takes.map { $0.cString ?? "" }
            let ok = got == data
            var message = "\(process) received " + (got.isEmpty ? "nothing" : Self.list(got)) + " from \(channel)"
            if !ok {
                if let i = zip(got, data).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                    message += "; #\(i + 1) was \(Self.quoted(got[i])), expected \(Self.quoted(data[i]))"
                } else if got.count < data.count {
                    message += "; \(data.count - got.count) missing after \(got.count) (next expected \(Self.quoted(data[got.count])))"
                } else {
                    message += "; \(got.count - data.count) more than the \(data.count) expected"
                }
            }
            return (ok, takes.seqs, message)
        case .observation(let binding):
            let r = binding.evaluate(trace, run: run)
            return (r.holds, r.evidence, r.message)
        case .noDeadlock:
            if let deadlock = trace.run.deadlock {
                return (false, trace.unfinished.filter { $0.call != "exit" }.seqs, "the run ended in a deadlock: \(deadlock.explanation)")
            }
            if let blocked = trace.deadlockedAtEnd {
                let who = blocked.map { e in
                    "\(e.process) in \(e.call)" + (e.channel.map { " on \($0)" } ?? "") + " since \(Self.ms(e.tNs))"
                }
                return (false, blocked.seqs, "the run ended \(trace.run.outcome.rawValue) with every live process blocked: "
                    + who.joined(separator: "; "))
            }
            return (true, [], "no deadlock: the run ended \(trace.run.outcome.rawValue)"
                + (trace.run.outcome == .ok ? "" : " but not with every live process blocked"))
        case let .stdout(process, contains):
            return Self.stdoutOutcome(on: trace, process: process, contains: contains)
        }
    }

    /// `1 call`, `3 calls`.
    static func calls(_ n: Int) -> String { n == 1 ? "1 call" : "\(n) calls" }

    /// ` (seq 4, 9, 12)` for at most 8 events.
    static func seqList(_ events: [TraceEvent]) -> String {
        guard !events.isEmpty else { return "" }
        let shown = events.prefix(8).map { String($0.seq) }.joined(separator: ", ")
        return " (seq \(shown)\(events.count > 8 ? ", …" : ""))"
    }

    static func ms(_ ns: Int64) -> String { String(format: "%.1f ms", Double(ns) / 1e6) }

    static func quoted(_ s: String) -> String { s.isEmpty ? "(empty)" : "\"\(s)\"" }

    /// `"item 1", "item 2", (empty), …` for at most 12 values.
    static func list(_ values: [String]) -> String {
        values.prefix(12).map(quoted).joined(separator: ", ") + (values.count > 12 ? ", … (\(values.count) in all)" : "")
    }
}
