/// `sandbox.denied_calls` — the run's seccomp filter: a process tries the system calls no
/// experiment needs and the kernel refuses each with an errno; the process lives on.
public struct SandboxDeniedCalls: Preset {
    public init() {}

    /// The calls it tries: all that `try_syscall` knows, the control `getppid` first.
    static let denied = SandboxStep.calls.filter { $0 != "getppid" }

    public let experiment = Experiment(
        id: "sandbox.denied_calls",
        mechanism: "sandbox",
        title: "What the sandbox refuses",
        claim: "Every run is under a seccomp filter (after PR_SET_NO_NEW_PRIVS) that refuses the calls no experiment needs — ptrace, reading another process's memory, namespaces and mounts, BPF, perf, io_uring, keys, userfaultfd, kexec, modules, reboot, swap, file handles — with EPERM (clone3 with ENOSYS, so glibc falls back to clone, whose flags the filter can see). A refused call fails; the process goes on.",
        seed: "—",
        parameters: [],
        observations: ["sandbox.denied_calls.refused", "sandbox.denied_calls.process_lives"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        Scenario(channels: [], processes: [
            ProcessSpec(name: "prober", steps: SandboxStep.calls.map { Step.trySyscall($0) } + [.exit(code: 0)]),
        ])
    }

    /// The errno the filter answers `call` with.
    static func refusal(of call: String) -> String { call == "clone3" ? "ENOSYS" : "EPERM" }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let tries = Self.denied.compactMap { SandboxCall(rawValue: $0).flatMap { trace.calls(.sandbox($0), by: "prober").first } }
        let allowed = tries.filter { $0.result != -1 || $0.errno != Self.refusal(of: $0.call) }
        let refused = tries.count == Self.denied.count && allowed.isEmpty
        let control = trace.calls(.sandbox(.getppid), by: "prober").first
        let exit = trace.process("prober")?.exit
        let lives = control.map { ($0.result ?? -1) > 0 } == true && exit == .code(0)
        let mode = trace.run.sandbox.seccomp?.mode ?? "unknown"
        return [
            Observation(
                id: "sandbox.denied_calls.refused",
                claim: "Each call no experiment needs is refused: it returns -1 with EPERM (clone3 with ENOSYS).",
                holds: refused, evidence: tries.seqs,
                detail: refused
                    ? "\(tries.count) calls refused (seccomp mode: \(mode)): " + tries.map { "\($0.call) \($0.errno ?? "?")" }.joined(separator: ", ")
                    : "seccomp mode: \(mode); not refused as claimed: "
                        + (tries.count < Self.denied.count ? "\(Self.denied.count - tries.count) calls not made; " : "")
                        + allowed.map { "\($0.call) returned \($0.result.map(String.init) ?? "nothing") \($0.errno ?? "")" }.joined(separator: ", ")),
            Observation(
                id: "sandbox.denied_calls.process_lives",
                claim: "The filter refuses calls without killing: an allowed call (getppid) works and the process exits normally.",
                holds: lives, evidence: (control.map { [$0] } ?? []).seqs,
                detail: "getppid returned \(control?.result.map(String.init) ?? "nothing"); prober \(trace.ending(of: "prober"))"),
        ]
    }
}
