/// `signal.dispositions` — for a chosen signal: its default action (Term, Core, Stop, Cont,
/// Ign), ignored, or handled; SIGKILL and SIGSTOP cannot be caught or ignored.
public struct SignalDispositions: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.dispositions",
        mechanism: "signal",
        title: "What a signal does: default, ignored, handled",
        claim: "Each signal has a disposition: its default action (Term, Core, Stop, Cont or Ign, per signal), ignored, or a handler. sigaction changes it for every signal except SIGKILL and SIGSTOP, for which the kernel answers EINVAL.",
        seed: "001, 004",
        parameters: [
            .signal("signal", "The signal the parent sends to the target.", default: .sigterm),
            .choice("disposition", "What the target sets with sigaction before the signal comes.", default: "default",
                    ["default", "ignore", "handle"]),
        ],
        observations: ["signal.dispositions.sigaction_result", "signal.dispositions.effect"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let sig = params.signal("signal")
        let action = SignalStep.Action(rawValue: params.string("disposition") ?? "default") ?? .default
        var parent: [Step] = [
            .sigaction(.sigchld, .handle, restart: true), ReadyPipe.await, .procStat("target"),
            .kill("target", sig), .waitSignals(count: 1, timeoutMs: 200), .procStat("target"),
        ]
        // A stopped target is continued, so that the run can end.
        if sig.defaultAction == .stop {
            parent += [.kill("target", .sigcont), .waitSignals(count: 2, timeoutMs: 200), .procStat("target")]
        }
        parent.append(.wait(process: "target"))
        return Scenario(
            channels: [ReadyPipe.channel],
            processes: [
                ProcessSpec(name: "parent", steps: parent),
                ProcessSpec(name: "target", steps: [
                    .sigaction(sig, action, restart: true), ReadyPipe.signal, .waitSignals(count: 1, timeoutMs: 600),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sig = params.signal("signal")
        let asked = SignalStep.Action(rawValue: params.string("disposition") ?? "default") ?? .default
        let set = trace.calls(.signals(.sigaction), by: "target").first
        let kill = trace.calls(.signals(.kill), by: "parent").first { $0.arg(.signal) == sig.json }
        let accepted = set?.result == 0
        let setOK = sig.isUncatchable ? (set?.result == -1 && set?.errno == "EINVAL") : accepted
        let inForce: SignalStep.Action = accepted ? asked : .default

        let exit = trace.process("target")?.exit
        let handled = trace.deliveries(to: "target", of: sig)
        let states = trace.processStates(of: "target")
        let afterKill = states.dropFirst().first
        let stopped = states.contains { $0.label("state") == "T" }
        let lastState = states.last?.label("state")
        let chld = trace.deliveries(to: "parent", of: .sigchld)
        let expected: String
        let effect: Bool
        let seen: String
        switch (inForce, sig.defaultAction) {
        case (.handle, _):
            expected = "the handler runs and the process goes on"
            effect = !handled.isEmpty && exit == .code(0)
        case (.ignore, _), (.default, .ign), (.default, .cont):
            expected = inForce == .ignore ? "nothing: it is ignored" : "nothing (default action \(sig.defaultAction.rawValue))"
            effect = handled.isEmpty && exit == .code(0) && !stopped
        case (.default, .term):
            expected = "the process is terminated (Term)"
            effect = exit == .signal(name: sig.name, coreDumped: false)
        case (.default, .core):
            expected = "the process is terminated and may dump core (Core)"
            if case .signal(let name, _)? = exit { effect = name == sig.name } else { effect = false }
        case (.default, .stop):
            expected = "the process is stopped (Stop) until SIGCONT"
            effect = stopped && lastState != "T" && exit == .code(0)
        }
        switch exit {
        case let .signal(name, core)?:
            seen = "the target was killed by \(name), core dumped: \(core ? "yes" : "no")"
                + (core || sig.defaultAction != .core ? "" : " (the kernel writes a core only where RLIMIT_CORE and core_pattern let it)")
        case .code(let c)?:
            seen = (handled.first.map { "its handler ran (\($0.deliverySummary)); " } ?? "no handler ran; ")
                + (stopped ? "/proc showed it stopped (T), then \(lastState.map { "\($0)" } ?? "?") after SIGCONT; " : "its state after the signal: \(afterKill?.label("state") ?? "?"); ")
                + "it exited with \(c)"
        case nil:
            seen = "the target was not seen to end"
        }
        let stateEvidence = states.compactMap(\.seq)
        return [
            Observation(
                id: "signal.dispositions.sigaction_result",
                claim: "sigaction changes the disposition of any signal except SIGKILL and SIGSTOP, for which the kernel answers EINVAL.",
                holds: setOK, evidence: set.map { [$0.seq] } ?? [],
                detail: "sigaction(\(sig.name), \(asked == .default ? "SIG_DFL" : asked == .ignore ? "SIG_IGN" : "handler")) = \(set?.outcomeText ?? "not made")"
                    + (sig.isUncatchable ? ": \(sig.name)'s disposition cannot be changed" : "")),
            Observation(
                id: "signal.dispositions.effect",
                claim: "What the signal does follows the disposition in force: its default action (Term, Core, Stop, Cont or Ign), nothing when ignored, the handler when handled.",
                holds: effect, evidence: ([set, kill].compactMap { $0?.seq } + handled.seqs + chld.seqs + stateEvidence).sorted(),
                detail: "\(sig.name), \(inForce.rawValue) disposition in force — expected: \(expected); seen: \(seen)"),
        ]
    }
}
