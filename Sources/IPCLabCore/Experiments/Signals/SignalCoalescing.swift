/// `signal.coalescing` — N standard signals sent while blocked are delivered once; N real-time
/// signals are queued and delivered N times, in order.
public struct SignalCoalescing: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.coalescing",
        mechanism: "signal",
        title: "Standard signals merge, real-time signals queue",
        claim: "A standard signal is pending or not: sent N times while blocked it is delivered once. Real-time signals are queued: sent N times they are delivered N times, in the order they were sent.",
        seed: "001",
        parameters: [
            Parameter("count", .integer, "How many of each the sender sends.", default: 10, range: 1...100),
            .signal("signal", "The standard signal (1…31).", default: .sigusr1, allow: Self.standard),
            .signal("rt_signal", "The real-time signal (SIGRTMIN…SIGRTMAX).", default: .sigrtmin, allow: Self.realTime),
            Parameter("blocked", .boolean,
                      "Whether the receiver blocks both signals while they are sent. With false, each standard signal is delivered (and acknowledged) before the next is sent, so none merge.",
                      default: true),
        ],
        observations: ["signal.coalescing.standard_merged", "signal.coalescing.realtime_queued"]
    )

    @Sendable static func standard(_ s: Signal) -> String? {
        if s.isRealTime { return "must be a standard signal (1…31), not \(s.name)" }
        return s.isUncatchable ? "\(s.name) cannot be handled, so its deliveries cannot be counted" : nil
    }

    @Sendable static func realTime(_ s: Signal) -> String? {
        s.isRealTime ? nil : "must be a real-time signal (SIGRTMIN…SIGRTMAX), not \(s.name)"
    }

    /// The signal the receiver acknowledges each standard signal with when not blocking.
    static func ack(for rt: Signal) -> Signal {
        Signal(number: rt.number == Signal.rtMax ? Signal.rtMax - 1 : Signal.rtMax)!
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let n = params.int("count") ?? 10
        let std = params.signal("signal")
        let rt = params.signal("rt_signal")
        let blocked = params.bool("blocked") ?? true
        let sent = Step.write(channel: "sent", data: .text("sent"), repeat: 1)
        let awaitSent = Step.read(channel: "sent", size: 4, repeat: 1)
        var sender: [Step] = []
        var receiver: [Step] = []
        if blocked {
            receiver = [.sigaction(std, .handle, restart: true), .sigaction(rt, .handle, restart: true),
                        .sigprocmask(.block, [std, rt]), ReadyPipe.signal, awaitSent, .sigpending,
                        .sigprocmask(.unblock, [std, rt]), .waitSignals(count: n + 1, timeoutMs: 200)]
            sender = [ReadyPipe.await, .kill("receiver", std, repeat: n)]
        } else {
            let ack = Self.ack(for: rt)
            receiver = [.sigaction(std, .handle, reply: SignalStep.Reply(signal: ack, process: "sender"), restart: true),
                        .sigaction(rt, .handle, restart: true), ReadyPipe.signal, awaitSent,
                        .waitSignals(count: 2 * n, timeoutMs: 500)]
            sender = [.sigaction(ack, .handle, restart: true), ReadyPipe.await]
            for i in 1...n { sender += [.kill("receiver", std), .waitSignals(count: i, timeoutMs: 1000)] }
        }
        sender += [.sigqueue("receiver", rt, value: .int(1), repeat: n), sent, .wait(process: "receiver")]
        return Scenario(
            channels: [ReadyPipe.channel, .pipe("sent")],
            processes: [ProcessSpec(name: "sender", steps: sender), ProcessSpec(name: "receiver", steps: receiver)])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let std = params.signal("signal")
        let rt = params.signal("rt_signal")
        let kills = trace.calls("kill", by: "sender").filter { $0.result == 0 && $0.arg("signal") == std.json }
        let queued = trace.calls("sigqueue", by: "sender").filter { $0.result == 0 }
        let stdGot = trace.deliveries(to: "receiver", of: std)
        let rtGot = trace.deliveries(to: "receiver", of: rt)
        let pending = trace.calls("sigpending", by: "receiver")
        let pendingText = pending.first.map { "; sigpending showed \($0.arg("set")?.compactText ?? "[]") before the unblock" } ?? ""
        // Merged: every send returned before the one delivery began (a send after it was not merged into it).
        let merged = kills.count >= 2 && stdGot.count == 1 && kills.allSatisfy { ($0.endNs ?? .max) <= stdGot[0].tNs }
        let mergedDetail: String
        if kills.count < 2 {
            mergedDetail = "only \(kills.count) \(std.name) was sent: there was nothing to merge"
        } else if merged {
            mergedDetail = "\(kills.count) × kill(receiver, \(std.name)) = 0 while it was blocked; the handler ran once" + pendingText
        } else if params.bool("blocked") == false {
            mergedDetail = "\(std.name) was not blocked: each of the \(kills.count) was delivered before the next was sent, so the handler ran \(stdGot.count) times and none merged"
        } else if stdGot.count == 1 {
            mergedDetail = "\(kills.count) sent, 1 delivered, but not every send came before the delivery: the trace does not show them merged"
        } else {
            mergedDetail = "\(kills.count) sent, \(stdGot.count) delivered"
        }
        let values = rtGot.compactMap(\.sivalInt)
        let sentValues = queued.compactMap { e -> Int64? in
            if case .object(let o)? = e.arg("value"), case .integer(let v)? = o["sival_int"] { return v }
            return nil
        }
        let inOrder = !queued.isEmpty && rtGot.count == queued.count && values == sentValues
        return [
            Observation(
                id: "signal.coalescing.standard_merged",
                claim: "A standard signal sent several times while blocked is delivered once: the kernel keeps one pending bit per signal.",
                holds: merged, evidence: (kills + pending + stdGot).seqs, detail: mergedDetail),
            Observation(
                id: "signal.coalescing.realtime_queued",
                claim: "A real-time signal sent N times is delivered N times, in the order sent (each with its own si_value).",
                holds: inOrder, evidence: (queued + rtGot).seqs,
                detail: "\(queued.count) × sigqueue(receiver, \(rt.name)) with values \(Self.list(sentValues)); the handler ran \(rtGot.count) times with values \(Self.list(values))"
                    + (inOrder ? ", in order" : "")),
        ]
    }

    static func list(_ xs: [Int64]) -> String {
        xs.count <= 12 ? xs.map(String.init).joined(separator: ", ")
            : xs.prefix(5).map(String.init).joined(separator: ", ") + ", …, " + xs.suffix(3).map(String.init).joined(separator: ", ")
    }
}
