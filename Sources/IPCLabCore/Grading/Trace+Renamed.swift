/// A copy of a trace with processes and channels renamed, for observations applied through roles.
extension Trace {
    /// The trace with every process and channel name found in `names` replaced (events, their
    /// `channel` and `process` arguments, processes, objects, the scenario's names).
    public func renamed(_ names: [String: String]) -> Trace {
        guard !names.isEmpty else { return self }
        func n(_ s: String) -> String { names[s] ?? s }
        var t = self
        t.events = events.map { e in
            var e = e
            e.process = n(e.process)
            e.args = e.args.map { key, value in
                if key == "channel" || key == "process", case .string(let s) = value { return (key, .string(n(s))) }
                return (key, value)
            }
            return e
        }
        t.processes = processes.map { p in
            var p = p
            p.name = n(p.name)
            p.parent = p.parent.map(n)
            return p
        }
        t.objects = objects.map { o in
            var o = o
            o.object = n(o.object)
            return o
        }
        t.scenario.processes = scenario.processes.map { p in
            var p = p
            p.name = n(p.name)
            return p
        }
        t.scenario.channels = scenario.channels.map { c in
            var c = c
            c.name = n(c.name)
            return c
        }
        return t
    }
}
