/// `mq.full` — a full queue blocks the sender (or fails with EAGAIN) until the receiver takes
/// a message; the limits come from mq_open, within the IPC namespace's `fs.mqueue.msg_max`.
public struct MQFull: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "mq.full",
        mechanism: "mq",
        title: "A full message queue",
        claim: "A message queue holds a limited number of messages (mq_maxmsg, at most fs.mqueue.msg_max of the IPC namespace unless raised). A sender finding it full waits until the receiver takes a message — or, with O_NONBLOCK, fails at once with EAGAIN.",
        seed: "001",
        parameters: [
            Parameter("max_messages", .integer, "The queue's mq_maxmsg. Above 10 (the namespace's fs.mqueue.msg_max), the run raises msg_max in its own IPC namespace first.",
                      default: 10, range: MessageQueueChannel.Bounds.maxMessages),
            Parameter("message_size", .integer, "The queue's mq_msgsize, and the size of each message sent.", default: 64, range: 1...8192),
            Parameter("nonblocking", .boolean, "The sender's descriptor has O_NONBLOCK: the send into the full queue fails with EAGAIN instead of waiting.",
                      default: false),
            Parameter("reader_delay_ms", .integer, "How long the receiver sleeps before taking messages: the blocked send waits about this long.",
                      default: 100, range: 0...1000),
            Parameter("raise_msg_max", .boolean, "Raise fs.mqueue.msg_max in the run's IPC namespace when max_messages is above it. With false, mq_open fails with EINVAL there.",
                      default: true),
        ],
        observations: ["mq.full.limits", "mq.full.fills_at_limit", "mq.full.full_send_waits", "mq.full.receiver_drains"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        let n = params.int("max_messages") ?? 10
        let size = params.int("message_size") ?? 64
        if MessageQueueChannel.bytesNeeded(maxMessages: n, messageSize: size) > MessageQueueChannel.Bounds.queueBytesLimit {
            throw LabError(.invalidParameter, "\(n) messages of \(size) bytes need more kernel memory than a run may hold in queues (its RLIMIT_MSGQUEUE, \(MessageQueueChannel.Bounds.queueBytesLimit) bytes)",
                           path: "params.max_messages")
        }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let n = params.int("max_messages") ?? 10
        let size = params.int("message_size") ?? 64
        let nonblocking = params.bool("nonblocking") ?? false
        return Scenario(
            channels: [.posixQueue("q", maxMessages: n, messageSize: size, raiseMsgMax: params.bool("raise_msg_max") ?? true)],
            processes: [
                ProcessSpec(name: "receiver", steps: [
                    .sleep(ms: params.int("reader_delay_ms") ?? 100),
                    // Blocking: the sender's last message arrives once the first is taken; non-blocking: it never does.
                    .receive(channel: "q", repeat: nonblocking ? n : n + 1),
                    .wait(process: "sender"),
                    .removeQueue(channel: "q"),
                ]),
                ProcessSpec(name: "sender", steps: [
                    .send(channel: "q", data: .size(size), repeat: n + 1, nonblocking: nonblocking),
                    .exit(code: 0),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let n = Int64(params.int("max_messages") ?? 10)
        let size = Int64(params.int("message_size") ?? 64)
        let nonblocking = params.bool("nonblocking") ?? false
        let open = trace.calls("mq_open", on: "q")
        let sysctl = trace.calls("sysctl", on: "q")
        let depths = trace.queueDepths(of: "q")
        let sends = trace.queueSends(on: "q", by: "sender")
        let receives = trace.queueReceives(on: "q", by: "receiver")

        let limits: Observation
        let opened = open.first.map { ($0.result ?? -1) >= 0 } ?? false
        let raised = sysctl.first.map { "fs.mqueue.msg_max was \($0.int("old") ?? 0) in the run's IPC namespace and was raised to \($0.int("now") ?? 0)" }
        if let first = depths.first, opened {
            let ok = first.value("mq_maxmsg") == n && first.value("mq_msgsize") == size
            limits = Observation(
                id: "mq.full.limits", claim: Self.limitsClaim, holds: ok, evidence: (sysctl + open).seqs,
                detail: "mq_getattr: mq_maxmsg \(first.value("mq_maxmsg") ?? 0), mq_msgsize \(first.value("mq_msgsize") ?? 0)"
                    + (raised.map { "; " + $0 } ?? (n > 10 ? "" : "; within the namespace's default msg_max of 10")))
        } else {
            let why = open.first.map { "mq_open asked for \(n) messages and failed with \($0.errno ?? "?")" } ?? "the queue was not opened"
            let shared = open.first?.errno == "EMFILE"
                ? ": the run's POSIX queues together would exceed its RLIMIT_MSGQUEUE (\(MessageQueueChannel.Bounds.queueBytesLimit) bytes)" : ""
            limits = Observation(
                id: "mq.full.limits", claim: Self.limitsClaim, holds: false, evidence: (sysctl + open).seqs,
                detail: why + shared + (n > 10 && sysctl.isEmpty ? ": fs.mqueue.msg_max of the run's IPC namespace is 10 and was not raised" : ""))
        }

        let full = depths.first { $0.value("mq_curmsgs") == n && n > 0 }
        let fills = Observation(
            id: "mq.full.fills_at_limit",
            claim: "The queue fills: mq_getattr shows mq_curmsgs equal to mq_maxmsg.",
            holds: full != nil, evidence: sends.prefix(Int(n)).map(\.seq) + (full?.seq.map { [$0] } ?? []),
            detail: full != nil ? "mq_curmsgs reached \(n) of mq_maxmsg \(n)"
                : "mq_curmsgs never reached \(n) (most: \(depths.compactMap { $0.value("mq_curmsgs") }.max() ?? 0))")

        let last = sends.last
        let waits: Observation
        if nonblocking {
            let failed = last?.errno == "EAGAIN" && sends.count == Int(n) + 1
            waits = Observation(
                id: "mq.full.full_send_waits", claim: Self.waitClaim, holds: failed && full != nil, evidence: last.map { [$0.seq] } ?? [],
                detail: failed ? "with O_NONBLOCK, mq_send number \(n + 1) failed at once with EAGAIN"
                    : "the last mq_send returned \(last?.outcomeText ?? "nothing")")
        } else {
            // The last send waited only if the queue was full when it began (the last mq_getattr before
            // it) and it was still in the kernel when the receive that made room began.
            let release = last.flatMap { s in receives.first { ($0.endNs ?? .max) > s.tNs && ($0.result ?? -1) >= 0 } }
            let before = last.flatMap { s in trace.state(of: "q", before: s.tNs)?.value("mq_curmsgs") }
            let verdict = last.map {
                WaitVerdict.judge($0, release: release, full: before == n,
                                  state: "mq_getattr showed \(before.map(String.init) ?? "no") message(s) of \(n) when it began")
            }
            let ok = verdict?.holds == true && last?.result == 0 && sends.count == Int(n) + 1
            let detail: String
            switch verdict {
            case .waited(let ns)? where ok:
                detail = "mq_send number \(n + 1) found the queue full (mq_curmsgs \(n)) and waited \(milliseconds(ns)), returning only after the receiver's mq_receive began"
            case .didNotWait(true)?:
                detail = "the receiver's mq_receive had begun before mq_send number \(sends.count) did: there was room again, so this run does not show a send waiting"
            case .didNotWait(false)?:
                detail = "mq_send number \(sends.count) returned \(last?.outcomeText ?? "?") before the receiver's mq_receive began: it did not wait"
            case .notFull(let why)?:
                detail = "the queue was not full when mq_send number \(sends.count) began: " + why
            default:
                detail = "mq_send number \(sends.count) returned \(last?.outcomeText ?? "nothing") and no receive followed it"
            }
            waits = Observation(
                id: "mq.full.full_send_waits", claim: Self.waitClaim, holds: ok, evidence: [last, release].compactMap { $0?.seq },
                detail: detail)
        }

        let sent = sends.filter { $0.result == 0 }
        let got = receives.filter { ($0.result ?? -1) >= 0 }
        let drains = Observation(
            id: "mq.full.receiver_drains",
            claim: "The receiver takes every message the sender put in the queue.",
            holds: !sent.isEmpty && sent.count == got.count, evidence: got.seqs,
            detail: "\(sent.count) message(s) sent, \(got.count) received")
        return [limits, fills, waits, drains]
    }

    static let limitsClaim = "The queue's limits are what mq_open asked for; mq_maxmsg may exceed fs.mqueue.msg_max (10 per IPC namespace) only once msg_max is raised — here inside the run's own IPC namespace."
    static let waitClaim = "A sender finding the queue full waits until the receiver takes a message; with O_NONBLOCK it fails at once with EAGAIN."
}
