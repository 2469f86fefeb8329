/// `signal.permissions` — who may signal whom: kill(2) compares user ids, not group ids. Inside the
/// run's user namespace (which maps uids and gids 0…2) the target takes uid 1 and gid 1; one sender
/// takes another uid (2) with the same gid, the other the same uid with another gid (2). All three
/// leave uid 0 first, so none holds CAP_KILL: only the ids decide.
public struct SignalPermissions: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.permissions",
        mechanism: "signal",
        title: "Who may signal whom: uids, not gids",
        claim: "An unprivileged process may signal another only if its real or effective uid matches the target's real or saved uid: a different uid gets EPERM, while a different gid alone does not matter.",
        seed: "001",
        parameters: [
            .signal("signal", "The signal both senders send to the target.", default: .sigusr1),
        ],
        observations: ["signal.permissions.different_uid_refused", "signal.permissions.different_gid_delivered"]
    )

    /// The ids each process takes (uid, gid), in the run's user namespace.
    static let ids: [String: (uid: Int, gid: Int)] = ["target": (1, 1), "other_uid": (2, 1), "other_gid": (1, 2)]

    public func scenario(_ params: Parameters) -> Scenario {
        let sig = params.signal("signal")
        func become(_ name: String) -> [Step] {
            let id = Self.ids[name]!
            // The gid first: once the uid is not 0 the process may no longer change its gid.
            return [.setresgid(id.gid), .setresuid(id.uid)]
        }
        return Scenario(
            channels: [ReadyPipe.channel, .pipe("turn")],
            processes: [
                ProcessSpec(name: "target", steps: become("target") + [
                    .sigaction(sig, .handle, restart: true),
                    .write(channel: "ready", data: .text(ReadyPipe.word), repeat: 2),
                    .waitSignals(count: 1, timeoutMs: 1000),
                ]),
                // Refused first; then it lets the other try, so a delivery from it would come first.
                ProcessSpec(name: "other_uid", steps: become("other_uid") + [
                    ReadyPipe.await, .kill("target", sig), .write(channel: "turn", data: .text("go"), repeat: 1),
                ]),
                ProcessSpec(name: "other_gid", steps: become("other_gid") + [
                    ReadyPipe.await, .read(channel: "turn", size: 2, repeat: 1), .kill("target", sig),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let sig = params.signal("signal")
        func ids(_ name: String) -> (uid: Int64?, gid: Int64?, events: [TraceEvent]) {
            let u = trace.calls(.signals(.setresuid), by: name).first, g = trace.calls(.signals(.setresgid), by: name).first
            return (u?.result == 0 ? u?.int(.uidNow) : nil, g?.result == 0 ? g?.int(.gidNow) : nil, [g, u].compactMap { $0 })
        }
        let target = ids("target"), byUid = ids("other_uid"), byGid = ids("other_gid")
        let got = trace.deliveries(to: "target", of: sig)
        func from(_ name: String) -> [TraceEvent] {
            let pid = trace.process(name).map { Int64($0.pid) }
            return got.filter { $0.int(.siPid) == pid }
        }
        func text(_ i: (uid: Int64?, gid: Int64?, events: [TraceEvent])) -> String {
            "uid \(i.uid.map(String.init) ?? "?"), gid \(i.gid.map(String.init) ?? "?")"
        }
        let refusedKill = trace.calls(.signals(.kill), by: "other_uid").first
        let uidsDiffer = target.uid != nil && byUid.uid != nil && target.uid != byUid.uid && byUid.uid != 0
        let refused = uidsDiffer && refusedKill?.result == -1 && refusedKill?.errno == "EPERM" && from("other_uid").isEmpty
        let deliveredKill = trace.calls(.signals(.kill), by: "other_gid").first
        let gidOnly = target.uid != nil && target.uid == byGid.uid && byGid.uid != 0 && target.gid != nil && byGid.gid != nil
            && target.gid != byGid.gid
        let delivered = from("other_gid").first
        let allowed = gidOnly && deliveredKill?.result == 0 && delivered != nil
        return [
            Observation(
                id: "signal.permissions.different_uid_refused",
                claim: "A process whose uid differs from the target's (and which has no CAP_KILL) cannot signal it: kill fails with EPERM.",
                holds: refused, evidence: (target.events + byUid.events + [refusedKill].compactMap { $0 }).seqs,
                detail: "the target took \(text(target)); other_uid took \(text(byUid)) and its kill(target, \(sig.name)) returned \(refusedKill?.outcomeText ?? "nothing")"
                    + (from("other_uid").isEmpty ? "" : "; yet the target received a signal from it")),
            Observation(
                id: "signal.permissions.different_gid_delivered",
                claim: "A different gid alone does not stop a signal: a process with the target's uid and another gid signals it.",
                holds: allowed, evidence: (target.events + byGid.events + [deliveredKill, delivered].compactMap { $0 }).seqs,
                detail: "other_gid took \(text(byGid)) against the target's \(text(target)); its kill returned \(deliveredKill?.outcomeText ?? "nothing")"
                    + (delivered.map { "; the target received \($0.deliverySummary)" } ?? "; the target received nothing from it")),
        ]
    }
}
