/// `mq.sysv_full` — a System V queue holds at most `msg_qbytes` bytes of messages (MSGMNB, 16384 by
/// default): msgsnd with IPC_NOWAIT then fails with EAGAIN, and a plain msgsnd waits for the receiver.
public struct MQSysVFull: Preset {
    public init() {}

    /// The `msg_qbytes` a new queue gets in a fresh IPC namespace (`kernel.msgmnb`).
    static let defaultQueueBytes = 16_384

    public let experiment = Experiment(
        id: "mq.sysv_full",
        mechanism: "mq",
        title: "A full System V message queue",
        claim: "A System V message queue holds at most msg_qbytes bytes of message text (16384 by default, IPC_STAT shows it). A msgsnd that does not fit waits until a receiver takes a message — or, with IPC_NOWAIT, fails at once with EAGAIN.",
        seed: "001",
        parameters: [
            Parameter("message_size", .integer, "Bytes of text in each message (the last one starts with \"end\", where the receiver stops).",
                      default: 1024, range: 64...8192),
            Parameter("reader_delay_ms", .integer, "How long the receiver sleeps, once the sender found the queue full, before taking messages: the blocked msgsnd waits about this long.",
                      default: 100, range: 0...1000),
        ],
        observations: ["mq.sysv_full.nowait_eagain", "mq.sysv_full.full_send_waits", "mq.sysv_full.receiver_drains"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let size = params.int("message_size") ?? 1024
        let last = "end" + String(repeating: ".", count: size - 3)
        return Scenario(
            channels: [.sysvQueue("q"), ReadyPipe.channel],
            processes: [
                ProcessSpec(name: "receiver", steps: [
                    // Told once the sender found the queue full, so a slow sender is never drained early.
                    ReadyPipe.await,
                    .sleep(ms: params.int("reader_delay_ms") ?? 100),
                    .receive(channel: "q", until: "end"),
                    .wait(process: "sender"),
                    .removeQueue(channel: "q"),
                ]),
                ProcessSpec(name: "sender", steps: [
                    // Without waiting until the kernel says EAGAIN (one more than fit in the default msg_qbytes)…
                    .send(channel: "q", data: .size(size), repeat: Self.defaultQueueBytes / size + 1, nonblocking: true),
                    ReadyPipe.signal,
                    // …then one that may wait.
                    .send(channel: "q", data: .text(last)),
                    .exit(code: 0),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let size = Int64(params.int("message_size") ?? 1024)
        let sends = trace.queueSends(on: "q", by: "sender")
        let receives = trace.queueReceives(on: "q", by: "receiver")
        let nowait = sends.filter { $0.string("msgflg") == "IPC_NOWAIT" }
        let eagain = nowait.first { $0.errno == "EAGAIN" }
        let accepted = nowait.filter { $0.result == 0 }.count
        // Full: the text queued plus this message would pass msg_qbytes (the last IPC_STAT before the call).
        func full(before e: TraceEvent) -> (Bool, String) {
            guard let s = trace.state(of: "q", before: e.tNs), let used = s.value("msg_cbytes"), let cap = s.value("msg_qbytes") else {
                return (false, "no IPC_STAT before it")
            }
            return (used + size > cap, "IPC_STAT showed \(used) of msg_qbytes \(cap) bytes queued (\(s.value("msg_qnum") ?? 0) messages)")
        }
        let eagainFull = eagain.map { full(before: $0) }
        let refused = Observation(
            id: "mq.sysv_full.nowait_eagain",
            claim: "With IPC_NOWAIT, msgsnd into a queue that cannot take the message fails at once with EAGAIN.",
            holds: eagain != nil && accepted > 0 && eagainFull?.0 == true,
            evidence: [nowait.last { $0.result == 0 }, eagain].compactMap { $0?.seq },
            detail: eagain != nil
                ? "\(accepted) messages of \(size) bytes were queued; msgsnd number \(accepted + 1) with IPC_NOWAIT failed with EAGAIN: \(eagainFull?.1 ?? "")"
                : "no msgsnd with IPC_NOWAIT failed: \(accepted) messages of \(size) bytes fit")

        let blocking = sends.first { $0.string("msgflg") == "0" }
        let release = blocking.flatMap { b in receives.first { ($0.endNs ?? .max) > b.tNs && ($0.result ?? -1) >= 0 } }
        let state = blocking.map { full(before: $0) }
        let verdict = blocking.map { WaitVerdict.judge($0, release: release, full: state?.0 == true, state: state?.1 ?? "") }
        let ok = verdict?.holds == true && blocking?.result == 0
        let detail: String
        switch verdict {
        case .waited(let ns)? where ok:
            detail = "the plain msgsnd found the queue full (\(state?.1 ?? "")) and waited \(milliseconds(ns)), returning only after the receiver's msgrcv began"
        case .didNotWait(true)?:
            detail = "the receiver's msgrcv had begun before the plain msgsnd did: there was room again, so this run does not show a send waiting"
        case .didNotWait(false)?:
            detail = "the plain msgsnd returned \(blocking?.outcomeText ?? "?") before the receiver's msgrcv began: it did not wait"
        case .notFull(let why)?:
            detail = "the queue was not full when the plain msgsnd began: " + why
        default:
            detail = "the plain msgsnd returned \(blocking?.outcomeText ?? "nothing") and no msgrcv followed it"
        }
        let waits = Observation(
            id: "mq.sysv_full.full_send_waits",
            claim: "A msgsnd without IPC_NOWAIT into a full queue waits until a receiver takes a message.",
            holds: ok, evidence: [eagain, blocking, release].compactMap { $0?.seq }, detail: detail)

        let sent = sends.filter { $0.result == 0 }
        let got = receives.filter { ($0.result ?? -1) >= 0 }
        let drains = Observation(
            id: "mq.sysv_full.receiver_drains",
            claim: "The receiver takes every message the sender put in the queue.",
            holds: !sent.isEmpty && sent.count == got.count, evidence: got.seqs,
            detail: "\(sent.count) message(s) sent, \(got.count) received")
        return [refused, waits, drains]
    }
}
