/// The trace in the Chrome Trace Event format, which Perfetto and chrome://tracing open:
/// `M` metadata naming each process, an `X` slice per call (its duration is the time in
/// the call), an `i` instant per signal delivery, and `s`/`f` flow arrows for every transfer
/// (`Trace+Transfers.swift`): bytes from a send to its receive (pipes, FIFOs, sockets, queues,
/// shared memory), a signal to its delivery, a post to the wait it woke, a descriptor to its
/// receiver. Times are microseconds from run start.
extension Trace {
    public func chromeJSON() -> [UInt8] {
        var w = JSONWriter(capacity: 1024 + events.count * 200)
        let pidOf = Dictionary(processes.map { ($0.name, Int($0.pid)) }, uniquingKeysWith: { a, _ in a })
        let bySeq = Dictionary(events.map { ($0.seq, $0) }, uniquingKeysWith: { a, _ in a })
        func micros(_ ns: Int64) -> Double { Double(ns) / 1000 }
        w.object { w in
            w.key("traceEvents")
            w.array { w in
                for p in processes {
                    for (kind, name) in [("process_name", "\(p.name) (pid \(p.pid))"), ("thread_name", p.name)] {
                        w.object { w in
                            w.field("name", kind); w.field("ph", "M"); w.field("pid", Int(p.pid)); w.field("tid", Int(p.pid))
                            w.key("args"); w.object { w in w.field("name", name) }
                        }
                    }
                }
                for e in events {
                    let pid = Int(e.pid)
                    let instant = e.call == "signal" || e.call == "deliver"
                    w.object { w in
                        w.field("name", e.call)
                        w.field("cat", e.channel ?? "process")
                        w.field("ph", instant ? "i" : "X")
                        w.field("ts", micros(e.tNs))
                        if instant {
                            w.field("s", "t")
                        } else {
                            // A call that never returned lasts until the run ended.
                            w.field("dur", micros(max(0, (e.endNs ?? run.durationNs) - e.tNs)))
                        }
                        w.field("pid", pid); w.field("tid", pid)
                        w.key("args")
                        w.object { w in
                            w.field("seq", e.seq)
                            for (k, v) in e.args { w.field(k, v) }
                            w.field("result", e.result)
                            w.field("errno", e.errno)
                            if let p = e.payload { w.field("payload", p.text) }
                        }
                    }
                }
                for (n, t) in transfers.enumerated() {
                    guard let from = bySeq[t.from], let to = bySeq[t.to] else { continue }
                    for (phase, e) in [("s", from), ("f", to)] {
                        w.object { w in
                            w.field("name", label(t))
                            w.field("cat", "transfer")
                            w.field("ph", phase)
                            w.field("id", n + 1)
                            // The flow starts inside the sender's slice and ends inside the receiver's.
                            w.field("ts", micros(phase == "s" ? e.tNs : max(e.tNs, (e.endNs ?? e.tNs) - 1)))
                            if phase == "f" { w.field("bp", "e") }
                            w.field("pid", pidOf[e.process] ?? Int(e.pid)); w.field("tid", Int(e.pid))
                        }
                    }
                }
            }
            w.field("displayTimeUnit", "ns")
            w.key("otherData")
            w.object { w in
                w.field("trace_version", Trace.version)
                w.field("run_id", run.id)
                w.field("experiment", run.experiment)
                w.field("outcome", run.outcome.rawValue)
            }
        }
        return w.bytes
    }

    /// A flow's name: `6 B via p`, `SIGUSR1`, `wakes · s`, `fd via sock`.
    private func label(_ t: Transfer) -> String {
        switch t.kind {
        case .data: "\(t.bytes ?? 0) B via \(t.channel)"
        case .signal: t.channel
        case .wake: "wakes · \(t.channel)"
        case .descriptor: "fd via \(t.channel)"
        }
    }
}
