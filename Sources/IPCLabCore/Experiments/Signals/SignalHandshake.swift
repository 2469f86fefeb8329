/// `signal.handshake` — the course's crude IPC: A sends SIGUSR1 to B, B's handler answers
/// SIGUSR2 from inside itself, and A's handler sees the acknowledgement.
public struct SignalHandshake: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.handshake",
        mechanism: "signal",
        title: "A handshake with signals",
        claim: "Signals are a crude IPC: A sends SIGUSR1 to B with kill; B's handler answers with SIGUSR2 from inside itself; A's handler sees the answer come from B. No data travels, only the fact.",
        seed: "000",
        parameters: [
            .signal("signal", "What A sends to B.", default: .sigusr1),
            .signal("ack_signal", "What B's handler sends back to A.", default: .sigusr2),
            Parameter("install_handler", .boolean,
                      "Whether B installs its handler. Without it the signal's default action (Term for SIGUSR1) kills B, and no answer comes.",
                      default: true),
        ],
        observations: ["signal.handshake.b_received", "signal.handshake.a_acknowledged"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let sig = params.signal("signal")
        let ack = params.signal("ack_signal")
        var b: [Step] = []
        if params.bool("install_handler") ?? true {
            b.append(.sigaction(sig, .handle, reply: SignalStep.Reply(signal: ack, process: "a"), restart: true))
        }
        b += [ReadyPipe.signal, .waitSignals(count: 1, timeoutMs: 1000)]
        return Scenario(
            channels: [ReadyPipe.channel],
            processes: [
                ProcessSpec(name: "a", steps: [
                    .sigaction(ack, .handle, restart: true),
                    ReadyPipe.await,
                    .kill("b", sig),
                    .waitSignals(count: 1, timeoutMs: 1000),
                    .wait(process: "b"),
                ]),
                ProcessSpec(name: "b", steps: b),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sig = params.signal("signal")
        let ack = params.signal("ack_signal")
        let aPid = trace.process("a")?.pid
        let bPid = trace.process("b")?.pid
        let sent = trace.calls(.signals(.kill), by: "a").first
        let got = trace.deliveries(to: "b", of: sig).first { $0.int(.siPid) == aPid.map(Int64.init) }
        let answer = trace.calls(.signals(.kill), by: "b").first { $0.arg(.fromHandler) == true }
        let acked = trace.deliveries(to: "a", of: ack).first { $0.int(.siPid) == bPid.map(Int64.init) }
        let received = sent?.result == 0 && got != nil
        let acknowledged = answer?.result == 0 && acked != nil && (acked?.tNs ?? 0) >= (got?.tNs ?? .max)
        let bEnd = trace.ending(of: "b")
        // Without an answer, what shows it: a's wait that timed out, and how b ended.
        let waited = Array(trace.calls(.signals(.ppoll), by: "a").suffix(1)) + trace.calls(.process(.wait4), by: "a")
        return [
            Observation(
                id: "signal.handshake.b_received",
                claim: "B's handler runs for the signal A sent with kill, and its siginfo names A as the sender.",
                holds: received, evidence: [sent, got].compactMap { $0?.seq },
                detail: received
                    ? "a: kill(b, \(sig.name)) = 0; b's handler got \(got!.deliverySummary)"
                    : "a: kill(b, \(sig.name)) = \(sent?.outcomeText ?? "not made"); no handler of b saw it from a; b \(bEnd)"),
            Observation(
                id: "signal.handshake.a_acknowledged",
                claim: "B's handler answers from inside itself, and A's handler sees the answer come from B.",
                holds: acknowledged, evidence: acknowledged ? [answer!.seq, acked!.seq] : ([answer, acked].compactMap { $0?.seq } + waited.seqs).sorted(),
                detail: acknowledged
                    ? "b's handler sent kill(a, \(ack.name)) = 0; a's handler got \(acked!.deliverySummary)"
                    : "no answer reached a's handler" + (answer.map { ": b's handler's kill returned \($0.outcomeText)" } ?? "") + "; b \(bEnd)"),
        ]
    }
}
