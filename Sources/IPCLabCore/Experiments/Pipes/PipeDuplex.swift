/// `pipe.duplex` — a pipe is one-way: two-way talk needs two pipes, one each way.
public struct PipeDuplex: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "pipe.duplex",
        mechanism: "pipe",
        title: "Two pipes for two-way talk",
        claim: "A pipe carries bytes one way. For a conversation each direction needs its own pipe: with a single pipe, a process that writes and then reads may read back its own message.",
        seed: "004",
        parameters: [
            Parameter("pipes", .integer, "How many pipes the two processes talk through. With 1, the parent reads back its own message and the child waits forever (the run times out).",
                      default: 2, range: 1...2),
            Parameter("message", .string, "What the parent sends.", default: "ping", count: 1...256),
            Parameter("reply", .string, "What the child answers.", default: "pong", count: 1...256),
            Parameter("child_delay_ms", .integer, "How long the child takes before reading.", default: 50, range: 0...1000),
        ],
        observations: ["pipe.duplex.each_reads_the_other", "pipe.duplex.one_way_each"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let message = PipeStep.Data.text(params.string("message") ?? "ping")
        let reply = PipeStep.Data.text(params.string("reply") ?? "pong")
        let delay = Step.sleep(ms: params.int("child_delay_ms") ?? 50)
        if params.int("pipes") == 1 {
            return Scenario(
                channels: [.pipe("p")],
                processes: [
                    ProcessSpec(name: "parent", steps: [
                        .write(channel: "p", data: message, repeat: 1), .read(channel: "p", size: 256, repeat: 1), .wait(process: "child"),
                    ]),
                    ProcessSpec(name: "child", steps: [delay, .read(channel: "p", size: 256, repeat: 1), .write(channel: "p", data: reply, repeat: 1)]),
                ])
        }
        return Scenario(
            channels: [.pipe("down"), .pipe("up")],
            processes: [
                ProcessSpec(name: "parent", steps: [
                    .close(channel: "down", end: .read), .close(channel: "up", end: .write),
                    .write(channel: "down", data: message, repeat: 1), .read(channel: "up", size: 256, repeat: 1), .wait(process: "child"),
                ]),
                ProcessSpec(name: "child", steps: [
                    .close(channel: "down", end: .write), .close(channel: "up", end: .read), delay,
                    .read(channel: "down", size: 256, repeat: 1), .write(channel: "up", data: reply, repeat: 1),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let message = Array((params.string("message") ?? "").utf8)
        let reply = Array((params.string("reply") ?? "").utf8)
        let parentRead = trace.calls(.pipes(.read), by: "parent").first
        let childRead = trace.calls(.pipes(.read), by: "child").first
        func got(_ e: TraceEvent?) -> [UInt8]? { e?.payload.map(\.preview) }
        let ok = got(parentRead) == Array(reply.prefix(Payload.previewLimit)) && got(childRead) == Array(message.prefix(Payload.previewLimit))
            && parentRead?.result == Int64(reply.count) && childRead?.result == Int64(message.count)
        func show(_ e: TraceEvent?) -> String {
            guard let e else { return "did not read" }
            return e.payload.map { "read \($0.quotedText)" } ?? "read \(e.outcomeText)"
        }
        // Per pipe: who wrote into it and who read from it.
        var directions: [String] = []
        var oneWay = true
        for channel in trace.scenario.channels.map(\.name) {
            let writers = Set(trace.calls(.pipes(.write), on: channel).filter { ($0.result ?? 0) > 0 }.map(\.process))
            let readers = Set(trace.calls(.pipes(.read), on: channel).map(\.process))
            if writers.count != 1 || readers.count != 1 || !writers.isDisjoint(with: readers) { oneWay = false }
            directions.append("\(channel): written by \(writers.sorted().joined(separator: ", ")), read by \(readers.sorted().joined(separator: ", "))")
        }
        let evidence = (trace.calls(.pipes(.write)) + trace.calls(.pipes(.read))).filter { $0.channel != nil }.seqs.sorted()
        return [
            Observation(
                id: "pipe.duplex.each_reads_the_other",
                claim: "Each process reads what the other wrote: the child the parent's message, the parent the child's reply.",
                holds: ok, evidence: [parentRead, childRead].compactMap { $0?.seq },
                detail: "the child \(show(childRead)); the parent \(show(parentRead))"
                    + (got(parentRead) == Array(message.prefix(Payload.previewLimit)) ? " — its own message, back from the one pipe" : "")
                    + (trace.run.outcome == .timeout ? "; the child then waited for a message that never came, until the run's time ran out" : "")),
            Observation(
                id: "pipe.duplex.one_way_each",
                claim: "Each pipe carries bytes one way: one process writes it, the other reads it.",
                holds: oneWay, evidence: evidence,
                detail: directions.joined(separator: "; ")),
        ]
    }
}
