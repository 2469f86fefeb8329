/// `signal.sigint` — the course's Ctrl+C example: a SIGINT handler runs instead of termination.
public struct SignalSigint: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.sigint",
        mechanism: "signal",
        title: "Catching Ctrl+C",
        claim: "SIGINT (what a terminal sends on Ctrl+C) terminates a process by default; a process with a SIGINT handler runs the handler instead. The course's int_handler then calls exit(-1), so the program ends with status 255 rather than being killed by SIGINT; a handler that returns lets it go on — its sleep is cut short with EINTR.",
        seed: "002, 004",
        parameters: [
            Parameter("handler", .boolean, "Whether the program installs a SIGINT handler (the seed's int_handler).", default: true),
            Parameter("handler_returns", .boolean, "Whether the handler returns (the program goes on and exits 0) instead of calling exit(-1) as the seed's int_handler does (status 255).",
                      default: false),
            Parameter("sleep_ms", .integer, "How long the program sleeps, waiting for Ctrl+C (the seed sleeps 60 s).",
                      default: 1000, range: 100...10_000),
        ],
        observations: ["signal.sigint.handler_ran", "signal.sigint.not_terminated"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let returns = params.bool("handler_returns") ?? false
        let program: [Step] = ((params.bool("handler") ?? true) ? [.sigaction(.sigint, .handle, exit: returns ? nil : 255)] : [])
            + [ReadyPipe.signal, .sleep(ms: params.int("sleep_ms") ?? 1000)]
        return Scenario(
            channels: [ReadyPipe.channel],
            processes: [
                // Ctrl+C a moment after the program said it goes to sleep, as a person would press it.
                ProcessSpec(name: "terminal", steps: [
                    ReadyPipe.await, .sleep(ms: 50), .kill("program", .sigint), .wait(process: "program"),
                ]),
                ProcessSpec(name: "program", steps: program),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let kill = trace.calls("kill", by: "terminal").first
        let got = trace.deliveries(to: "program", of: .sigint).first
        let sleep = trace.calls("nanosleep", by: "program").first
        let exit = trace.process("program")?.exit
        let returns = params.bool("handler_returns") ?? false
        let expected: TraceProcess.Exit = .code(returns ? 0 : 255)
        let ended = got != nil && exit == expected
        let how = returns
            ? "nanosleep returned \(sleep?.outcomeText ?? "?") after \(String(format: "%.3f ms", Double(sleep?.blockedNs ?? 0) / 1e6)); the handler returned, the program went on and exited with 0"
            : "the handler called exit(-1) as the seed's int_handler does: the program exited with status 255, not killed by SIGINT"
        return [
            Observation(
                id: "signal.sigint.handler_ran",
                claim: "The SIGINT handler runs when SIGINT arrives.",
                holds: got != nil, evidence: [kill, got].compactMap { $0?.seq },
                detail: got.map { "kill(program, SIGINT) = \(kill?.outcomeText ?? "?"); the handler got \($0.deliverySummary)" }
                    ?? "no handler ran: the program \(trace.ending(of: "program"))"),
            Observation(
                id: "signal.sigint.not_terminated",
                claim: "With a handler, SIGINT's default action (terminate) does not happen: the process ends as its handler decides — with exit(-1), status 255 (the seed); with a handler that returns, it goes on and finishes.",
                holds: ended, evidence: [kill, got, sleep].compactMap { $0?.seq },
                detail: ended ? how
                    : got == nil ? "the program \(trace.ending(of: "program")): SIGINT's default action (Term)"
                    : "the handler ran, and the program \(trace.ending(of: "program")) (expected exit status \(returns ? 0 : 255))"),
        ]
    }
}
