/// `mq.boundaries` — the writes of `pipe.byte_stream` through a System V queue: each msgrcv
/// takes one whole message; a buffer too small for it takes nothing (E2BIG).
public struct MQBoundaries: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "mq.boundaries",
        mechanism: "mq",
        title: "A message queue keeps message boundaries",
        claim: "Unlike a pipe, a message queue keeps message boundaries: each msgrcv returns exactly one message, however large its buffer; a buffer too small for the next message takes nothing (E2BIG) and the message stays queued — unless MSG_NOERROR, which cuts it and discards the rest.",
        seed: "004",
        parameters: [
            Parameter("write_sizes", .integerArray, "Sizes of the sender's messages, in order (as pipe.byte_stream's writes; total at most 16384, the queue's msg_qbytes).",
                      default: [10, 10, 10, 10], range: 1...8192, count: 1...64),
            Parameter("read_sizes", .integerArray, "Sizes of the receiver's buffers, in order (msgrcv's msgsz).",
                      default: [5, 15, 15, 15, 15], range: 1...8192, count: 1...64),
            Parameter("truncate", .boolean, "msgrcv with MSG_NOERROR: a message longer than the buffer is cut to fit, the rest discarded.",
                      default: false),
        ],
        observations: ["mq.boundaries.boundaries_kept", "mq.boundaries.whole_or_nothing"]
    )

    /// `msg_qbytes` of a new queue (MSGMNB): the sender finishes before the receiver starts.
    static let queueBytes = 16_384

    public func validate(_ params: Parameters) throws(LabError) {
        let total = params.ints("write_sizes").reduce(0, +)
        if total > Self.queueBytes {
            throw LabError(.invalidParameter, "the messages add up to \(total) bytes; at most \(Self.queueBytes) (msg_qbytes), since the sender finishes before the receiver starts",
                           path: "params.write_sizes")
        }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let truncate = params.bool("truncate") ?? false
        return Scenario(
            channels: [.sysvQueue("q")],
            processes: [
                ProcessSpec(name: "reader", steps: [.wait(process: "writer")]
                    + params.ints("read_sizes").map { .receive(channel: "q", size: $0, nonblocking: true, truncate: truncate) }),
                ProcessSpec(name: "writer", steps: params.ints("write_sizes").map { .send(channel: "q", data: .size($0)) }
                    + [.exit(code: 0)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sends = trace.queueSends(on: "q", by: "writer").filter { $0.result == 0 }
        let receives = trace.queueReceives(on: "q", by: "reader")
        let sizes = sends.map { Int64($0.payload?.bytes ?? 0) }
        // Walk the queue in order: a success takes the next message, E2BIG leaves it.
        var next = 0
        var exact: [TraceEvent] = []
        var larger: [TraceEvent] = []
        var refused: [(TraceEvent, Int64)] = []
        var cut: [(TraceEvent, Int64)] = []
        var keptAfterRefusal = true
        var refusedSize: Int64?
        for r in receives {
            guard next < sizes.count else { break }
            let message = sizes[next]
            let cap = r.int(.msgsz) ?? 0
            if let got = r.result, got >= 0 {
                if got == message { exact.append(r); if cap > message { larger.append(r) } } else { cut.append((r, message)) }
                if let s = refusedSize, s != message { keptAfterRefusal = false }
                refusedSize = nil
                next += 1
            } else if r.errno == "E2BIG" {
                refused.append((r, message))
                refusedSize = message
            }
        }
        func list(_ xs: [Int64]) -> String { xs.map(String.init).joined(separator: ", ") }
        let got = receives.compactMap { $0.result }.filter { $0 >= 0 }
        let kept: Observation
        if !cut.isEmpty || exact.isEmpty {
            kept = Observation(id: "mq.boundaries.boundaries_kept", claim: Self.keptClaim, holds: false, evidence: (sends + receives).seqs,
                               detail: "messages of \(list(sizes)) bytes were received as \(list(got))" + (cut.isEmpty ? "" : ": \(cut.count) cut short by MSG_NOERROR"))
        } else if larger.isEmpty {
            kept = Observation(id: "mq.boundaries.boundaries_kept", claim: Self.keptClaim, holds: false, evidence: (sends + receives).seqs,
                               detail: "messages of \(list(sizes)) bytes were received as \(list(got)), but no buffer was larger than its message, so this run does not show that messages are not merged")
        } else {
            kept = Observation(id: "mq.boundaries.boundaries_kept", claim: Self.keptClaim, holds: true, evidence: (sends + receives).seqs,
                               detail: "messages of \(list(sizes)) bytes were received as \(list(got)) with buffers of \(list(receives.compactMap { $0.int(.msgsz) })): \(larger.count) buffer(s) larger than the message still got exactly one message (a pipe would have filled them)")
        }

        let whole: Observation
        if let (r, size) = cut.first {
            whole = Observation(id: "mq.boundaries.whole_or_nothing", claim: Self.wholeClaim, holds: false, evidence: [r.seq],
                                detail: "with MSG_NOERROR, msgrcv cut a \(size)-byte message to \(r.result ?? 0) bytes: the other \(size - (r.result ?? 0)) are lost")
        } else if let (r, size) = refused.first {
            whole = Observation(id: "mq.boundaries.whole_or_nothing", claim: Self.wholeClaim, holds: keptAfterRefusal, evidence: refused.map(\.0.seq) + exact.map(\.seq),
                                detail: "msgrcv with a \(r.int(.msgsz) ?? 0)-byte buffer for a \(size)-byte message failed with E2BIG and took nothing"
                                    + (keptAfterRefusal ? "; the next msgrcv got the same message whole" : "; but the message did not stay queued"))
        } else {
            whole = Observation(id: "mq.boundaries.whole_or_nothing", claim: Self.wholeClaim, holds: false, evidence: receives.seqs,
                                detail: "no buffer was smaller than its message, so this run does not show what a too-small buffer gets")
        }
        return [kept, whole]
    }

    static let keptClaim = "Each msgrcv returns exactly one whole message, even when its buffer could hold more: a queue keeps message boundaries."
    static let wholeClaim = "A buffer too small for the next message takes nothing: msgrcv fails with E2BIG and the message stays queued (with MSG_NOERROR it is cut, the rest lost)."
}
