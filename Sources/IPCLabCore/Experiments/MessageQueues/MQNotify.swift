/// `mq.notify` — mq_notify: the kernel signals the registered process when a message arrives
/// in the empty queue.
public struct MQNotify: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "mq.notify",
        mechanism: "mq",
        title: "mq_notify: a signal on arrival",
        claim: "A process registered with mq_notify is sent a signal when a message arrives in the empty queue (si_code SI_MESGQ, si_pid the sender's); a message arriving in a queue that already holds one brings no signal.",
        seed: "004",
        parameters: [
            Parameter.signal("signal", "The signal mq_notify asks for (the receiver handles it).", default: .sigusr1) { sig in
                sig.isUncatchable ? "\(sig.name) cannot be caught" : sig == .sigchld ? "SIGCHLD also comes when a child ends; pick another" : nil
            },
            Parameter("prefill", .integer, "Messages the receiver puts in the queue itself before registering: the sender's message then arrives in a queue that is not empty.",
                      default: 0, range: 0...5),
            Parameter("sender_delay_ms", .integer, "How long the sender waits, once the receiver is registered, before sending.",
                      default: 50, range: 0...1000),
        ],
        observations: ["mq.notify.signal_on_arrival", "mq.notify.message_waiting"]
    )

    static let waitMs = 500

    public func scenario(_ params: Parameters) -> Scenario {
        let signal = params.signal("signal")
        let prefill = params.int("prefill") ?? 0
        return Scenario(
            channels: [.posixQueue("q"), ReadyPipe.channel],
            processes: [
                ProcessSpec(name: "receiver", steps: [.sigaction(signal, .handle)]
                    + (prefill > 0 ? [.send(channel: "q", data: .text("early"), repeat: prefill)] : [])
                    + [.mqNotify(channel: "q", signal: signal),
                       ReadyPipe.signal,
                       .waitSignals(count: 1, timeoutMs: Self.waitMs),
                       .receive(channel: "q", repeat: prefill + 1),
                       .wait(process: "sender")]),
                ProcessSpec(name: "sender", steps: [
                    ReadyPipe.await,
                    .sleep(ms: params.int("sender_delay_ms") ?? 50),
                    .send(channel: "q", data: .text("hello")),
                    .exit(code: 0),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let signal = params.signal("signal")
        let prefill = params.int("prefill") ?? 0
        let notify = trace.calls(.messageQueues(.mqNotify), by: "receiver", on: "q")
        let send = trace.queueSends(on: "q", by: "sender").first
        let deliveries = trace.deliveries(to: "receiver", of: signal)
        let delivery = deliveries.first
        let senderPid = trace.process("sender").map { Int64($0.pid) }
        let depthBefore = send.flatMap { s in trace.queueDepths(of: "q").last { ($0.seq ?? 0) < s.seq } }?.value("mq_curmsgs")

        let arrival: Observation
        if let d = delivery, let s = send {
            let ok = d.string(.siCode) == "SI_MESGQ" && d.int(.siPid) == senderPid && d.tNs >= s.tNs && notify.first?.result == 0
            arrival = Observation(
                id: "mq.notify.signal_on_arrival", claim: Self.arrivalClaim, holds: ok, evidence: (notify + [s, d]).seqs,
                detail: "the sender's mq_send into the empty queue brought \(d.deliverySummary)"
                    + (ok ? "" : ", not the SI_MESGQ signal from the sender's mq_send"))
        } else {
            let why = prefill > 0
                ? "the queue already held \(depthBefore ?? Int64(prefill)) message(s) when the sender's arrived, and mq_notify signals only an arrival in an empty queue: no signal came within \(Self.waitMs) ms"
                : "no \(signal.name) came within \(Self.waitMs) ms" + (notify.first.map { $0.result == 0 ? "" : " (mq_notify returned \($0.outcomeText))" } ?? "")
            arrival = Observation(id: "mq.notify.signal_on_arrival", claim: Self.arrivalClaim, holds: false,
                                  evidence: (notify + [send].compactMap { $0 } + trace.calls(.signals(.ppoll), by: "receiver")).seqs, detail: why)
        }

        let after = delivery.flatMap { d in trace.queueReceives(on: "q", by: "receiver").first { $0.tNs >= d.tNs } }
        let waiting: Observation
        if let r = after, let s = send, r.sameMessage(as: s) {
            waiting = Observation(
                id: "mq.notify.message_waiting", claim: Self.waitingClaim, holds: true, evidence: [delivery!.seq, r.seq],
                detail: "after the signal, mq_receive returned \"\(r.messageText)\" in \(r.tookMs)")
        } else {
            waiting = Observation(
                id: "mq.notify.message_waiting", claim: Self.waitingClaim, holds: false,
                evidence: trace.queueReceives(on: "q", by: "receiver").seqs,
                detail: delivery == nil ? "no signal came, so nothing announced the sender's message"
                    : "after the signal, mq_receive returned \(after.map { "\"\($0.messageText)\"" } ?? "nothing"), not the sender's message")
        }
        return [arrival, waiting]
    }

    static let arrivalClaim = "mq_notify makes the kernel send the registered process a signal (si_code SI_MESGQ, si_pid the sender's) when a message arrives in the empty queue."
    static let waitingClaim = "The signal means a message is waiting: mq_receive after it returns the message that arrived."
}
