/// `signal.blocked` — a blocked signal stays pending (sigpending shows it) and is delivered
/// the moment it is unblocked.
public struct SignalBlocked: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.blocked",
        mechanism: "signal",
        title: "A blocked signal waits",
        claim: "A signal sent to a process that blocks it is not lost and not delivered: it stays pending (sigpending lists it) until the process unblocks it, and is delivered then.",
        seed: "004",
        parameters: [
            .signal("signal", "The signal sent.", default: .sigusr1) { $0.isUncatchable ? "\($0.name) can be neither blocked nor handled" : nil },
            Parameter("block", .boolean, "Whether the receiver blocks the signal before it is sent. With false it is delivered at once.", default: true),
            Parameter("hold_ms", .integer, "How long the receiver keeps it blocked after it arrived.", default: 50, range: 0...1000),
        ],
        observations: ["signal.blocked.stays_pending", "signal.blocked.delivered_on_unblock"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let sig = params.signal("signal")
        let block = params.bool("block") ?? true
        var receiver: [Step] = [.sigaction(sig, .handle, restart: true)]
        if block { receiver.append(.sigprocmask(.block, [sig])) }
        receiver += [ReadyPipe.signal, .read(channel: "sent", size: 4, repeat: 1), .sigpending, .sleep(ms: params.int("hold_ms") ?? 50)]
        if block { receiver.append(.sigprocmask(.unblock, [sig])) }
        receiver.append(.waitSignals(count: 1, timeoutMs: 500))
        return Scenario(
            channels: [ReadyPipe.channel, .pipe("sent")],
            processes: [
                ProcessSpec(name: "sender", steps: [
                    ReadyPipe.await, .kill("receiver", sig), .write(channel: "sent", data: .text("sent"), repeat: 1), .wait(process: "receiver"),
                ]),
                ProcessSpec(name: "receiver", steps: receiver),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sig = params.signal("signal")
        let kill = trace.calls(.signals(.kill), by: "sender").first
        let pending = trace.calls(.signals(.sigpending), by: "receiver").first
        let unblock = trace.calls(.signals(.sigprocmask), by: "receiver").first { $0.string(.how) == "SIG_UNBLOCK" }
        let got = trace.deliveries(to: "receiver", of: sig).first
        let listed: Bool = if case .array(let items)? = pending?.arg(.set) { items.contains(sig.json) } else { false }
        let notYet = got.map { g in pending.map { g.tNs > $0.tNs } ?? false } ?? true
        let staysPending = kill?.result == 0 && listed && notYet
        let onUnblock = got != nil && unblock != nil && got!.tNs >= unblock!.tNs && got!.tNs <= (unblock!.endNs ?? .max)
        let ms = { (ns: Int64) in String(format: "%.3f ms", Double(ns) / 1e6) }
        return [
            Observation(
                id: "signal.blocked.stays_pending",
                claim: "While blocked, a sent signal is pending: sigpending lists it, and no handler has run.",
                holds: staysPending, evidence: [kill, pending].compactMap { $0?.seq },
                detail: staysPending
                    ? "kill(receiver, \(sig.name)) = 0; afterwards sigpending listed \(pending!.arg(.set)!.compactText) and the handler had not run"
                    : "sigpending listed \(pending?.arg(.set)?.compactText ?? "nothing")" + (got.map { g in
                        pending.map { g.tNs < $0.tNs ? "; the handler had already run, \(ms(g.tNs - (kill?.tNs ?? g.tNs))) after the kill: the signal was not blocked" : "" } ?? ""
                    } ?? "")),
            Observation(
                id: "signal.blocked.delivered_on_unblock",
                claim: "The pending signal is delivered when it is unblocked, during the sigprocmask call that unblocks it.",
                holds: onUnblock, evidence: [kill, unblock, got].compactMap { $0?.seq },
                detail: onUnblock
                    ? "sent at \(ms(kill?.tNs ?? 0)), delivered at \(ms(got!.tNs)) inside sigprocmask(SIG_UNBLOCK) (\(ms(unblock!.tNs))–\(ms(unblock!.endNs ?? 0)))"
                    : unblock == nil
                        ? "nothing unblocked it: " + (got.map { "delivered at \(ms($0.tNs)), \(ms($0.tNs - (kill?.tNs ?? 0))) after the kill" } ?? "never delivered")
                        : "delivered " + (got.map { "at \(ms($0.tNs))" } ?? "never") + ", unblocked at \(ms(unblock!.tNs))"),
        ]
    }
}
