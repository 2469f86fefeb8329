/// `pipe.eof` — read returns 0 once every write end is closed; a reader that keeps a
/// write end open never sees end of file (the classic bug).
public struct PipeEOF: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "pipe.eof",
        mechanism: "pipe",
        title: "End of file on a pipe",
        claim: "read on a pipe returns 0 (end of file) only once every write end is closed — in every process. A reader that forgets to close its own write end waits forever.",
        seed: "001, 004",
        parameters: [
            Parameter("close_unused_ends", .boolean, "Whether each process closes the pipe end it does not use. With false the reader keeps a write end open and the run times out.",
                      default: true),
            Parameter("message", .string, "What the writer writes before it exits.", default: "some bytes, then the end", count: 1...4096),
        ],
        observations: ["pipe.eof.read_returns_zero"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let close = params.bool("close_unused_ends") ?? true
        return Scenario(
            channels: [.pipe("p")],
            processes: [
                ProcessSpec(name: "reader", steps: (close ? [.close(channel: "p", end: .write)] : [])
                    + [.readAll(channel: "p", size: 64), .wait(process: "writer")]),
                ProcessSpec(name: "writer", steps: (close ? [.close(channel: "p", end: .read)] : [])
                    + [.write(channel: "p", data: .text(params.string("message") ?? "x"), repeat: 1), .exit(code: 0)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let reads = trace.calls(.pipes(.read), by: "reader", on: "p")
        let pipeMade = trace.calls(.pipes(.pipe), on: "p")
        let readerClosedWrite = trace.calls(.pipes(.close), by: "reader", on: "p").filter { $0.arg(.end) == "write" && $0.result == 0 }
        let writerExit = trace.process("writer")?.exit
        if let last = reads.last, last.returned, last.result == 0 {
            // Who closed a write end before that read (the ends nobody closed went when their process exited).
            let closed = trace.calls(.pipes(.close), on: "p").filter { $0.arg(.end) == "write" && $0.result == 0 && $0.tNs < last.tNs }
            let closers = closed.map { "\($0.process) closed a write end (#\($0.seq))" }
            let writerClosed = closed.contains { $0.process == "writer" }
            return [Observation(
                id: "pipe.eof.read_returns_zero",
                claim: "read returns 0 (end of file) once every write end of the pipe is closed.",
                holds: true, evidence: (pipeMade + closed + [last]).sorted { $0.seq < $1.seq }.seqs,
                detail: (closers + (writerClosed ? [] : ["the writer's closed when it exited"])).joined(separator: ", ")
                    + "; read returned 0 after \(Array(reads.dropLast()).bytesMoved) bytes")]
        }
        let stuck = reads.last.map { $0.returned ? "" : "its read(\($0.arg(.fd)?.compactText ?? "?")) never returned; " } ?? ""
        let why = readerClosedWrite.isEmpty
            ? "the reader never closed its own write end of p, so a write end stayed open"
            : "a write end stayed open"
        return [Observation(
            id: "pipe.eof.read_returns_zero",
            claim: "read returns 0 (end of file) once every write end of the pipe is closed.",
            holds: false, evidence: (pipeMade + Array(reads.suffix(1))).seqs,
            detail: "the reader never saw end of file: \(stuck)\(why)"
                + (writerExit != nil ? " (the writer had already ended)" : ""))]
    }
}
