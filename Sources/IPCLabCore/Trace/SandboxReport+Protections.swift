extension SandboxReport {
    /// One protection a run had or lacked, as its set-up showed.
    public struct Protection: Sendable, Equatable {
        /// e.g. `pids cgroup`, `memory cgroup`, `user namespace`.
        public var name: String
        public var active: Bool
        /// The set-up operation that shows it (with its errno when it failed), or what replaced it.
        public var detail: String

        public init(name: String, active: Bool, detail: String) {
            self.name = name
            self.active = active
            self.detail = detail
        }
    }

    /// The protections of the run, read from its namespaces and set-up operations: what `serve`
    /// reports at start and `/healthz` lists. A protection whose set-up failed is listed inactive
    /// with the errno; one the host could not give is listed with its fallback, if any.
    public var protections: [Protection] {
        var list: [Protection] = []
        for ns in ["user", "pid", "ipc", "mount", "uts", "net"] {
            list.append(Protection(name: "\(ns) namespace", active: namespaces.contains(ns),
                                   detail: namespaces.contains(ns) ? "CLONE_NEW\(ns == "mount" ? "NS" : ns.uppercased())" : "not available on this host"))
        }
        func op(_ prefix: String) -> Operation? { setup.first { $0.op.hasPrefix(prefix) } }
        func describe(_ o: Operation) -> String { o.op + (o.result == 0 ? "" : " failed: \(o.errno ?? "error")") }
        let limitOps: [(String, String, String?)] = [
            ("pids cgroup", "pids.max", nil),
            ("memory cgroup", "memory.limit", "RLIMIT_AS"),
            ("cpu time limit", "cpu timer", nil),
            ("cpu time backstop", "RLIMIT_CPU", nil),
            ("open files limit", "RLIMIT_NOFILE", nil),
            ("file size limit", "RLIMIT_FSIZE", nil),
            ("read-only root", "make / read-only", nil),
        ]
        for (name, prefix, fallback) in limitOps {
            guard let o = op(prefix) else {
                list.append(Protection(name: name, active: false, detail: "not set up"))
                continue
            }
            var detail = describe(o)
            if o.result != 0, let fallback, let f = op(fallback) { detail += "; instead: " + describe(f) }
            list.append(Protection(name: name, active: o.result == 0, detail: detail))
        }
        return list
    }

    /// The protections the run lacked.
    public var missingProtections: [Protection] { protections.filter { !$0.active } }
}
