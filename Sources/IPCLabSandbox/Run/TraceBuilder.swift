import CIPCLab
import IPCLabCore

/// Turns the records a run left in its ring into a ``Trace``. Every value comes from
/// a record; nothing is inferred from what the scenario meant to happen.
struct TraceBuilder {
    let ring: EventRing
    let scenario: Scenario
    /// A program run's: its processes are named from their start records (TraceBuilder+Programs.swift).
    var programs = false
    /// Whether the ring's record pages are freed as they are read (``EventRing/releaseRecords(below:)``):
    /// for the server's runs, whose ring is read this once; not for rings kept to be read again (tests).
    var releasesRing = false
    /// Records read between two releases of the ring's pages (about 800 KB of the ring).
    static let releaseEvery = 4096

    /// What the server knows about the run besides the ring.
    struct Context {
        var runID: String
        var experiment: String?
        var startedAt: String
        var limits: RunLimits
        /// Why the run could not start, or was killed from outside.
        var failure: String?
    }

    func build(_ context: Context) -> Trace {
        // The header once, checked; then each record once, checked: what is out of range is dropped and counted.
        let header = ring.readHeader()
        var records: [RawRecord] = []
        var rejected: [String] = []
        records.reserveCapacity(header.claimed)
        for i in 0..<header.claimed {
            switch ring.copyRecord(i, scenario: scenario) {
            case .record(let r): records.append(r)
            case .rejected(let why): rejected.append(why)
            case .unpublished: break
            }
            // Each record is read once: the pages read so far go back as the copies grow (see `releasesRing`).
            if releasesRing && (i + 1) % Self.releaseEvery == 0 { ring.releaseRecords(below: i + 1) }
        }
        if releasesRing { ring.releaseRecords(below: header.claimed) }

        // Processes, from their start records.
        // Sized for the scenario's processes at once (each grew from empty, a rehash at a time).
        let processCount = scenario.processes.count
        var pids = [Int: Int32](minimumCapacity: processCount)
        var ppids = [Int: Int32](minimumCapacity: processCount)
        // Who forked whom, from the forker's own record of what fork returned: a child that begins after
        // its parent has ended reads the run's init as its parent (getppid after the reparenting), which
        // is not the process that forked it. The child's own word stands only where no fork names it.
        var forkedBy = [Int32: Int32](minimumCapacity: processCount)
        for r in records where r.kind == IPCLAB_REC_EVENT && r.result > 0 && r.result <= Int64(Int32.max) && r.call == "fork" {
            forkedBy[Int32(r.result)] = r.pid
        }
        for r in records where r.kind == IPCLAB_REC_START && r.process >= 0 {
            pids[r.process] = r.pid
            ppids[r.process] = forkedBy[r.pid] ?? Int32(truncatingIfNeeded: r.args[0])
        }
        var names = [Int32: String](minimumCapacity: pids.count)
        for (i, pid) in pids where scenario.processes.indices.contains(i) { names[pid] = scenario.processes[i].name }

        var reaps = [Int32: RawRecord](minimumCapacity: processCount)
        for r in records where r.kind == IPCLAB_REC_REAP {
            let pid = Int32(truncatingIfNeeded: r.args[0])
            if reaps[pid] == nil { reaps[pid] = r }
        }
        var processes = scenario.processes.indices.map { i -> TraceProcess in
            let pid = pids[i] ?? 0
            let reap = pids[i].flatMap { reaps[$0] }
            return TraceProcess(
                name: scenario.processes[i].name, pid: pid,
                parent: i == 0 ? nil : ppids[i].flatMap { names[$0] },
                exit: reap.flatMap { WaitStatus(Int32(truncatingIfNeeded: $0.args[1])).exit },
                userCPUNs: reap.flatMap { Self.cpuNs($0.args[2]) }, systemCPUNs: reap.flatMap { Self.cpuNs($0.args[3]) })
        }

        if programs { (processes, names) = Self.programProcesses(records, scenario: scenario, reaps: reaps) }

        // Events, ordered by the time each call started.
        let arguments = EventArguments(scenario: scenario, processNames: names)
        // Positions into `records`, not copies of them, and a seq kept only for the records an
        // object snapshot names: for a 262,144-event trace each copy or map costs tens of MB.
        let eventOrder = records.indices
            .filter { EventArguments.isEvent(records[$0]) && (!programs || Self.namedOutput(records[$0], names: names)) }
            .sorted { (records[$0].tBegin, records[$0].index) < (records[$1].tBegin, records[$1].index) }
        let snapshots = records.filter { $0.kind == IPCLAB_REC_OBJECT }
        let named = snapshots.isEmpty ? [] : Set(snapshots.lazy.map { Int($0.args[3]) })
        var seqOf = [Int: Int](minimumCapacity: named.count)
        var events: [TraceEvent] = []
        events.reserveCapacity(eventOrder.count)
        var channels = ProgramChannels()
        var shared = SharedArguments()
        // Sharing equal argument arrays saves memory on large traces only (see SharedArguments); a small
        // trace's events keep their own, the same values, without a dictionary lookup per event.
        let sharesArguments = eventOrder.count >= SharedArguments.minimumEvents
        for (n, i) in eventOrder.enumerated() {
            let r = records[i]
            if !named.isEmpty && named.contains(r.index) { seqOf[r.index] = n + 1 }
            var event = arguments.event(r, seq: n + 1)
            if programs { Self.nameProgramEvent(&event, record: r, names: names, channels: &channels) }
            if sharesArguments { shared.share(&event) }
            events.append(event)
        }
        if programs {
            ProgramConnections.name(&events, parents: Dictionary(processes.compactMap { p in p.parent.map { (p.name, $0) } }) { a, _ in a })
        }

        let objects = snapshots.map { r -> ObjectSnapshot in
            let after = Int(r.args[3])
            let named = arguments.objectState(r)
            return ObjectSnapshot(
                seq: after >= 0 ? seqOf[after] : nil, tNs: r.tBegin,
                object: programs && r.call == "pipe" ? channels.name(inode: r.args[0], fifo: false) : arguments.objectName(r),
                kind: r.call, state: named.state, labels: named.labels)
        }.sorted { $0.tNs < $1.tNs }

        let setup = SetupAhead.operations(of: records.filter {
            $0.kind == IPCLAB_REC_SETUP && $0.call != "namespaces" && $0.call != "seccomp"
        })
        let namespaceRecord = records.first { $0.kind == IPCLAB_REC_SETUP && $0.call == "namespaces" }
        let userNamespace = namespaceRecord?.args[0] == 1
        let networkNamespace = namespaceRecord?.args[1] == 1
        let cloned = Int32(truncatingIfNeeded: namespaceRecord?.args[2] ?? 0)
        let namespaces = NamespaceSet(flags: cloned | (userNamespace ? ipclab_CLONE_NEWUSER : 0)
            | (networkNamespace ? ipclab_CLONE_NEWNET : 0)).names
        let seccomp = records.first { $0.kind == IPCLAB_REC_SETUP && $0.call == "seccomp" }.flatMap { r -> SandboxReport.Seccomp? in
            guard r.args[0] >= 0 else { return nil }
            let mode = ["disabled", "strict", "filter"].indices.contains(Int(r.args[0])) ? ["disabled", "strict", "filter"][Int(r.args[0])] : "mode \(r.args[0])"
            return SandboxReport.Seccomp(mode: mode, filters: r.args[1] >= 0 ? Int(r.args[1]) : nil)
        }

        let limitReasons = Self.limitReasons(header: header, capacity: ring.capacity, limits: context.limits,
                                             processes: processes, events: events)
        var (outcome, reason) = Self.outcome(header: header, context: context, limitReasons: limitReasons,
                                             unfinished: events.filter { !$0.returned && $0.call != "exit" })
        // The init ended the run because every live process was blocked for good (DeadlockWatch). The
        // note is a record a run could forge: it only names the outcome; who waited for what is
        // worked out again from the events by Deadlock, never taken from the note.
        var deadlock: Deadlock?
        if outcome == .timeout, records.contains(where: { $0.kind == IPCLAB_REC_NOTE && $0.call == "deadlock" }),
           case let found = Deadlock(events: events, processes: processes), !found.blocked.isEmpty {
            // A forged note with no call left blocked in the events stays a timeout: no evidence, no claim.
            outcome = .deadlock
            reason = found.explanation
            deadlock = found
        }
        let duration = header.tEnd ?? (events.map { $0.endNs ?? $0.tNs }.max() ?? 0)
        var run = RunInfo(
            id: context.runID, experiment: context.experiment, startedAt: context.startedAt, durationNs: duration,
            outcome: outcome, reason: reason, limits: context.limits,
            sandbox: SandboxReport(namespaces: context.failure == nil ? namespaces : [], setup: setup, seccomp: seccomp),
            eventsDropped: header.dropped)
        run.recordsRejected = rejected.count
        var trace = Trace(run: run, scenario: scenario, processes: processes, events: events, objects: objects)
        trace.run.deadlock = deadlock
        return trace
    }

