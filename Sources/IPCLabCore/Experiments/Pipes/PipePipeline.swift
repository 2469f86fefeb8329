/// `pipe.pipeline` — the seed's `head /dev/urandom | tr -dc A-Za-z0-9 | head -c 20`: stages
/// joined by pipes, each with `dup2` onto its standard input and output; when the last stage
/// stops reading, the ones upstream die of SIGPIPE.
public struct PipePipeline: Preset {
    public init() {}

    /// The seed's three stages.
    static let defaultStages = "random | alnum | take 20"
    /// The shell is a process too, so up to 7 stages fit the run's 8 processes.
    static let stageCount = 1...7

    public let experiment = Experiment(
        id: "pipe.pipeline",
        mechanism: "pipe",
        title: "A shell pipeline",
        claim: "A shell pipeline is processes joined by pipes, each pipe end moved onto a standard stream with dup2. Each stage reads its standard input and writes its standard output; when a stage stops reading and exits, the stage writing to it is killed by SIGPIPE on its next write, and so on upstream.",
        seed: "004",
        parameters: [
            Parameter("stages", .string,
                      "The pipeline, stages separated by |: random [BYTES] (random bytes, 1048576 unless given), alnum (keeps A-Za-z0-9, like tr -dc), take N (the first N bytes, like head -c). N stages, 1…7.",
                      default: .string(defaultStages), count: 1...200),
        ],
        observations: ["pipe.pipeline.dup2_stdio", "pipe.pipeline.data_flows", "pipe.pipeline.upstream_sigpipe"]
    )

    /// Reads `random | alnum | take 20` into programs.
    static func parse(_ text: String) throws(LabError) -> [PipeStep.Program] {
        func bad(_ why: String) -> LabError { LabError(.invalidParameter, why, path: "params.stages") }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
            .map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
        guard stageCount.contains(parts.count) else { throw bad("must have 1…\(stageCount.upperBound) stages, not \(parts.count)") }
        var programs: [PipeStep.Program] = []
        for (i, words) in parts.enumerated() {
            guard let name = words.first else { throw bad("stage \(i + 1) is empty") }
            guard PipeStep.Program.names.contains(name) else {
                throw bad("stage \(i + 1): unknown program \"\(name)\"; one of: \(PipeStep.Program.names.joined(separator: ", "))")
            }
            guard words.count <= 2 else { throw bad("stage \(i + 1): \(name) takes at most one number") }
            var count: Int?
            if words.count == 2 {
                guard let n = Int(words[1]) else { throw bad("stage \(i + 1): \"\(words[1])\" is not a number") }
                count = n
            }
            programs.append(try PipeStep.Program.make(name, count: count) { bad("stage \(i + 1): \($0)") })
        }
        return programs
    }

    public func validate(_ params: Parameters) throws(LabError) {
        _ = try Self.parse(params.string("stages") ?? Self.defaultStages)
    }

