/// `fifo.rendezvous` — mkfifo, then opening for reading blocks until a writer opens, and the
/// other way round; two processes that share no descriptor meet by path.
public struct FIFORendezvous: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "fifo.rendezvous",
        mechanism: "fifo",
        title: "Meeting at a FIFO",
        claim: "A FIFO is a pipe with a name in the file system. Processes that share no descriptor open it by path, and the opens meet: opening for reading blocks until a writer opens, opening for writing blocks until a reader opens.",
        seed: "001, 002",
        parameters: [
            Parameter("delay_ms", .integer, "How long the second side waits before it opens: the first side's open blocks about that long.",
                      default: 100, range: 0...2000),
            Parameter("message", .string, "What the writer writes through each FIFO.", default: "hello through a FIFO", count: 1...4096),
            Parameter("nonblocking", .boolean,
                      "Open with O_NONBLOCK: nobody waits — a reader's open returns at once (and finds no writer: end of file), a writer's open fails with ENXIO while there is no reader.",
                      default: false),
        ],
        observations: ["fifo.rendezvous.reader_waits_for_writer", "fifo.rendezvous.writer_waits_for_reader", "fifo.rendezvous.met_by_path"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let ms = params.int("delay_ms") ?? 100
        let delay = Step.sleep(ms: ms)
        let nb = params.bool("nonblocking") ?? false
        // Blocking, the writer reaches fifo_b as the reader finishes fifo_a, and waits `delay` for it.
        // Non-blocking, nobody waits at fifo_a, so both would reach fifo_b after `delay`: the reader
        // comes later still, so that the writer's open finds no reader.
        let readerDelay = Step.sleep(ms: nb ? 2 * ms : ms)
        let message = PipeStep.Data.text(params.string("message") ?? "hello")
        return Scenario(
            channels: [.fifo("fifo_a", path: "/tmp/fifo_a"), .fifo("fifo_b", path: "/tmp/fifo_b")],
            processes: [
                ProcessSpec(name: "parent", steps: [.wait(process: "reader"), .wait(process: "writer")]),
                // fifo_a: the reader opens first and waits; fifo_b: the writer opens first and waits.
                ProcessSpec(name: "reader", steps: [
                    .open(channel: "fifo_a", end: .read, nonblocking: nb), .readAll(channel: "fifo_a", size: 4096),
                    .close(channel: "fifo_a", end: .read),
                    readerDelay, .open(channel: "fifo_b", end: .read, nonblocking: nb), .readAll(channel: "fifo_b", size: 4096),
                    .close(channel: "fifo_b", end: .read),
                ]),
                ProcessSpec(name: "writer", steps: [
                    delay, .open(channel: "fifo_a", end: .write, nonblocking: nb), .write(channel: "fifo_a", data: message, repeat: 1),
                    .close(channel: "fifo_a", end: .write),
                    .open(channel: "fifo_b", end: .write, nonblocking: nb), .write(channel: "fifo_b", data: message, repeat: 1),
                    .close(channel: "fifo_b", end: .write),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        func opens(_ fifo: String) -> (reader: TraceEvent?, writer: TraceEvent?) {
            (trace.calls("open", by: "reader", on: fifo).first, trace.calls("open", by: "writer", on: fifo).first)
        }
        let ms = { (ns: Int64?) in String(format: "%.3f ms", Double(ns ?? 0) / 1e6) }
        func waits(_ fifo: String, first: TraceEvent?, second: TraceEvent?, firstName: String, secondName: String,
                   id: String, claim: String) -> Observation {
            // Waited for the other side: already in open when the other's open began, and returned after.
            let met = (first?.result ?? -1) >= 0 && (second?.result ?? -1) >= 0
                && first!.blocked(until: second!)
            let detail: String
            if met {
                detail = "\(firstName)'s open of \(fifo) blocked \(ms(first!.blockedNs)) and returned fd \(first!.result!) only after \(secondName)'s open began (at \(ms(second!.tNs)))"
            } else {
                let late = first != nil && second != nil && first!.tNs >= second!.tNs
                detail = "\(firstName)'s open of \(fifo) returned \(first?.outcomeText ?? "nothing") after \(ms(first?.blockedNs)); \(secondName)'s returned \(second?.outcomeText ?? "nothing")"
                    + (late ? "; \(secondName)'s open had begun first, so this run does not show \(firstName) waiting" : "")
                    + (first?.arg("flags")?.compactText.contains("O_NONBLOCK") == true ? ": with O_NONBLOCK nobody waits" : "")
            }
            return Observation(id: id, claim: claim, holds: met, evidence: [first, second].compactMap { $0?.seq }, detail: detail)
        }
        let a = opens("fifo_a")
        let b = opens("fifo_b")
        let made = trace.calls("mkfifo")
        var carried: [String] = []
        var delivered = made.count == 2 && made.allSatisfy { $0.result == 0 }
        for fifo in ["fifo_a", "fifo_b"] {
            let wrote = trace.calls("write", by: "writer", on: fifo).bytesMoved
            let read = trace.calls("read", by: "reader", on: fifo).bytesMoved
            if wrote == 0 || wrote != read { delivered = false }
            carried.append("\(fifo) (\(trace.scenario.channel(named: fifo)?.path ?? "?")): \(wrote) bytes written, \(read) read")
        }
        return [
            waits("fifo_a", first: a.reader, second: a.writer, firstName: "the reader", secondName: "the writer",
                  id: "fifo.rendezvous.reader_waits_for_writer",
                  claim: "Opening a FIFO for reading blocks until a writer opens it."),
            waits("fifo_b", first: b.writer, second: b.reader, firstName: "the writer", secondName: "the reader",
                  id: "fifo.rendezvous.writer_waits_for_reader",
                  claim: "Opening a FIFO for writing blocks until a reader opens it."),
            Observation(
                id: "fifo.rendezvous.met_by_path",
                claim: "Processes that share no descriptor meet through the FIFO's path: what the writer writes, the reader reads.",
                holds: delivered, evidence: (made + trace.calls("write", by: "writer") + trace.calls("read", by: "reader")).seqs.sorted(),
                detail: "mkfifo: \(made.map(\.outcomeText).joined(separator: ", ")); " + carried.joined(separator: "; ")),
        ]
    }
}
