/// `mq.posix` — mq_open, mq_send with priorities: mq_receive hands out the highest priority
/// first (oldest first within a priority), and mq_getattr shows the queue's depth.
public struct MQPosix: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "mq.posix",
        mechanism: "mq",
        title: "A POSIX message queue: priorities",
        claim: "A POSIX message queue keeps messages in the kernel by priority: mq_receive always returns the oldest message of the highest priority waiting, whatever the order they were sent in; mq_getattr's mq_curmsgs shows how many wait.",
        seed: "002, 004",
        parameters: [
            Words.parameter("What the sender sends, in order, before the receiver starts.", default: "low normal urgent normal2 lowest"),
            Parameter("priorities", .integerArray, "Each message's priority (0…32767): one for every message, or one per message.",
                      default: [1, 5, 10, 5, 0], range: SendStep.Bounds.priority, count: 1...64),
            Parameter("max_messages", .integer, "The queue's mq_maxmsg; the sender's messages must fit, since it finishes before the receiver starts.",
                      default: 10, range: 1...MessageQueueChannel.Bounds.namespaceMsgMax),
        ],
        observations: ["mq.posix.highest_priority_first", "mq.posix.depth"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        let words = Words.split(params.string("messages"))
        try Words.check(words)
        _ = try Words.tags(params.ints("priorities"), count: words.count, parameter: "priorities")
        let max = params.int("max_messages") ?? 10
        if words.count > max {
            throw LabError(.invalidParameter, "\(words.count) messages do not fit a queue of \(max) (mq_maxmsg): the sender would wait for a receiver that waits for it",
                           path: "params.messages")
        }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let words = Words.split(params.string("messages"))
        let priorities = (try? Words.tags(params.ints("priorities"), count: words.count, parameter: "priorities")) ?? []
        return Scenario(
            channels: [.posixQueue("q", maxMessages: params.int("max_messages") ?? 10, messageSize: 128)],
            processes: [
                ProcessSpec(name: "receiver", steps: [
                    .wait(process: "sender"),
                    .receive(channel: "q", repeat: words.count),
                    .removeQueue(channel: "q"),
                ]),
                ProcessSpec(name: "sender", steps: zip(words, priorities).map { .send(channel: "q", data: .text($0), priority: $1) }
                    + [.exit(code: 0)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sends = trace.queueSends(on: "q").filter { $0.result == 0 }
        let got = trace.queueReceives(on: "q").filter { ($0.result ?? -1) >= 0 }
        // What the rule predicts: by priority, highest first; within a priority, in send order.
        let expected = sends.enumerated().sorted { a, b in
            let (pa, pb) = (a.element.messageTag ?? 0, b.element.messageTag ?? 0)
            return pa != pb ? pa > pb : a.offset < b.offset
        }.map(\.element)
        let matches = got.count == expected.count && zip(got, expected).allSatisfy { $0.sameMessage(as: $1) && $0.messageTag == $1.messageTag }
        let overtook = zip(got, sends).contains { !$0.sameMessage(as: $1) }
        func list(_ es: [TraceEvent]) -> String { es.map { "\"\($0.messageText)\" (\($0.messageTag ?? 0))" }.joined(separator: ", ") }
        let order: Observation
        if !matches {
            order = Observation(id: "mq.posix.highest_priority_first", claim: Self.orderClaim, holds: false, evidence: (sends + got).seqs,
                                detail: "sent \(list(sends)); received \(list(got)), not highest priority first")
        } else if !overtook {
            order = Observation(id: "mq.posix.highest_priority_first", claim: Self.orderClaim, holds: false, evidence: (sends + got).seqs,
                                detail: "the messages left in the order they were sent (\(list(got))): their priorities never asked for another order, so this run does not show it")
        } else {
            order = Observation(id: "mq.posix.highest_priority_first", claim: Self.orderClaim, holds: true, evidence: (sends + got).seqs,
                                detail: "sent \(list(sends)); mq_receive returned \(list(got)): highest priority first, oldest first within a priority")
        }

        let depths = trace.queueDepths(of: "q")
        let afterSends = sends.compactMap { s in depths.first { $0.seq == s.seq }?.value("mq_curmsgs") }
        let afterReceives = got.compactMap { r in depths.first { $0.seq == r.seq }?.value("mq_curmsgs") }
        let n = Int64(sends.count)
        let rising = afterSends == (0..<n).map { $0 + 1 }
        let falling = afterReceives == (0..<n).reversed().map { $0 }
        return [
            order,
            Observation(
                id: "mq.posix.depth",
                claim: "The messages wait in the kernel: mq_getattr's mq_curmsgs counts up with each mq_send and down with each mq_receive.",
                holds: n > 0 && rising && falling, evidence: (sends + got).seqs,
                detail: "mq_curmsgs after each mq_send: \(afterSends.map(String.init).joined(separator: ", ")); after each mq_receive: \(afterReceives.map(String.init).joined(separator: ", "))"),
        ]
    }

    static let orderClaim = "mq_receive returns the highest-priority message first, and the oldest first among equal priorities, whatever the order they were sent in."
}
