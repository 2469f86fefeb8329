/// `signal.sigqueue` — a real-time signal sent with sigqueue carries an int, and `siginfo_t`
/// names the sender's pid and uid.
public struct SignalSigqueue: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.sigqueue",
        mechanism: "signal",
        title: "A signal that carries an int",
        claim: "sigqueue sends a signal with a value: the receiver's handler finds it in si_value.sival_int, with si_code SI_QUEUE and the sender's pid and uid in si_pid and si_uid. kill sends no value.",
        seed: "000",
        parameters: [
            .signal("signal", "The signal sent (a real-time one by default; standard ones carry a value too).", default: .sigrtmin),
            Parameter("value", .integer, "The int sent in si_value.sival_int.", default: 42, range: SignalStep.Bounds.value),
            .choice("send_with", "How the sender sends: \"kill\" carries no value (si_code SI_USER).", default: "sigqueue", ["sigqueue", "kill"]),
        ],
        observations: ["signal.sigqueue.value_carried", "signal.sigqueue.sender_identified"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let sig = params.signal("signal")
        let send: Step = params.string("send_with") == "kill"
            ? .kill("receiver", sig)
            : .sigqueue("receiver", sig, value: .int(params.int("value") ?? 42))
        return Scenario(
            channels: [ReadyPipe.channel],
            processes: [
                ProcessSpec(name: "sender", steps: [ReadyPipe.await, send, .wait(process: "receiver")]),
                ProcessSpec(name: "receiver", steps: [
                    .sigaction(sig, .handle, restart: true), ReadyPipe.signal, .waitSignals(count: 1, timeoutMs: 1000),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sig = params.signal("signal")
        let value = Int64(params.int("value") ?? 42)
        let send = (trace.calls("sigqueue", by: "sender") + trace.calls("kill", by: "sender")).first
        let got = trace.deliveries(to: "receiver", of: sig).first
        let carried = got?.string("si_code") == "SI_QUEUE" && got?.sivalInt == value
        let senderPid = trace.process("sender").map { Int64($0.pid) }
        let uid = send?.int("uid")
        let identified = got != nil && got?.int("si_pid") == senderPid && uid != nil && got?.int("si_uid") == uid
        let evidence = [send, got].compactMap { $0?.seq }
        return [
            Observation(
                id: "signal.sigqueue.value_carried",
                claim: "The int given to sigqueue arrives in the handler's si_value.sival_int (si_code SI_QUEUE).",
                holds: carried, evidence: evidence,
                detail: got.map { g in
                    carried
                        ? "sender: \(send?.call ?? "no call")(receiver, \(sig.name), \(value)) = \(send?.outcomeText ?? "?"); the handler got sival_int \(value) with \(g.string("si_code") ?? "?")"
                        : "the handler got \(g.deliverySummary) and " + (g.sivalInt.map { "sival_int \($0)" } ?? "no value")
                            + (send?.call == "kill" ? ": kill sends no value" : ", not \(value)")
                } ?? "no delivery of \(sig.name) was recorded by the receiver, which \(trace.ending(of: "receiver"))"),
            Observation(
                id: "signal.sigqueue.sender_identified",
                claim: "siginfo_t names the sender: si_pid is its pid and si_uid its real uid.",
                holds: identified, evidence: evidence,
                detail: identified
                    ? "si_pid \(senderPid!) is the sender's pid and si_uid \(uid!) its uid (getuid() in the sender)"
                    : "the handler saw si_pid \(got?.int("si_pid").map(String.init) ?? "–"), si_uid \(got?.int("si_uid").map(String.init) ?? "–"); the sender is pid \(senderPid.map(String.init) ?? "?"), uid \(uid.map(String.init) ?? "?")"),
        ]
    }
}
