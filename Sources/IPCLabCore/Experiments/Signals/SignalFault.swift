/// `signal.fault` — the kernel sends SIGSEGV for a bad memory access and SIGFPE for an
/// integer division by zero.
public struct SignalFault: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.fault",
        mechanism: "signal",
        title: "Faults become signals",
        claim: "Some signals come from the kernel, not from a process: a store through a bad pointer raises SIGSEGV, an integer division by zero SIGFPE. Their default action (Core) kills the process; a handler sees si_code SEGV_MAPERR or FPE_INTDIV and the faulting address.",
        seed: "002, 004",
        parameters: [
            Parameter("handle", .boolean,
                      "Whether each child installs a handler first. The handler records the delivery and jumps back past the faulting instruction, so the child lives on.",
                      default: false),
        ],
        observations: ["signal.fault.sigsegv", "signal.fault.sigfpe"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let handle = params.bool("handle") ?? false
        func child(_ kind: SignalStep.Fault, _ sig: Signal) -> [Step] {
            (handle ? [.sigaction(sig, .handle)] : []) + [.fault(kind)]
        }
        return Scenario(
            channels: [],
            processes: [
                ProcessSpec(name: "parent", steps: [.wait(process: "segv"), .wait(process: "fpe")]),
                ProcessSpec(name: "segv", steps: child(.segv, .sigsegv)),
                ProcessSpec(name: "fpe", steps: child(.fpe, .sigfpe)),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        [observe(trace, "segv", .sigsegv, "SEGV_MAPERR",
                 id: "signal.fault.sigsegv", claim: "A store through a bad pointer makes the kernel send SIGSEGV."),
         observe(trace, "fpe", .sigfpe, "FPE_INTDIV",
                 id: "signal.fault.sigfpe", claim: "An integer division by zero makes the kernel send SIGFPE.")]
    }

    private func observe(_ trace: Trace, _ process: String, _ sig: Signal, _ code: String, id: String, claim: String) -> Observation {
        let fault = trace.calls(.signals(.fault), by: process).first
        let got = trace.deliveries(to: process, of: sig).first
        let wait = trace.calls(.process(.wait4), by: "parent").first { $0.arg(.process) == .string(process) }
        let exit = trace.process(process)?.exit
        let limit = fault?.arg(.rlimitCore)?.compactText ?? "?"
        if let got {
            let holds = got.string(.siCode) == code && fault?.returned == true
            return Observation(
                id: id, claim: claim, holds: holds, evidence: [fault, got].compactMap { $0?.seq },
                detail: "\(process)'s handler got \(sig.name) with si_code \(got.string(.siCode) ?? "?") at si_addr \(got.string(.siAddr) ?? "?") "
                    + "(sent by the kernel, not a process); it jumped back and the child \(trace.ending(of: process))")
        }
        if case let .signal(name, core)? = exit {
            return Observation(
                id: id, claim: claim, holds: name == sig.name && fault?.returned == false,
                evidence: [fault, wait].compactMap { $0?.seq },
                detail: "\(process)'s fault never returned: the kernel killed it with \(name) (default action Core); core dumped: \(core ? "yes" : "no") (RLIMIT_CORE \(limit))")
        }
        return Observation(
            id: id, claim: claim, holds: false, evidence: [fault, wait].compactMap { $0?.seq },
            detail: fault?.result == 0
                ? "the instruction did not fault on this machine (the fault step returned 0); \(process) \(trace.ending(of: process))"
                : "no \(sig.name) was seen: \(process) \(trace.ending(of: process))")
    }
}
