/// `sem.producer_consumer` — a bounded buffer in shared memory with three semaphores: `empty` (free
/// slots), `full` (filled slots) and `mutex` (one process touches the buffer at a time).
///
///     producer: P(empty) P(mutex) put item V(mutex) V(full)
///     consumer: P(full)  P(mutex) take item V(mutex) V(empty)
public struct SemProducerConsumer: Preset {
    public init() {}

    /// Bytes per slot of the buffer.
    static let slotSize = 16

    public let experiment = Experiment(
        id: "sem.producer_consumer",
        mechanism: "sem",
        title: "Producer and consumer on a bounded buffer",
        claim: "A bounded buffer in shared memory with three semaphores — empty (free slots), full (filled slots) and mutex — never overflows and loses nothing: the producer sleeps on empty when the buffer is full, the consumer on full when it is empty.",
        seed: "001, 004",
        parameters: [
            Parameter("type", .string, "The semaphores: \"posix_unnamed\" (sem_init in shared memory), \"posix_named\" or \"sysv\".",
                      default: "posix_unnamed", count: 4...13,
                      choices: SemaphoreChannel.Kind.allCases.map(\.rawValue)),
            Parameter("items", .integer, "How many items the producer makes.", default: 8, range: 1...32),
            Parameter("slots", .integer, "How many items the buffer holds (the initial value of empty).", default: 3, range: 1...16),
            Parameter("producer_ms", .integer, "How long the producer takes to make each item.", default: 0, range: 0...200),
            Parameter("consumer_ms", .integer, "How long the consumer takes with each item. Slower than the producer, the buffer fills.",
                      default: 5, range: 0...200),
        ],
        observations: ["sem.producer_consumer.all_in_order", "sem.producer_consumer.never_overfull",
                       "sem.producer_consumer.producer_waits_when_full"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try Choice.check(params, "type", SemaphoreChannel.Kind.allCases.map(\.rawValue))
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let type = SemaphoreChannel.Kind(rawValue: params.string("type") ?? "posix_unnamed") ?? .posixUnnamed
        let items = params.int("items") ?? 8
        let slots = params.int("slots") ?? 3
        let produce = params.int("producer_ms") ?? 0
        let consume = params.int("consumer_ms") ?? 5
        func semaphore(_ name: String, _ value: Int) -> Channel { .semaphore(name, type: type, value: value) }
        var producer: [Step] = []
        var consumer: [Step] = []
        for i in 0..<items {
            // One producer and one consumer: the i-th item goes to slot i mod slots, in both.
            let offset = (i % slots) * Self.slotSize
            if produce > 0 { producer.append(.sleep(ms: produce)) }
            producer += [.semWait("empty"), .semWait("mutex"), .store(channel: "buffer", offset: offset, data: "item \(i + 1)\u{0}"),
                         .semPost("mutex"), .semPost("full")]
            consumer += [.semWait("full"), .semWait("mutex"), .load(channel: "buffer", offset: offset, size: Self.slotSize),
                         .semPost("mutex"), .semPost("empty")]
            if consume > 0 { consumer.append(.sleep(ms: consume)) }
        }
        producer.append(.wait(process: "consumer"))
        return Scenario(
            channels: [
                Channel(name: "buffer", spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: slots * Self.slotSize))),
                semaphore("empty", slots),
                semaphore("full", 0),
                semaphore("mutex", 1),
            ],
            processes: [
                ProcessSpec(name: "producer", steps: producer),
                ProcessSpec(name: "consumer", steps: consumer),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let items = params.int("items") ?? 8
        let slots = params.int("slots") ?? 3
        let puts = trace.accesses("store", on: "buffer", by: "producer")
        let takes = trace.accesses("load", on: "buffer", by: "consumer")
        let expected = (1...items).map { "item \($0)" }
        let got = takes.map { $0.cString ?? "" }
        let inOrder = Observation(
            id: "sem.producer_consumer.all_in_order",
            claim: "The consumer takes every item exactly once, in the order the producer made them.",
            holds: got == expected,
            evidence: (puts + takes).sorted { $0.seq < $1.seq }.seqs,
            detail: got == expected
                ? "\(items) items through \(slots) slots, taken in order: \(got.first ?? "") … \(got.last ?? "")"
                : "the consumer took \(got.map { quoted($0) }.joined(separator: ", "))")

        // Items in the buffer when the k-th put began: puts so far minus takes that had ended.
        var worst = 0
        var worstPut: TraceEvent?
        for (k, put) in puts.enumerated() {
            let inside = k + 1 - takes.filter { ($0.endNs ?? $0.tNs) <= put.tNs }.count
            if inside > worst { worst = inside; worstPut = put }
        }
        let early = zip(puts, takes).filter { put, take in take.tNs < (put.endNs ?? put.tNs) }.map(\.1)
        let bounded = Observation(
            id: "sem.producer_consumer.never_overfull",
            claim: "The buffer never holds more items than it has slots, and no item is taken before it was put.",
            holds: worst <= slots && early.isEmpty && puts.count == items,
            evidence: early.isEmpty ? [worstPut].compactMap { $0?.seq } : early.seqs,
            detail: "at most \(worst) of \(slots) slots were full (when \(worstPut.flatMap(\.cString) ?? "?") was put)"
                + (early.isEmpty ? "" : "; \(early.count) items were taken before they were put"))

        let slept = trace.sleptUntilPost(on: "empty", by: "producer")
        let waits = Observation(
            id: "sem.producer_consumer.producer_waits_when_full",
            claim: "When the buffer is full the producer sleeps on empty until the consumer takes an item and posts empty.",
            holds: !slept.isEmpty,
            evidence: slept.flatMap { [$0.wait.seq, $0.post.seq] }.sorted(),
            detail: slept.isEmpty
                ? "the producer never found empty at 0: the buffer never filled (\(items) items, \(slots) slots, producer \(params.int("producer_ms") ?? 0) ms, consumer \(params.int("consumer_ms") ?? 5) ms per item)"
                : "the producer slept on empty \(slept.count) time\(slept.count == 1 ? "" : "s"): " + slept.prefix(4).map { $0.wait.tookMs }.joined(separator: ", "))
        return [inOrder, bounded, waits]
    }
}
