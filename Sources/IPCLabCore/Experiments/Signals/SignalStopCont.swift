/// `signal.stop_cont` — SIGSTOP stops a process (state T), SIGCONT resumes it; the parent
/// hears of both through SIGCHLD.
public struct SignalStopCont: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.stop_cont",
        mechanism: "signal",
        title: "Stopping and continuing a process",
        claim: "SIGSTOP stops a process: /proc/PID/stat shows state T, and its parent gets SIGCHLD with CLD_STOPPED. SIGCONT resumes it (CLD_CONTINUED) and it carries on where it was.",
        seed: "004",
        parameters: [
            .signal("stop_signal", "The signal that stops the worker: SIGSTOP, or SIGTSTP, SIGTTIN, SIGTTOU (which a process may catch or ignore; any other signal shows what it does instead).",
                    default: .sigstop) { $0.number == Signal.sigcont.number ? "SIGCONT continues; pick a signal that stops" : nil },
            Parameter("hold_ms", .integer, "How long the worker stays stopped before SIGCONT.", default: 50, range: 0...2000),
            Parameter("work_ms", .integer, "How long the worker sleeps in all (its work).", default: 300, range: 1...5000),
        ],
        observations: ["signal.stop_cont.stopped", "signal.stop_cont.continued"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let stop = params.signal("stop_signal")
        return Scenario(
            channels: [ReadyPipe.channel],
            processes: [
                ProcessSpec(name: "parent", steps: [
                    .sigaction(.sigchld, .handle, restart: true), ReadyPipe.await, .procStat("worker"),
                    .kill("worker", stop), .waitSignals(count: 1, timeoutMs: 500), .procStat("worker"),
                    .sleep(ms: params.int("hold_ms") ?? 50),
                    .kill("worker", .sigcont), .waitSignals(count: 2, timeoutMs: 500), .procStat("worker"),
                    .wait(process: "worker"),
                ]),
                ProcessSpec(name: "worker", steps: [ReadyPipe.signal, .sleep(ms: params.int("work_ms") ?? 300)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let stop = params.signal("stop_signal")
        let kills = trace.calls(.signals(.kill), by: "parent")
        let stopKill = kills.first { $0.arg(.signal) == stop.json }
        let contKill = kills.first { $0.arg(.signal) == Signal.sigcont.json }
        let chld = trace.deliveries(to: "parent", of: .sigchld)
        let stoppedNote = chld.first { $0.string(.siCode) == "CLD_STOPPED" }
        let continuedNote = chld.first { $0.string(.siCode) == "CLD_CONTINUED" }
        let states = trace.processStates(of: "worker")
        let afterStop = states.first { s in stopKill.map { (s.seq ?? 0) > $0.seq } ?? false }
        let afterCont = states.last { s in contKill.map { (s.seq ?? 0) > $0.seq } ?? false }
        func letter(_ s: ObjectSnapshot?) -> String { s.map { $0.label("state") ?? $0.label("errno") ?? "?" } ?? "not read" }
        let stopped = afterStop?.label("state") == "T" && stoppedNote != nil
        let continued = stopped && continuedNote != nil && afterCont.map { $0.label("state") != "T" } == true
            && trace.process("worker")?.exit == .code(0)
        return [
            Observation(
                id: "signal.stop_cont.stopped",
                claim: "A stop signal stops the process: its state becomes T and its parent gets SIGCHLD with CLD_STOPPED.",
                holds: stopped, evidence: [stopKill, stoppedNote].compactMap { $0?.seq } + (afterStop?.seq.map { [$0] } ?? []),
                detail: "kill(worker, \(stop.name)) = \(stopKill?.outcomeText ?? "not made"); then /proc said \(letter(afterStop))"
                    + (stoppedNote.map { "; the parent got \($0.deliverySummary)" } ?? "; no CLD_STOPPED reached the parent")
                    + (stopped ? "" : "; the worker \(trace.ending(of: "worker"))")),
            Observation(
                id: "signal.stop_cont.continued",
                claim: "SIGCONT resumes a stopped process: it leaves state T, its parent gets CLD_CONTINUED, and it finishes its work.",
                holds: continued, evidence: [contKill, continuedNote].compactMap { $0?.seq } + (afterCont?.seq.map { [$0] } ?? []),
                detail: "kill(worker, SIGCONT) = \(contKill?.outcomeText ?? "not made"); then /proc said \(letter(afterCont))"
                    + (continuedNote.map { "; the parent got \($0.deliverySummary)" } ?? "; no CLD_CONTINUED reached the parent")
                    + "; the worker \(trace.ending(of: "worker"))"),
        ]
    }
}
