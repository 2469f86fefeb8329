import IPCLabCore

/// Every protection a run can have, each active or missing (with the reason), read from what the
/// sandbox really gave a run (its `run.sandbox`: the namespaces it was cloned into, the set-up
/// operations and their results, the seccomp mode its init read back). `serve` builds it from its
/// start-up self-test, logs what is missing, refuses to start without ``minimum``, and `/healthz`
/// reports it.
public struct SandboxProtections: Sendable {
    /// Whether a protection is in force.
    public enum State: String, Sendable {
        case active
        case missing
        /// Nothing in the run says either way (e.g. a limit this build does not apply).
        case unknown
    }

    /// One protection.
    public struct Protection: Sendable {
        /// Its stable name, e.g. `pid_namespace`, `seccomp`, `cgroup_pids`.
        public var name: String
        public var state: State
        /// Why it is missing or unknown; what the run got when active.
        public var reason: String
    }

    /// The namespaces without which `serve` refuses to start (unless `--insecure-no-sandbox`).
    public static let minimum = ["pid_namespace", "ipc_namespace", "mount_namespace"]

    public let protections: [Protection]

    public var active: [Protection] { protections.filter { $0.state == .active } }
    public var missing: [Protection] { protections.filter { $0.state == .missing } }
    public var unknown: [Protection] { protections.filter { $0.state == .unknown } }

    /// The protections of ``minimum`` that are not active.
    public var missingMinimum: [Protection] {
        protections.filter { Self.minimum.contains($0.name) && $0.state != .active }
    }

    public init(protections: [Protection]) {
        self.protections = protections
    }

    /// Reads the protections from a run's sandbox report.
    public init(_ sandbox: SandboxReport) {
        var list: [Protection] = []
        let namespaceReasons = [
            "user": "this host makes no user namespaces: a run's processes drop to uid 65534 instead of being root only in their own",
            "pid": "no PID namespace: a run sees the host's processes and its init cannot kill all of its own at once",
            "ipc": "no IPC namespace: a run's SysV and POSIX IPC objects share the host's namespace",
            "mount": "no mount namespace: no private /tmp and /dev/shm, no read-only root",
            "uts": "no UTS namespace: the run keeps the host's hostname",
            "net": "no network namespace: a run's sockets share the host's network",
        ]
        for (ns, missingReason) in namespaceReasons.sorted(by: { Self.order($0.key) < Self.order($1.key) }) {
            let got = sandbox.namespaces.contains(ns)
            list.append(Protection(name: "\(ns)_namespace", state: got ? .active : .missing,
                                   reason: got ? "runs are cloned into a new \(ns) namespace" : missingReason))
        }
        let ops = Dictionary(sandbox.setup.map { ($0.op, $0) }, uniquingKeysWith: { a, _ in a })
        func op(_ name: String, _ protection: String, _ what: String) {
            guard let o = ops[name] else {
                list.append(Protection(name: protection, state: .missing, reason: "the run's set-up did not do \"\(name)\""))
                return
            }
            list.append(o.result == 0
                ? Protection(name: protection, state: .active, reason: what)
                : Protection(name: protection, state: .missing, reason: "\"\(name)\" failed with \(o.errno ?? "an error")"))
        }
        op("make / read-only", "read_only_root", "the host's files are visible read-only")
        let tmp = ["mount tmpfs /tmp", "mount tmpfs /dev/shm"].compactMap { ops[$0] }
        if tmp.count == 2 && tmp.allSatisfy({ $0.result == 0 }) {
            list.append(Protection(name: "private_tmpfs", state: .active, reason: "/tmp and /dev/shm are the run's own tmpfs"))
        } else {
            list.append(Protection(name: "private_tmpfs", state: .missing,
                                   reason: tmp.count < 2 ? "the run's set-up mounted no private /tmp and /dev/shm"
                                       : "a tmpfs mount failed with \(tmp.first { $0.result != 0 }.flatMap(\.errno) ?? "an error")"))
        }
        op("no_new_privs", "no_new_privs", "PR_SET_NO_NEW_PRIVS: no execve can grant privileges")
        op("dumpable off", "dumpable_off", "PR_SET_DUMPABLE 0: no core dumps (no core_pattern helper on the host), no ptrace")
        if let filter = ops["seccomp filter"], filter.result == 0, sandbox.seccomp?.mode == "filter" {
            list.append(Protection(name: "seccomp", state: .active,
                                   reason: "a seccomp filter refuses ptrace, namespaces, mounts, BPF, perf, io_uring, keys, kexec, modules… with EPERM"))
        } else {
            let why = ops["seccomp filter"].map { $0.result == 0 ? "the run's init reads seccomp mode \(sandbox.seccomp?.mode ?? "unknown")"
                : "installing the filter failed with \($0.errno ?? "an error")" } ?? "the run's set-up installed no filter"
            list.append(Protection(name: "seccomp", state: .missing, reason: why))
        }
        // The run's limits (SetupOperation.limits): the cgroups the spawner put its init in (`pids.max N`,
        // `memory.limit N`; RLIMIT_AS stands in for a memory cgroup), then the rlimits and the CPU timer.
        for (controller, prefix) in [("pids", "pids.max"), ("memory", "memory.limit")] {
            let found = sandbox.setup.filter {
                $0.op.hasPrefix(prefix) || ($0.op.lowercased().contains("cgroup") && $0.op.lowercased().contains(controller))
            }
            let name = "cgroup_\(controller)"
            if found.isEmpty {
                list.append(Protection(name: name, state: .unknown, reason: "no set-up operation of the run applies a \(controller) cgroup limit"))
            } else if let failed = found.first(where: { $0.result != 0 }) {
                let fallback = controller == "memory" ? sandbox.setup.first { $0.op.hasPrefix("RLIMIT_AS") && $0.result == 0 } : nil
                list.append(Protection(name: name, state: .missing, reason: "\"\(failed.op)\" failed with \(failed.errno ?? "an error")"
                                       + (fallback.map { "; \($0.op) per process stands in" } ?? "")))
            } else {
                list.append(Protection(name: name, state: .active, reason: found.map(\.op).joined(separator: "; ")))
            }
        }
        let limits = [("cpu_time_limit", "cpu timer", "SIGXCPU when a process has used the run's cpu_ms (RLIMIT_CPU as a backstop)"),
                      ("open_files_limit", "RLIMIT_NOFILE", "EMFILE past the run's open_files"),
                      ("file_size_limit", "RLIMIT_FSIZE", "SIGXFSZ past the run's file_bytes")]
        for (name, prefix, what) in limits {
            guard let o = sandbox.setup.first(where: { $0.op.hasPrefix(prefix) }) else {
                list.append(Protection(name: name, state: .unknown, reason: "no set-up operation of the run applies \(prefix)"))
                continue
            }
            list.append(o.result == 0 ? Protection(name: name, state: .active, reason: "\(o.op): \(what)")
                : Protection(name: name, state: .missing, reason: "\"\(o.op)\" failed with \(o.errno ?? "an error")"))
        }
        protections = list
    }

    private static func order(_ ns: String) -> Int {
        ["user", "pid", "ipc", "mount", "uts", "net"].firstIndex(of: ns) ?? 99
    }
}
