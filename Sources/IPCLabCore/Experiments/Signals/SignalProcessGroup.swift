/// `signal.process_group` — a signal sent to a process group reaches every member and no one else,
/// as the terminal's Ctrl+C reaches every process of the foreground job.
public struct SignalProcessGroup: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.process_group",
        mechanism: "signal",
        title: "A signal to a process group",
        claim: "kill(-pgid, sig) sends the signal to every process in the group — as Ctrl+C makes the terminal send SIGINT to the whole foreground job — and to no process outside it.",
        seed: "002",
        parameters: [
            .signal("signal", "The signal sent to the group (a terminal's Ctrl+C sends SIGINT).", default: .sigint) { s in
                s == .sigkill || s == .sigstop || s == .sigchld || s == .sigcont ? "must be a signal a handler can catch and that has no other role here" : nil
            },
            Parameter("outsider_wait_ms", .integer, "How long the process outside the group waits for a signal that must not come.",
                      default: 300, range: 50...2000),
        ],
        observations: ["signal.process_group.members_receive", "signal.process_group.others_do_not"]
    )

    static let members = ["leader", "member"]

    public func scenario(_ params: Parameters) -> Scenario {
        let sig = params.signal("signal")
        let child: (Int) -> [Step] = { timeout in
            [.sigaction(sig, .handle, restart: true), ReadyPipe.signal, .waitSignals(count: 1, timeoutMs: timeout)]
        }
        return Scenario(
            channels: [ReadyPipe.channel],
            processes: [
                // The shell puts the job's two processes in one group, led by the first, as a shell does.
                ProcessSpec(name: "shell", steps: [
                    .setpgid("leader", group: "leader"), .setpgid("member", group: "leader"),
                    .sigaction(sig, .handle, restart: true),
                    ReadyPipe.await, ReadyPipe.await, ReadyPipe.await,
                    .killGroup("leader", sig),
                    .wait(process: "leader"), .wait(process: "member"), .wait(process: "outsider"),
                ]),
                ProcessSpec(name: "leader", steps: child(2000)),
                ProcessSpec(name: "member", steps: child(2000)),
                ProcessSpec(name: "outsider", steps: child(params.int("outsider_wait_ms") ?? 300)),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sig = params.signal("signal")
        let moves = trace.calls("setpgid", by: "shell")
        let kill = trace.calls("kill", by: "shell").first
        let shellPid = trace.process("shell")?.pid
        func got(_ name: String) -> TraceEvent? {
            trace.deliveries(to: name, of: sig).first { d in d.int("si_pid") == Int64(shellPid ?? -1) && (kill.map { k in d.tNs > k.tNs } ?? false) }
        }
        let reached = Self.members.compactMap(got)
        let grouped = moves.count == 2 && moves.allSatisfy { $0.result == 0 }
        let members = grouped && kill?.result == 0 && reached.count == Self.members.count
        let outsiderWait = trace.calls("ppoll", by: "outsider").first
        let strays = ["outsider", "shell"].compactMap { name in trace.deliveries(to: name, of: sig).first }
        // The outsider could have seen it: its handler was installed before the kill began, and its wait
        // (which runs the handler of anything pending) returned after the kill returned, with no delivery.
        let handler = trace.calls("sigaction", by: "outsider").first
        let watched = kill.map { k in
            (handler?.endNs ?? handler?.tNs ?? .max) < k.tNs && (outsiderWait?.endNs ?? .min) > (k.endNs ?? .max)
        } ?? false
        let others = members && strays.isEmpty && watched
        return [
            Observation(
                id: "signal.process_group.members_receive",
                claim: "A signal sent to a process group reaches every process in it.",
                holds: members, evidence: (moves + [kill].compactMap { $0 } + reached).seqs.sorted(),
                detail: "setpgid: \(moves.map { "\($0.string("process") ?? "?") into group \($0.int("pgid").map(String.init) ?? "?") = \($0.outcomeText)" }.joined(separator: ", ")); "
                    + "kill(\(kill?.int("pid").map(String.init) ?? "?"), \(sig.name)) = \(kill?.outcomeText ?? "not made"); "
                    + "delivered to \(reached.map(\.process).joined(separator: " and ").nonEmpty ?? "no member")"),
            Observation(
                id: "signal.process_group.others_do_not",
                claim: "Processes outside the group do not get it: not the outsider, not the sender.",
                holds: others, evidence: ([handler, kill, outsiderWait].compactMap { $0 } + strays).seqs.sorted(),
                detail: !strays.isEmpty ? "\(strays.map(\.process).joined(separator: " and ")) got \(sig.name) too"
                    : !watched ? "the outsider's handler was not installed before the kill, or its wait did not outlast it: its not getting the signal shows nothing"
                    : members ? "the outsider had its handler installed before the kill and its wait returned \(milliseconds((outsiderWait?.endNs ?? 0) - (kill?.endNs ?? 0))) after the kill, with nothing delivered; the shell got nothing"
                    : "the group did not get the signal, so there is nothing to compare"),
        ]
    }
}

extension String {
    /// Nil when empty, for `?? "none"` in details.
    var nonEmpty: String? { isEmpty ? nil : self }
}
