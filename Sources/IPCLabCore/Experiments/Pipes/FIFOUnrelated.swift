/// `fifo.unrelated` — a FIFO between processes no pipe could join: the reader makes it with mkfifo
/// after it was forked, and the writer, the reader's sibling (so not its descendant), finds it by path.
///
/// Every process of a run is forked by the run's first process (the process model), so two processes
/// "not related by fork" at all cannot be had; what a pipe needs and a FIFO does not is a common
/// ancestor that made it: here the maker is one of the two ends, and the other never descended from it.
public struct FIFOUnrelated: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "fifo.unrelated",
        mechanism: "fifo",
        title: "A FIFO between processes no pipe could join",
        claim: "A pipe reaches only the descendants of the process that made it, through inherited descriptors. A FIFO is found by its path: the reader makes one after it was forked, and the writer — its sibling, not its descendant, holding nothing of the FIFO — opens it by name and writes to it.",
        seed: "001, 002",
        parameters: [
            Parameter("delay_ms", .integer,
                      "How long the writer waits before it opens the path; the reader's open blocks about that long. With a very small delay the writer may come before the reader made the FIFO: its open fails with ENOENT, and the trace says so.",
                      default: 100, range: 0...2000),
            Parameter("message", .string, "What the writer writes through the FIFO.", default: "hello from a process that inherited nothing",
                      count: 1...4096),
        ],
        observations: ["fifo.unrelated.maker_not_an_ancestor", "fifo.unrelated.met_by_path"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let message = PipeStep.Data.text(params.string("message") ?? "hello")
        return Scenario(
            channels: [.fifo("f", path: "/tmp/rendezvous", beforeFork: false)],
            processes: [
                ProcessSpec(name: "parent", steps: [.wait(process: "reader"), .wait(process: "writer")]),
                ProcessSpec(name: "reader", steps: [
                    .mkfifo(channel: "f"), .open(channel: "f", end: .read), .readAll(channel: "f", size: 4096),
                    .close(channel: "f", end: .read),
                ]),
                ProcessSpec(name: "writer", steps: [
                    .sleep(ms: params.int("delay_ms") ?? 100), .open(channel: "f", end: .write),
                    .write(channel: "f", data: message, repeat: 1), .close(channel: "f", end: .write),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let made = trace.calls(.fifos(.mkfifo), on: "f")
        let mkfifo = made.first { $0.process == "reader" && $0.step != nil }
        let readerOpen = trace.calls(.fifos(.open), by: "reader", on: "f").first
        let writerOpen = trace.calls(.fifos(.open), by: "writer", on: "f").first
        let writerParent = trace.processes.first { $0.name == "writer" }?.parent
        let forkOfWriter = trace.calls(.process(.fork), by: writerParent ?? "parent").first { ($0.result ?? -1) == Int64(trace.processes.first { $0.name == "writer" }?.pid ?? -2) }
        // Nothing of the FIFO existed before fork (one mkfifo, the reader's step), and no one but the two ends opened it.
        let openers = Set(trace.calls(.fifos(.open), on: "f").map(\.process))
        let madeAfterFork = made.count == 1 && mkfifo?.result == 0
        let notDescendant = writerParent != nil && writerParent != "reader"
        let writerOK = (writerOpen?.result ?? -1) >= 0
        let after = writerOpen.map { w in mkfifo.map { w.tNs > ($0.endNs ?? .max) } ?? false } ?? false
        let maker = madeAfterFork && notDescendant && writerOK && after && openers == ["reader", "writer"]
        let makerDetail: String
        if !madeAfterFork {
            makerDetail = "mkfifo: \(made.map { "\($0.process) \($0.outcomeText)" }.joined(separator: ", ")); the reader's own mkfifo step did not make it alone"
        } else if !notDescendant {
            makerDetail = "the writer's parent is \(writerParent ?? "unknown"): it is not shown apart from the FIFO's maker"
        } else if !writerOK || !after {
            makerDetail = "the writer's open returned \(writerOpen?.outcomeText ?? "nothing")" + (after ? "" : ", before the reader's mkfifo had made the FIFO (delay_ms \(params.int("delay_ms") ?? 100) was too short)")
        } else {
            makerDetail = "the reader made \(trace.scenario.channel(named: "f")?.path ?? "the FIFO") at its step \(mkfifo!.step! + 1), after it was forked; the writer, a child of \(writerParent!) and not of the reader, opened that path (fd \(writerOpen!.result!)): nothing of the FIFO was inherited by anyone"
        }

        let wrote = trace.calls(.pipes(.write), by: "writer", on: "f")
        let read = trace.calls(.pipes(.read), by: "reader", on: "f")
        let sent = Array((params.string("message") ?? "").utf8)
        let got = read.compactMap(\.payload).flatMap(\.preview)
        let delivered = wrote.bytesMoved == Int64(sent.count) && read.bytesMoved == wrote.bytesMoved
            && (sent.count > 64 || got == sent)
        var met = false
        if let r = readerOpen, let w = writerOpen, (r.result ?? -1) >= 0, (w.result ?? -1) >= 0 {
            met = r.blocked(until: w) || w.blocked(until: r)
        }
        let metDetail = met
            ? "\(readerOpen!.blocked(until: writerOpen!) ? "the reader's open waited \(readerOpen!.tookMs) for the writer's" : "the writer's open waited \(writerOpen!.tookMs) for the reader's"); the writer wrote \(wrote.bytesMoved) bytes and the reader read \(read.bytesMoved)"
            : "the reader's open returned \(readerOpen?.outcomeText ?? "nothing") and the writer's \(writerOpen?.outcomeText ?? "nothing"); neither waited for the other; the writer wrote \(wrote.bytesMoved) bytes and the reader read \(read.bytesMoved)"
        return [
            Observation(
                id: "fifo.unrelated.maker_not_an_ancestor",
                claim: "The FIFO was made by the reader after fork, and opened by the writer, which is not the reader's descendant and inherited nothing of it: a pipe made by the reader could never have reached it.",
                holds: maker,
                evidence: ([forkOfWriter, mkfifo, writerOpen].compactMap { $0 }).seqs.sorted(),
                detail: makerDetail),
            Observation(
                id: "fifo.unrelated.met_by_path",
                claim: "The two opens of the path met — the first waited for the other — and what the writer wrote, the reader read.",
                holds: met && delivered,
                evidence: ([readerOpen, writerOpen].compactMap { $0 } + wrote + read).seqs.sorted(),
                detail: metDetail),
        ]
    }
}
