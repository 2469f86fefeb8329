/// `signal.sigchld` — a child's exit sends SIGCHLD to its parent; the child is a zombie
/// until the parent waits for it.
public struct SignalSigchld: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.sigchld",
        mechanism: "signal",
        title: "SIGCHLD and zombies",
        claim: "When a child exits the kernel sends SIGCHLD to its parent (si_code CLD_EXITED, si_status the exit code). The child stays a zombie (state Z) until the parent waits for it; then it is gone.",
        seed: "002",
        parameters: [
            .choice("disposition", "The parent's SIGCHLD disposition. With \"ignore\" (SIG_IGN) the kernel reaps children itself: no zombie, and wait fails with ECHILD.",
                    default: "handle", ["handle", "default", "ignore"]),
            Parameter("exit_code", .integer, "The child's exit code.", default: 7, range: Scenario.Bounds.exitCode),
        ],
        observations: ["signal.sigchld.parent_notified", "signal.sigchld.zombie_until_waited"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let action = SignalStep.Action(rawValue: params.string("disposition") ?? "handle") ?? .handle
        return Scenario(
            channels: [.pipe("go")],
            processes: [
                ProcessSpec(name: "parent", steps: [
                    .sigaction(.sigchld, action, restart: true), .write(channel: "go", data: .text("go"), repeat: 1),
                    .waitSignals(count: 1, timeoutMs: 300), .procStat("child"), .wait(process: "child"), .procStat("child"),
                ]),
                ProcessSpec(name: "child", steps: [.read(channel: "go", size: 2, repeat: 1), .exit(code: params.int("exit_code") ?? 7)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let code = Int64(params.int("exit_code") ?? 7)
        let childPid = trace.process("child").map { Int64($0.pid) }
        let got = trace.deliveries(to: "parent", of: .sigchld).first
        let notified = got?.string(.siCode) == "CLD_EXITED" && got?.int(.siPid) == childPid && got?.int(.siStatus) == code
        let states = trace.processStates(of: "child")
        let before = states.first
        let after = states.dropFirst().first
        let wait = trace.calls(.process(.wait4), by: "parent").first
        let zombie = before?.label("state") == "Z" && wait?.result == childPid && after?.label("errno") == "ENOENT"
        func describe(_ s: ObjectSnapshot?) -> String {
            guard let s else { return "not read" }
            if let st = s.label("state") { return "\(st) (\(s.label("meaning") ?? ""))" }
            return "gone (\(s.label("errno") ?? "?"))"
        }
        return [
            Observation(
                id: "signal.sigchld.parent_notified",
                claim: "A child's exit sends SIGCHLD to its parent, with si_code CLD_EXITED, the child's pid and its exit code.",
                holds: notified, evidence: got.map { [$0.seq] } ?? (trace.calls(.signals(.ppoll), by: "parent") + trace.calls(.signals(.sigaction), by: "parent")).seqs.sorted(),
                detail: got.map { "the parent's handler got \($0.deliverySummary), si_status \($0.int(.siStatus).map(String.init) ?? "?")" }
                    ?? "no handler of the parent ran: its SIGCHLD disposition was \(params.string("disposition") ?? "?")"),
            Observation(
                id: "signal.sigchld.zombie_until_waited",
                claim: "An exited child is a zombie (Z in /proc/PID/stat) until its parent waits for it; after wait it is gone.",
                holds: zombie, evidence: ([wait?.seq].compactMap { $0 } + states.compactMap(\.seq)).sorted(),
                detail: "before wait4: \(describe(before)); wait4 returned \(wait?.outcomeText ?? "nothing")"
                    + (wait?.arg(.status).flatMap { $0 == .null ? nil : " with status \($0.compactText)" } ?? "") + "; after: \(describe(after))"),
        ]
    }
}
