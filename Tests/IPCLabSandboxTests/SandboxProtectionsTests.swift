import IPCLabCore
import IPCLabSandbox
import Testing

/// The protections report, read from a run's sandbox report: what the self-test really got.
@Suite("Sandbox protections")
struct SandboxProtectionsTests {
    typealias Op = SandboxReport.Operation

    static let fullSetup: [Op] = ["make / read-only", "mount tmpfs /tmp", "mount tmpfs /dev/shm", "no_new_privs",
                                  "dumpable off", "seccomp filter"].map { Op(op: $0, result: 0, errno: nil) }

    @Test("this host's self-test run: every namespace and wall active, cgroup limits unknown, nothing missing")
    func fromARealRun() async throws {
        let trace = try await run("pipe.hello")
        let p = SandboxProtections(trace.run.sandbox)
        #expect(p.missing.map(\.name) == [], "\(p.missing.map { "\($0.name): \($0.reason)" })")
        #expect(p.missingMinimum.isEmpty)
        let always: Set<String> = ["user_namespace", "pid_namespace", "ipc_namespace", "mount_namespace",
                                   "uts_namespace", "net_namespace", "read_only_root", "private_tmpfs",
                                   "no_new_privs", "dumpable_off", "seccomp", "cpu_time_limit", "open_files_limit",
                                   "file_size_limit"]
        // The cgroups are active where this host's v1 pids and memory hierarchies are writable.
        #expect(Set(p.active.map(\.name)).subtracting(["cgroup_pids", "cgroup_memory"]) == always)
        #expect(p.unknown.isEmpty)
    }

    @Test("a missing PID namespace is missing from the minimum, with a reason")
    func missingPIDNamespace() {
        let report = SandboxReport(namespaces: ["user", "ipc", "mount", "uts"], setup: Self.fullSetup,
                                   seccomp: .init(mode: "filter", filters: 1))
        let p = SandboxProtections(report)
        #expect(p.missingMinimum.map(\.name) == ["pid_namespace"])
        #expect(Set(p.missing.map(\.name)) == ["pid_namespace", "net_namespace"])
        #expect(p.missing.first { $0.name == "pid_namespace" }?.reason.contains("PID") == true)
    }

    @Test("a failed operation is missing with its errno; a filter that does not read back as mode filter is missing")
    func failedOperations() {
        var setup = Self.fullSetup
        setup[0] = Op(op: "make / read-only", result: -1, errno: "EPERM")
        let p = SandboxProtections(SandboxReport(namespaces: ["user", "pid", "ipc", "mount", "uts", "net"], setup: setup,
                                                 seccomp: .init(mode: "disabled", filters: 0)))
        let missing = Dictionary(uniqueKeysWithValues: p.missing.map { ($0.name, $0.reason) })
        #expect(missing["read_only_root"]?.contains("EPERM") == true)
        #expect(missing["seccomp"]?.contains("disabled") == true)
        #expect(p.missingMinimum.isEmpty)
    }

    @Test("cgroup limits are read from set-up operations named after their controller")
    func cgroupOperations() {
        let setup = Self.fullSetup + [Op(op: "cgroup pids.max 64", result: 0, errno: nil),
                                      Op(op: "cgroup memory.max", result: -1, errno: "EACCES")]
        let p = SandboxProtections(SandboxReport(namespaces: ["pid", "ipc", "mount"], setup: setup, seccomp: nil))
        #expect(p.active.contains { $0.name == "cgroup_pids" })
        #expect(p.missing.first { $0.name == "cgroup_memory" }?.reason.contains("EACCES") == true)
        #expect(p.missing.contains { $0.name == "seccomp" })
        #expect(p.unknown.map(\.name) == ["cpu_time_limit", "open_files_limit", "file_size_limit"])
    }

    @Test("the run's limits are read from their set-up operations, with RLIMIT_AS standing in for a memory cgroup")
    func limitOperations() {
        let setup = Self.fullSetup + [Op(op: "pids.max 33", result: 0, errno: nil),
                                      Op(op: "memory.limit 67108864", result: -1, errno: "EROFS"),
                                      Op(op: "RLIMIT_AS 999", result: 0, errno: nil),
                                      Op(op: "RLIMIT_NOFILE 256", result: 0, errno: nil),
                                      Op(op: "RLIMIT_FSIZE 1", result: -1, errno: "EPERM")]
        let p = SandboxProtections(SandboxReport(namespaces: ["pid", "ipc", "mount"], setup: setup, seccomp: nil))
        #expect(p.active.contains { $0.name == "cgroup_pids" } && p.active.contains { $0.name == "open_files_limit" })
        let memory = p.missing.first { $0.name == "cgroup_memory" }?.reason ?? ""
        #expect(memory.contains("EROFS") && memory.contains("RLIMIT_AS 999"), "\(memory)")
        #expect(p.missing.first { $0.name == "file_size_limit" }?.reason.contains("EPERM") == true)
        #expect(p.unknown.map(\.name) == ["cpu_time_limit"])
    }
}
