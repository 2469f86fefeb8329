/// `pipe.capacity` — a pipe holds a bounded number of bytes; a writer that fills it
/// blocks (or gets `EAGAIN` with `O_NONBLOCK`) until the reader drains it.
public struct PipeCapacity: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "pipe.capacity",
        mechanism: "pipe",
        title: "A pipe has a capacity",
        claim: "A pipe holds at most its capacity (F_GETPIPE_SZ, settable with F_SETPIPE_SZ). A write into a full pipe blocks until the reader makes room — or, with O_NONBLOCK, fails at once with EAGAIN.",
        seed: "001, 002",
        parameters: [
            Parameter("nonblocking", .boolean, "Set O_NONBLOCK on the writer's end: the write into the full pipe fails with EAGAIN instead of blocking.",
                      default: false),
            Parameter("pipe_size", .integer, "Ask for this capacity with F_SETPIPE_SZ (the kernel rounds it up to a power-of-two number of pages). Unset: the default.",
                      default: nil, range: Scenario.Bounds.pipeSize),
            Parameter("chunk_size", .integer, "Bytes per write while filling.", default: 4096, range: 1...65_536),
            Parameter("reader_delay_ms", .integer, "How long the reader sleeps before draining: the blocked write waits about this long.",
                      default: 100, range: 0...1000),
        ],
        observations: ["pipe.capacity.fills_at_capacity", "pipe.capacity.full_write_waits", "pipe.capacity.reader_drains"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        var writer: [Step] = [.close(channel: "p", end: .read)]
        if let size = params.int("pipe_size") { writer.append(.setPipeSize(channel: "p", size: size)) }
        writer.append(.getPipeSize(channel: "p"))
        if params.bool("nonblocking") == true { writer.append(.setNonblocking(channel: "p", end: .write, enabled: true)) }
        writer.append(.fill(channel: "p", size: params.int("chunk_size") ?? 4096))
        writer.append(.exit(code: 0))
        return Scenario(
            channels: [.pipe("p")],
            processes: [
                ProcessSpec(name: "reader", steps: [
                    .close(channel: "p", end: .write),
                    .sleep(ms: params.int("reader_delay_ms") ?? 100),
                    .readAll(channel: "p", size: 65_536),
                    .wait(process: "writer"),
                ]),
                ProcessSpec(name: "writer", steps: writer),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sizeQuery = trace.calls(.pipes(.fcntl), by: "writer", on: "p").filter { $0.arg(.cmd) == "F_GETPIPE_SZ" }
        let capacity = sizeQuery.last?.result ?? -1
        let writes = trace.calls(.pipes(.write), by: "writer", on: "p")
        let snapshots = trace.snapshots(of: "p")
        let full = snapshots.first { $0.value("bytes") == capacity && capacity > 0 }
        let lastWrite = writes.last
        let reads = trace.calls(.pipes(.read), by: "reader", on: "p")
        let written = writes.bytesMoved
        let drained = reads.bytesMoved
        let nonblocking = params.bool("nonblocking") == true

        let fills = Observation(
            id: "pipe.capacity.fills_at_capacity",
            claim: "A pipe holds a bounded number of bytes, its capacity, which F_GETPIPE_SZ reports.",
            holds: full != nil, evidence: sizeQuery.seqs + (full?.seq.map { [$0] } ?? []),
            detail: full != nil
                ? "F_GETPIPE_SZ said \(capacity) bytes, and FIONREAD showed \(capacity) bytes waiting when the pipe was full"
                : "the pipe never showed \(capacity) bytes waiting")

        let waits: Observation
        if nonblocking {
            let failed = lastWrite?.errno == "EAGAIN"
            waits = Observation(
                id: "pipe.capacity.full_write_waits",
                claim: "A write into a full pipe waits for room; with O_NONBLOCK it fails at once with EAGAIN.",
                holds: failed && full != nil, evidence: lastWrite.map { [$0.seq] } ?? [],
                detail: failed
                    ? "with O_NONBLOCK the write into the full pipe failed at once with EAGAIN after \(written) bytes fit"
                    : "the last write returned \(lastWrite?.result.map(String.init) ?? "nothing") \(lastWrite?.errno ?? "")")
        } else {
            let firstRead = reads.first
            let blocked = lastWrite?.blockedNs ?? 0
            let released = lastWrite.flatMap { w in firstRead.map { r in (w.endNs ?? 0) >= r.tNs } } ?? false
            waits = Observation(
                id: "pipe.capacity.full_write_waits",
                claim: "A write into a full pipe waits for room; with O_NONBLOCK it fails at once with EAGAIN.",
                holds: released && (lastWrite?.result ?? 0) > 0,
                evidence: [lastWrite, firstRead].compactMap { $0?.seq },
                detail: String(format: "the write into the full pipe blocked for %.3f ms and returned only after the reader's first read began",
                               Double(blocked) / 1e6))
        }
        let drains = Observation(
            id: "pipe.capacity.reader_drains",
            claim: "The reader drains every byte the writer put in the pipe.",
            holds: written > 0 && written == drained, evidence: reads.seqs,
            detail: "\(written) bytes written, \(drained) bytes read in \(reads.filter { ($0.result ?? 0) > 0 }.count) reads")
        return [fills, waits, drains]
    }
}
