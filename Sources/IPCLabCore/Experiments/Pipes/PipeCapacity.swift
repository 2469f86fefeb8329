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
            Parameter("reader_delay_ms", .integer, "How long the reader sleeps, once the writer found the pipe full, before draining: the blocked write waits about this long.",
                      default: 100, range: 0...1000),
        ],
        observations: ["pipe.capacity.fills_at_capacity", "pipe.capacity.full_write_waits", "pipe.capacity.reader_drains"]
    )

    /// Writes a fill may make: each is recorded with the pipe's state after it (two records), and a
    /// run's trace holds 16384 records by default. Past this the fill could not be shown to the end.
    static let maxFillWrites = 6000

    /// How many writes of `chunk` bytes fill a pipe of `capacity` bytes, as the kernel packs them:
    /// a write smaller than a page shares the last page only if it fits there whole.
    public static func writesToFill(capacity: Int, chunk: Int) -> Int {
        let page = 4096
        if chunk >= page { return (capacity + chunk - 1) / chunk + 1 }
        return (capacity / page) * (page / chunk) + 1
    }

    public func validate(_ params: Parameters) throws(LabError) {
        let chunk = params.int("chunk_size") ?? 4096
        // F_SETPIPE_SZ rounds up to a power-of-two number of pages.
        var capacity = 65_536
        if let asked = params.int("pipe_size") {
            capacity = 4096
            while capacity < asked { capacity *= 2 }
        }
        let writes = Self.writesToFill(capacity: capacity, chunk: chunk)
        if writes > Self.maxFillWrites {
            throw LabError(.invalidParameter,
                           "filling \(capacity) bytes with \(chunk)-byte writes takes about \(writes) writes, each recorded with the pipe's state: more than a run's trace can show (at most \(Self.maxFillWrites) writes); use a larger chunk_size or a smaller pipe_size",
                           path: "params.chunk_size")
        }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let nonblocking = params.bool("nonblocking") == true
        let chunk = params.int("chunk_size") ?? 4096
        var writer: [Step] = [.close(channel: "p", end: .read)]
        if let size = params.int("pipe_size") { writer.append(.setPipeSize(channel: "p", size: size)) }
        writer.append(.getPipeSize(channel: "p"))
        // The fill writes without waiting until the kernel says EAGAIN; only then is the reader told to
        // start, so a slow fill on a busy machine is never drained before it is full.
        writer += [.setNonblocking(channel: "p", end: .write, enabled: true), .fill(channel: "p", size: chunk)]
        if !nonblocking { writer.append(.setNonblocking(channel: "p", end: .write, enabled: false)) }
        writer.append(ReadyPipe.signal)
        if !nonblocking { writer.append(.write(channel: "p", data: .size(chunk), repeat: 1)) }
        writer.append(.exit(code: 0))
        return Scenario(
            channels: [.pipe("p"), ReadyPipe.channel],
            processes: [
                ProcessSpec(name: "reader", steps: [
                    .close(channel: "p", end: .write),
                    ReadyPipe.await,
                    .sleep(ms: params.int("reader_delay_ms") ?? 100),
                    .readAll(channel: "p", size: 65_536),
                    .wait(process: "writer"),
                ]),
                ProcessSpec(name: "writer", steps: writer),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sizeQuery = trace.calls("fcntl", by: "writer", on: "p").filter { $0.arg("cmd") == "F_GETPIPE_SZ" }
        let capacity = sizeQuery.last?.result ?? -1
        let writes = trace.calls("write", by: "writer", on: "p")
        let reads = trace.calls("read", by: "reader", on: "p")
        let written = writes.bytesMoved
        let drained = reads.bytesMoved
        let nonblocking = params.bool("nonblocking") == true
        let chunk = params.int("chunk_size") ?? 4096

        // Full is what the kernel said: a write that got EAGAIN. The bytes waiting then are the last
        // FIONREAD before it.
        let eagain = writes.first { $0.errno == "EAGAIN" }
        let waiting = eagain.flatMap { e in trace.state(of: "p", before: e.tNs)?.value("bytes") }
        let fullAt = waiting ?? -1
        let fillsHold = eagain != nil && fullAt > 0 && fullAt <= capacity
        let slots = capacity > 0 ? capacity / 4096 : 0
        let unused = fullAt < capacity && fullAt > 0
            ? ": the capacity is \(slots) page-sized slots, and \(chunk)-byte writes leave part of each page unused (a write goes into the last page only if it fits there whole)"
            : ""
        let fills = Observation(
            id: "pipe.capacity.fills_at_capacity",
            claim: "A pipe holds a bounded number of bytes: F_GETPIPE_SZ reports its capacity, and once its page-sized slots are used the kernel takes no more (EAGAIN without waiting).",
            holds: fillsHold, evidence: sizeQuery.seqs + (eagain.map { [$0.seq] } ?? []),
            detail: eagain != nil
                ? "F_GETPIPE_SZ said \(capacity) bytes; with \(fullAt) bytes waiting (FIONREAD) the kernel refused a further \(chunk)-byte write with EAGAIN" + unused
                : "no write got EAGAIN: the kernel never said the pipe was full (\(written) bytes written)")

        let waits: Observation
        if nonblocking {
            let last = writes.last
            let failed = last?.errno == "EAGAIN"
            waits = Observation(
                id: "pipe.capacity.full_write_waits",
                claim: "A write into a full pipe waits for room; with O_NONBLOCK it fails at once with EAGAIN.",
                holds: failed && fillsHold, evidence: last.map { [$0.seq] } ?? [],
                detail: failed
                    ? "with O_NONBLOCK the write into the full pipe failed at once with EAGAIN after \(written) bytes fit"
                    : "the last write returned \(last?.outcomeText ?? "nothing")")
        } else {
            // The blocking write is the one after the EAGAIN; it waited only if it was still in the kernel
            // when the reader's read that made room began, and the pipe had not been drained before it began.
            let blocking = eagain.flatMap { e in writes.first { $0.tNs > e.tNs } }
            let release = blocking.flatMap { b in reads.first { ($0.endNs ?? .max) > b.tNs && ($0.result ?? 0) > 0 } }
            let before = blocking.flatMap { b in trace.state(of: "p", before: b.tNs)?.value("bytes") } ?? -1
            let verdict = blocking.map {
                WaitVerdict.judge($0, release: release, full: fillsHold && before >= fullAt,
                                  state: "FIONREAD showed \(before) bytes waiting when it began, fewer than the \(fullAt) at EAGAIN")
            }
            let ok = verdict?.holds == true && (blocking?.result ?? 0) > 0
            let detail: String
            switch verdict {
            case .waited(let ns)?:
                detail = "after EAGAIN, the blocking write into the full pipe began before the reader's first read and returned \(blocking?.result ?? 0) only after it began: it waited \(milliseconds(ns)) for room"
            case .didNotWait(true)?:
                detail = "the reader's read had begun before the blocking write did: the pipe had room again, so this run does not show a write waiting"
            case .didNotWait(false)?:
                detail = "the blocking write returned \(blocking?.outcomeText ?? "?") before the reader's read began: it did not wait"
            case .notFull(let why)?:
                detail = "the pipe was not full when the blocking write began: " + why
            case .noRelease?:
                detail = "no read of the reader moved bytes after the blocking write began"
            case nil:
                detail = eagain == nil ? "no write got EAGAIN, so no write was made into a full pipe" : "no blocking write followed the EAGAIN"
            }
            waits = Observation(
                id: "pipe.capacity.full_write_waits",
                claim: "A write into a full pipe waits for room; with O_NONBLOCK it fails at once with EAGAIN.",
                holds: ok, evidence: [eagain, blocking, release].compactMap { $0?.seq }, detail: detail)
        }
        let drains = Observation(
            id: "pipe.capacity.reader_drains",
            claim: "The reader drains every byte the writer put in the pipe.",
            holds: written > 0 && written == drained, evidence: reads.seqs,
            detail: "\(written) bytes written, \(drained) bytes read in \(reads.filter { ($0.result ?? 0) > 0 }.count) reads")
        return [fills, waits, drains]
    }
}
