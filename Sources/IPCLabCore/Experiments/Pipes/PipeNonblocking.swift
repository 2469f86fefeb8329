/// `pipe.nonblocking` — a read with O_NONBLOCK on an empty pipe fails at once with EAGAIN;
/// a blocking read waits for data.
public struct PipeNonblocking: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "pipe.nonblocking",
        mechanism: "pipe",
        title: "Blocking and non-blocking reads",
        claim: "A read on an empty pipe waits until a writer writes — unless the read end has O_NONBLOCK, and then it fails at once with EAGAIN.",
        seed: "002",
        parameters: [
            Parameter("nonblocking", .boolean, "Whether the reader's first read is non-blocking (O_NONBLOCK via fcntl).", default: true),
            Parameter("writer_delay_ms", .integer, "How long the writer waits before writing.", default: 100, range: 0...2000),
            Parameter("message", .string, "What the writer writes.", default: "late data", count: 1...4096),
        ],
        observations: ["pipe.nonblocking.eagain_when_empty", "pipe.nonblocking.blocking_read_waits"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let nonblocking = params.bool("nonblocking") ?? true
        var reader: [Step] = [.close(channel: "p", end: .write)]
        if nonblocking { reader.append(.setNonblocking(channel: "p", end: .read, enabled: true)) }
        reader.append(.read(channel: "p", size: 4096, repeat: 1))
        if nonblocking { reader.append(.setNonblocking(channel: "p", end: .read, enabled: false)) }
        reader += [.read(channel: "p", size: 4096, repeat: 1), .wait(process: "writer")]
        return Scenario(
            channels: [.pipe("p")],
            processes: [
                ProcessSpec(name: "reader", steps: reader),
                ProcessSpec(name: "writer", steps: [
                    .close(channel: "p", end: .read), .sleep(ms: params.int("writer_delay_ms") ?? 100),
                    .write(channel: "p", data: .text(params.string("message") ?? "late data"), repeat: 1),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let reads = trace.calls("read", by: "reader", on: "p")
        let write = trace.calls("write", by: "writer", on: "p").first
        let first = reads.first
        let eagain = first?.errno == "EAGAIN" && (write.map { (first?.endNs ?? .max) < $0.tNs } ?? true)
        let flags = trace.calls("fcntl", by: "reader", on: "p").filter { $0.arg("cmd") == "F_SETFL" }
        let blocking = reads.first { $0.errno == nil && ($0.result ?? 0) > 0 }
        // It waited only if it was already in the kernel when the write began, and returned after.
        let waited = blocking != nil && write != nil && blocking!.blocked(until: write!)
        let ms = { (ns: Int64?) in String(format: "%.3f ms", Double(ns ?? 0) / 1e6) }
        return [
            Observation(
                id: "pipe.nonblocking.eagain_when_empty",
                claim: "A read with O_NONBLOCK on an empty pipe fails at once with EAGAIN.",
                holds: eagain, evidence: (flags.prefix(1) + [first].compactMap { $0 }).seqs,
                detail: eagain
                    ? "with O_NONBLOCK set, read on the empty pipe returned -1 EAGAIN after \(ms(first?.endNs.map { $0 - first!.tNs })), before the writer wrote"
                    : "the first read was blocking: it returned \(first?.outcomeText ?? "nothing") after waiting \(ms(first?.blockedNs))"),
            Observation(
                id: "pipe.nonblocking.blocking_read_waits",
                claim: "A blocking read on an empty pipe waits until the writer writes, then returns the data.",
                holds: waited, evidence: [blocking, write].compactMap { $0?.seq },
                detail: waited
                    ? "the blocking read waited \(ms(blocking!.blockedNs)) and returned \(blocking!.result!) bytes \(blocking!.payload?.quotedText ?? "") once the writer wrote"
                    : blocking != nil && write != nil && blocking!.tNs >= write!.tNs
                    ? "the writer had already written when the blocking read began: the pipe was not empty, so this run does not show a read waiting"
                    : "no blocking read returned the writer's data"),
        ]
    }
}
