/// `pipe.sigpipe` — writing into a pipe nobody can read: SIGPIPE kills the writer by default;
/// with SIGPIPE ignored (or handled) the write fails with EPIPE.
public struct PipeSigpipe: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "pipe.sigpipe",
        mechanism: "pipe",
        title: "Writing with no reader: SIGPIPE",
        claim: "A write into a pipe whose read ends are all closed cannot succeed: the kernel sends the writer SIGPIPE, whose default action kills it; with SIGPIPE ignored or handled, the write fails with EPIPE instead.",
        seed: "004",
        parameters: [
            .choice("disposition", "The writer's SIGPIPE disposition.", default: "default", ["default", "ignore", "handle"]),
            Parameter("writer_closes_read_end", .boolean,
                      "Whether the writer closes its own read end. With false the writer is still a reader itself, so its second write succeeds and no SIGPIPE comes.",
                      default: true),
        ],
        observations: ["pipe.sigpipe.write_fails", "pipe.sigpipe.disposition_decides"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        var writer: [Step] = (params.bool("writer_closes_read_end") ?? true) ? [.close(channel: "p", end: .read)] : []
        let action = SignalStep.Action(rawValue: params.string("disposition") ?? "default") ?? .default
        if action != .default { writer.append(.sigaction(.sigpipe, action)) }
        writer += [
            .write(channel: "p", data: .text("first"), repeat: 1),
            .wait(process: "reader"),
            .write(channel: "p", data: .text("second"), repeat: 1),
        ]
        return Scenario(
            channels: [.pipe("p")],
            processes: [
                ProcessSpec(name: "writer", steps: writer),
                ProcessSpec(name: "reader", steps: [.close(channel: "p", end: .write), .read(channel: "p", size: 64, repeat: 1)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let action = params.string("disposition") ?? "default"
        let writes = trace.calls(.pipes(.write), by: "writer", on: "p")
        let first = writes.first
        let second = writes.dropFirst().first
        let readerGone = trace.calls(.process(.wait4), by: "writer").first
        let delivered = trace.deliveries(to: "writer", of: .sigpipe).first
        let exit = trace.process("writer")?.exit
        let killed = exit == .signal(name: "SIGPIPE", coreDumped: false) && second?.returned == false
        let epipe = second?.result == -1 && second?.errno == "EPIPE"
        let fails = killed || epipe
        let why = "the reader had read \(first?.result.map(String.init) ?? "?") bytes and exited (\(trace.ending(of: "reader")))"
        let decides: Bool = switch action {
        case "ignore": epipe && exit == .code(0) && delivered == nil
        case "handle": epipe && exit == .code(0) && delivered != nil
        default: killed
        }
        let seen = killed ? "the second write never returned: SIGPIPE killed the writer"
            : epipe ? "the second write returned -1 EPIPE" + (delivered.map { " after the handler got \($0.deliverySummary)" } ?? "") + "; the writer \(trace.ending(of: "writer"))"
            : "the second write returned \(second?.outcomeText ?? "nothing")"
        return [
            Observation(
                id: "pipe.sigpipe.write_fails",
                claim: "A write into a pipe whose read ends are all closed does not succeed.",
                holds: fails, evidence: [first, readerGone, second].compactMap { $0?.seq },
                detail: fails
                    ? "\(why); \(seen)"
                    : "\(seen): a read end was still open" + (params.bool("writer_closes_read_end") == false ? " — the writer's own, which it never closed" : "")),
            Observation(
                id: "pipe.sigpipe.disposition_decides",
                claim: "By default SIGPIPE kills the writer; ignored, the write fails with EPIPE and the writer goes on; handled, the handler runs and the write fails with EPIPE.",
                holds: decides, evidence: [second, delivered].compactMap { $0?.seq },
                detail: "SIGPIPE disposition \(action): \(seen)"),
        ]
    }
}
