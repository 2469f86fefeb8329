/// `signal.unblockable` — sigprocmask cannot block SIGKILL or SIGSTOP: asked to, it succeeds and
/// silently leaves them out of the mask, and both still act on the process.
public struct SignalUnblockable: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.unblockable",
        mechanism: "signal",
        title: "SIGKILL and SIGSTOP cannot be blocked",
        claim: "A process can block most signals with sigprocmask, but not SIGKILL or SIGSTOP: asked to block them, sigprocmask succeeds and silently leaves them out of the mask, so SIGSTOP still stops the process and SIGKILL still kills it.",
        seed: "003",
        parameters: [
            .signal("signal", "An ordinary signal blocked alongside them: it does enter the mask.", default: .sigusr1) { s in
                s == .sigkill || s == .sigstop ? "must be a signal other than SIGKILL and SIGSTOP" : nil
            },
        ],
        observations: ["signal.unblockable.mask_leaves_them_out", "signal.unblockable.sigstop_stops", "signal.unblockable.sigkill_kills"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let other = params.signal("signal")
        return Scenario(
            channels: [ReadyPipe.channel],
            processes: [
                ProcessSpec(name: "parent", steps: [
                    .sigaction(.sigchld, .handle, restart: true), ReadyPipe.await,
                    .kill("target", .sigstop), .waitSignals(count: 1, timeoutMs: 500), .procStat("target"),
                    .kill("target", .sigkill), .wait(process: "target"),
                ]),
                ProcessSpec(name: "target", steps: [
                    // Ask for all three; then read the mask back (blocking nothing more returns the mask as oldset).
                    .sigprocmask(.block, [.sigkill, .sigstop, other]),
                    .sigprocmask(.block, []),
                    ReadyPipe.signal,
                    .sleep(ms: 2000),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let other = params.signal("signal")
        let masks = trace.calls("sigprocmask", by: "target")
        let asked = masks.first
        let readBack = masks.dropFirst().first
        let mask: [String] = if case .array(let a)? = readBack?.arg("oldset") { a.compactMap { if case .string(let s) = $0 { s } else { nil } } } else { [] }
        let left = asked?.result == 0 && readBack?.result == 0 && mask.contains(other.name)
            && !mask.contains(Signal.sigkill.name) && !mask.contains(Signal.sigstop.name)

        let kills = trace.calls("kill", by: "parent")
        let stopKill = kills.first { $0.arg("signal") == Signal.sigstop.json }
        let killKill = kills.first { $0.arg("signal") == Signal.sigkill.json }
        let stoppedNote = trace.deliveries(to: "parent", of: .sigchld).first { $0.string("si_code") == "CLD_STOPPED" }
        let state = trace.processStates(of: "target").first { s in stopKill.map { (s.seq ?? 0) > $0.seq } ?? false }
        let stopped = stopKill?.result == 0 && stoppedNote != nil && state?.label("state") == "T"
        let killed = killKill?.result == 0 && trace.process("target")?.exit == .signal(name: "SIGKILL", coreDumped: false)
        return [
            Observation(
                id: "signal.unblockable.mask_leaves_them_out",
                claim: "sigprocmask(SIG_BLOCK) with SIGKILL and SIGSTOP succeeds, but the mask it leaves holds neither.",
                holds: left, evidence: [asked, readBack].compactMap { $0?.seq },
                detail: "sigprocmask(SIG_BLOCK, [SIGKILL, SIGSTOP, \(other.name)]) = \(asked?.outcomeText ?? "not made"); the mask read back: [\(mask.joined(separator: ", "))]"
                    + (left ? ": \(other.name) is blocked, SIGKILL and SIGSTOP were silently left out" : "")),
            Observation(
                id: "signal.unblockable.sigstop_stops",
                claim: "SIGSTOP stops the process although it asked to block it.",
                holds: stopped, evidence: [stopKill, stoppedNote].compactMap { $0?.seq } + (state?.seq.map { [$0] } ?? []),
                detail: "kill(target, SIGSTOP) = \(stopKill?.outcomeText ?? "not made"); /proc then said \(state.map { $0.label("state") ?? $0.label("errno") ?? "?" } ?? "nothing")"
                    + (stoppedNote != nil ? "; the parent got SIGCHLD with CLD_STOPPED" : "; no CLD_STOPPED reached the parent")),
            Observation(
                id: "signal.unblockable.sigkill_kills",
                claim: "SIGKILL kills the process although it asked to block it.",
                holds: killed, evidence: [killKill].compactMap { $0?.seq },
                detail: "kill(target, SIGKILL) = \(killKill?.outcomeText ?? "not made"); the target \(trace.ending(of: "target"))"),
        ]
    }
}
