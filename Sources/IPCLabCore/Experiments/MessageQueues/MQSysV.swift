/// `mq.sysv` — the course's `msg_queue_sender.c` / `msg_queue_receiver.c`: the sender sends
/// "this", "is", "apple", "end" with type 5; the receiver takes messages of type 5, prints
/// each, stops at "end" and removes the queue.
public struct MQSysV: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "mq.sysv",
        mechanism: "mq",
        title: "A System V message queue",
        claim: "msgget finds a queue in the kernel by its key; msgsnd puts typed messages in it, and msgrcv takes whole messages out by type: msgtyp 0 takes the first message, a positive msgtyp the first of that type, a negative one the first of the lowest type ≤ |msgtyp|. IPC_RMID removes the queue.",
        seed: "001, 004",
        parameters: [
            Words.parameter("What the sender sends, in order; the receiver stops at \"end\".", default: "this is apple end"),
            Parameter("types", .integerArray, "Each message's type (mtype): one for every message, or one per message.",
                      default: [5], range: SendStep.Bounds.type.lowerBound...1000, count: 1...64),
            Parameter("msgtyp", .integer, "The type the receiver asks msgrcv for: 0 any, > 0 exactly that type, < 0 the lowest type ≤ |msgtyp|.",
                      default: 5, range: -1000...1000),
            Parameter("receiver_delay_ms", .integer, "How long the receiver waits before its first msgrcv: long enough, and every message is queued, so msgrcv chooses among them all.",
                      default: 0, range: 0...2000),
        ],
        observations: ["mq.sysv.same_key_same_queue", "mq.sysv.whole_messages", "mq.sysv.selected_by_type", "mq.sysv.session"]
    )

    static let key = 1234
    static let buffer = 128

    public func validate(_ params: Parameters) throws(LabError) {
        let words = Words.split(params.string("messages"))
        try Words.check(words)
        _ = try Words.tags(params.ints("types"), count: words.count, parameter: "types")
        guard words.contains(where: { $0.hasPrefix("end") }) else {
            throw LabError(.invalidParameter, "the receiver stops at a message starting with \"end\", as the course's does: include one",
                           path: "params.messages")
        }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let words = Words.split(params.string("messages"))
        let types = (try? Words.tags(params.ints("types"), count: words.count, parameter: "types")) ?? []
        let delay = params.int("receiver_delay_ms") ?? 0
        return Scenario(
            channels: [.sysvQueue("q", key: Self.key)],
            processes: [
                ProcessSpec(name: "receiver", steps: (delay > 0 ? [.sleep(ms: delay)] : [])
                    + [.receive(channel: "q", size: Self.buffer, type: params.int("msgtyp") ?? 5, until: "end"),
                       .removeQueue(channel: "q"),
                       .wait(process: "sender")]),
                ProcessSpec(name: "sender", steps: [.openQueue(channel: "q")]
                    + zip(words, types).map { .send(channel: "q", data: .text($0), type: $1) }
                    + [.exit(code: 0)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let msgtyp = Int64(params.int("msgtyp") ?? 5)
        let gets = trace.calls(.messageQueues(.msgget), on: "q")
        let sends = trace.queueSends(on: "q").filter { $0.result == 0 }
        let receives = trace.queueReceives(on: "q")
        let got = receives.filter { ($0.result ?? -1) >= 0 }
        let ids = Set(gets.compactMap(\.result))
        let sameQueue = gets.count >= 2 && ids.count == 1 && (ids.first ?? -1) >= 0

        // Whole messages: every message received is exactly one message that was sent.
        var unmatched = sends
        var whole: [TraceEvent] = []
        for r in got {
            if let i = unmatched.firstIndex(where: { $0.sameMessage(as: r) && $0.messageTag == r.messageTag }) {
                unmatched.remove(at: i)
                whole.append(r)
            }
        }
        let selection = TypeSelection.check(sends: sends, receives: got, msgtyp: msgtyp)
        let stuck = receives.last.flatMap { $0.returned ? nil : $0 }
        let queued = trace.queueDepths(of: "q").last { $0.value("msg_qnum") != nil }?.value("msg_qnum") ?? 0
        let selected: Observation
        if let wrong = selection.violation {
            selected = Observation(
                id: "mq.sysv.selected_by_type", claim: Self.selectionClaim, holds: false, evidence: [wrong.seq],
                detail: "msgrcv(msgtyp \(msgtyp)) returned \"\(wrong.messageText)\" of type \(wrong.messageTag ?? 0), which the rule does not pick")
        } else if got.isEmpty {
            let waited = stuck != nil && !sends.isEmpty
            selected = Observation(
                id: "mq.sysv.selected_by_type", claim: Self.selectionClaim, holds: waited,
                evidence: (sends + Array(receives.suffix(1))).seqs,
                detail: waited
                    ? "msgrcv(msgtyp \(msgtyp)) kept waiting while \(sends.count) message(s) of type(s) \(Set(sends.compactMap(\.messageTag)).sorted().map(String.init).joined(separator: ", ")) sat in the queue: it takes only what msgtyp selects"
                    : "no message was received, so this run does not show msgrcv choosing by type")
        } else {
            selected = Observation(
                id: "mq.sysv.selected_by_type", claim: Self.selectionClaim, holds: true, evidence: (sends + got).seqs,
                detail: "msgtyp \(msgtyp): msgrcv returned " + got.map { "\"\($0.messageText)\" (type \($0.messageTag ?? 0))" }.joined(separator: ", ")
                    + " — " + TypeSelection.rule(msgtyp)
                    + (selection.reordered ? "; the order differs from the send order" : ""))
        }

        let ended = got.last.map { $0.messageText.hasPrefix("end") } ?? false
        let removal = trace.calls(.messageQueues(.msgctl), by: "receiver", on: "q").filter { $0.arg(.cmd) == "IPC_RMID" }
        let removed = removal.contains { $0.result == 0 }
        let session: Observation
        if ended && removed {
            session = Observation(
                id: "mq.sysv.session", claim: Self.sessionClaim, holds: true, evidence: (got + removal).seqs,
                detail: "Receive: " + got.map(\.messageText).joined(separator: ", ") + " — then msgctl(IPC_RMID) returned 0")
        } else {
            let why = stuck.map { _ in "its msgrcv(msgtyp \(msgtyp)) was still waiting when the run ended, with \(queued) message(s) left in the queue (msg_qnum)" }
                ?? (ended ? "msgctl(IPC_RMID) did not succeed" : "it never received \"end\"")
            session = Observation(
                id: "mq.sysv.session", claim: Self.sessionClaim, holds: false, evidence: (got + removal + Array(receives.suffix(1))).seqs,
                detail: "the receiver got \(got.isEmpty ? "nothing" : got.quotedTexts); \(why)")
        }

        return [
            Observation(
                id: "mq.sysv.same_key_same_queue",
                claim: "msgget with the same key gives every process the same queue, whoever made it.",
                holds: sameQueue, evidence: gets.seqs,
                detail: sameQueue
                    ? "msgget(key \(Self.key)) returned id \(ids.first!) in the receiver (which created it) and again in the sender"
                    : "msgget returned " + gets.map { "\($0.result.map(String.init) ?? "?") in \($0.process)" }.joined(separator: ", ")),
            Observation(
                id: "mq.sysv.whole_messages",
                claim: "Each msgrcv returns exactly one whole message, with its type: the bytes one msgsnd sent, never merged with or split from another.",
                holds: !got.isEmpty && whole.count == got.count, evidence: (sends + got).seqs,
                detail: "\(sends.count) message(s) sent (" + sends.map { "\($0.payload?.bytes ?? 0)" }.joined(separator: ", ")
                    + " bytes), \(got.count) received (" + got.map { "\($0.result ?? 0)" }.joined(separator: ", ") + " bytes)"
                    + (whole.count == got.count ? ", each one whole message" : ", \(got.count - whole.count) not matching any message sent")),
            selected,
            session,
        ]
    }

    static let selectionClaim = "msgrcv takes messages by type: msgtyp 0 the first message in the queue, a positive msgtyp the first of that type, a negative one the first of the lowest type ≤ |msgtyp|; other messages wait."
    static let sessionClaim = "The course's session: the receiver gets each message the sender sent, stops at \"end\", and removes the queue with IPC_RMID."
}

/// Checks msgrcv's choices against the rule, from the trace alone. Sends and receives may overlap
/// in time, so for each receive the messages *surely* queued (sent before it began, not yet taken)
/// and those *possibly* queued (sent before it returned) are told apart.
enum TypeSelection {
    struct Result {
        /// The first receive that took a message the rule would not pick.
        var violation: TraceEvent?
        /// Whether some message left before one sent earlier.
        var reordered: Bool
    }

    static func rule(_ msgtyp: Int64) -> String {
        msgtyp == 0 ? "0 takes the first message in the queue"
            : msgtyp > 0 ? "each the first message of type \(msgtyp)"
            : "each the first of the lowest type ≤ \(-msgtyp)"
    }

    static func check(sends: [TraceEvent], receives: [TraceEvent], msgtyp: Int64) -> Result {
        var taken = Set<Int>()
        var violation: TraceEvent?
        var lastIndex = -1
        var reordered = false
        for r in receives {
            guard let tag = r.messageTag, let end = r.endNs else { continue }
            let possible = sends.indices.filter { !taken.contains($0) && sends[$0].tNs <= end }
            let sure = possible.filter { (sends[$0].endNs ?? .max) <= r.tNs }
            let match = possible.first { sends[$0].sameMessage(as: r) && sends[$0].messageTag == tag }
            guard let m = match else { violation = violation ?? r; continue }
            taken.insert(m)
            if m < lastIndex { reordered = true }
            lastIndex = max(lastIndex, m)
            // The message taken must be the first possible one of its type, of a type the rule allows,
            // and (for a negative msgtyp) no surely-queued message may have a lower allowed type.
            let firstOfType = possible.first { sends[$0].messageTag == tag }
            let ok: Bool
            if msgtyp == 0 {
                ok = m == possible.first
            } else if msgtyp > 0 {
                ok = tag == msgtyp && m == firstOfType
            } else {
                let lowestSure = sure.compactMap { sends[$0].messageTag }.filter { $0 <= -msgtyp }.min()
                ok = tag <= -msgtyp && m == firstOfType && tag <= (lowestSure ?? tag)
            }
            if !ok { violation = violation ?? r }
        }
        return Result(violation: violation, reordered: reordered)
    }
}