    /// A CPU time from a reap record, when it is one a process can have used (the trace adds them up).
    static func cpuNs(_ ns: Int64) -> Int64? {
        (0...RingHeader.maxTime).contains(ns) ? ns : nil
    }

    /// A limit the kernel enforced outranks the timeout or the kill it may have led to; the reason
    /// names the first limit, then any other, then how the run ended.
    private static func outcome(header: RingHeader, context: Context, limitReasons: [String],
                                unfinished: [TraceEvent]) -> (Outcome, String?) {
        if let failure = context.failure { return (.error, failure) }
        // A run that overwrote what the server wrote in its ring's header: nothing it says about how it ended counts.
        if let corruption = header.corruption { return (.error, corruption) }
        let ended = header.outcome
        if !limitReasons.isEmpty && ended != IPCLAB_OUTCOME_ERROR {
            let after = ended == IPCLAB_OUTCOME_TIMEOUT ? ["then the wall-clock limit of \(context.limits.wallMs) ms ran out"]
                : ended == IPCLAB_OUTCOME_OK ? [] : ["the run's init was killed"]
            return (.limitExceeded, (limitReasons + after).joined(separator: "; "))
        }
        switch ended {
        case IPCLAB_OUTCOME_OK:
            return (.ok, nil)
        case IPCLAB_OUTCOME_TIMEOUT:
            let stuck = unfinished.map { e in
                "\(e.process) in \(e.call)" + (e.channel.map { " on \($0)" } ?? "")
                    + String(format: " since %.3f ms", Double(e.tNs) / 1e6)
            }
            return (.timeout, "the wall-clock limit of \(context.limits.wallMs) ms ran out; everything left was killed"
                + (stuck.isEmpty ? "" : "; still blocked: " + stuck.joined(separator: ", ")))
        case IPCLAB_OUTCOME_ERROR:
            return (.error, header.failure + (header.failedErrno != 0 ? " (\(ErrnoName.of(header.failedErrno) ?? "?"))" : ""))
        default:
            return (.error, "the run ended before its init finished: it was killed from outside")
        }
    }
}