    /// Process names: each program's name, numbered when it repeats.
    static func names(_ programs: [PipeStep.Program]) -> [String] {
        var seen: [String: Int] = [:]
        return programs.map { p in
            seen[p.name, default: 0] += 1
            let n = seen[p.name]!
            return n == 1 && programs.filter({ $0.name == p.name }).count == 1 ? p.name : "\(p.name)\(n)"
        }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let programs = (try? Self.parse(params.string("stages") ?? Self.defaultStages)) ?? []
        let names = Self.names(programs)
        // Pipe i joins stage i to stage i+1; "out" joins the last stage to the shell.
        let pipes = (1..<max(1, programs.count)).map { "p\($0)" } + ["out"]
        let ends = pipes.flatMap { p in [(p, PipeEnd.read), (p, PipeEnd.write)] }
        func closeAllBut(_ keep: [(String, PipeEnd)]) -> [Step] {
            ends.filter { e in !keep.contains { $0 == e } }.map { .close(channel: $0.0, end: $0.1) }
        }
        var processes = [ProcessSpec(name: "shell", steps: closeAllBut([("out", .read)])
            + [.readAll(channel: "out", size: 4096)] + names.map { .wait(process: $0) })]
        for (i, program) in programs.enumerated() {
            var steps: [Step] = []
            if i > 0 { steps.append(.dup2(channel: pipes[i - 1], end: .read, fd: 0)) }
            steps.append(.dup2(channel: pipes[i], end: .write, fd: 1))
            steps += closeAllBut((i > 0 ? [(pipes[i - 1], .read)] : []) + [(pipes[i], .write)])
            steps.append(.stage(program))
            processes.append(ProcessSpec(name: names[i], steps: steps))
        }
        return Scenario(channels: pipes.map(Channel.pipe), processes: processes)
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let programs = (try? Self.parse(params.string("stages") ?? Self.defaultStages)) ?? []
        let names = Self.names(programs)
        let pipes = trace.scenario.channels.map(\.name)

        // dup2: every stage's standard streams are pipe ends, and its reads and writes use fds 0 and 1.
        let dups = trace.calls(.pipes(.dup2))
        let dupsOK = !dups.isEmpty && dups.allSatisfy { $0.result == $0.int(.newfd) }
        let stageIO = trace.events.filter { e in names.contains(e.process) && (e.is(.pipes(.read)) || e.is(.pipes(.write))) }
        let onStdio = stageIO.allSatisfy { ($0.is(.pipes(.read)) ? 0 : 1) == $0.int(.fd) && $0.channel != nil }

        // Data: each pipe's reader got no more than its writer put in, in the same order.
        var flows: [String] = []
        var flowOK = true
        for pipe in pipes {
            let wrote = trace.calls(.pipes(.write), on: pipe).bytesMoved
            let read = trace.calls(.pipes(.read), on: pipe).bytesMoved
            if read > wrote { flowOK = false }
            flows.append("\(pipe): \(wrote) bytes written, \(read) read")
        }
        let out = trace.calls(.pipes(.read), by: "shell", on: "out")
        let output = out.compactMap(\.payload).flatMap(\.preview)
        let lastWrote = trace.calls(.pipes(.write), by: names.last ?? "", on: "out").bytesMoved
        flowOK = flowOK && out.bytesMoved == lastWrote && lastWrote > 0
        let alnumOnly = output.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) }

        // Endings: the first stage upstream of a stage that stopped early dies of SIGPIPE.
        let endings = names.map { "\($0) \(trace.ending(of: $0))" }
        let first = names.first.flatMap { trace.process($0)?.exit }
        let sigpiped = first == .signal(name: "SIGPIPE", coreDumped: false)
        let killedWrite = names.first.flatMap { n in trace.calls(.pipes(.write), by: n).last { !$0.returned } }
        let waits = trace.calls(.process(.wait4), by: "shell")
        return [
            Observation(
                id: "pipe.pipeline.dup2_stdio",
                claim: "Each stage's standard input and output are pipe ends, moved there with dup2; the stages only read fd 0 and write fd 1.",
                holds: dupsOK && onStdio, evidence: dups.seqs,
                detail: "\(dups.count) dup2 calls, \(dups.filter { $0.result == $0.int(.newfd) }.count) returned the new fd; "
                    + "\(stageIO.count) reads and writes by the stages, \(onStdio ? "all" : "not all") on fd 0 / fd 1 of a pipe"),
            Observation(
                id: "pipe.pipeline.data_flows",
                claim: "Bytes flow stage to stage: each reads what the one before it wrote, and the shell reads what the last one wrote.",
                holds: flowOK, evidence: out.seqs,
                detail: flows.joined(separator: "; ") + "; the shell read \(out.bytesMoved) bytes"
                    + (output.isEmpty ? "" : " \(Payload(bytes: Int(out.bytesMoved), preview: Array(output.prefix(Payload.previewLimit))).quotedText)")
                    + (alnumOnly && !output.isEmpty ? ", all alphanumeric" : "")),
            Observation(
                id: "pipe.pipeline.upstream_sigpipe",
                claim: "When a stage stops reading and exits, the stage writing to it dies of SIGPIPE on its next write — so the first stage is killed by SIGPIPE.",
                holds: sigpiped, evidence: ([killedWrite].compactMap { $0?.seq } + waits.seqs).sorted(),
                detail: endings.joined(separator: ", ")
                    + (sigpiped ? "" : ": no stage stopped reading before its input ended")),
        ]
    }
}
