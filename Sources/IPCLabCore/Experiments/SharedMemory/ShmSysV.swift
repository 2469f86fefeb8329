/// `shm.sysv` — System V shared memory as the course shows it: `ftok` → `shmget` → `shmat` →
/// store/load → `shmdt`, with `IPC_STAT`'s `shm_nattch` going up and down, then `IPC_RMID`.
public struct ShmSysV: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "shm.sysv",
        mechanism: "shm",
        title: "System V shared memory: shmget, shmat, shmdt, IPC_RMID",
        claim: "Processes that use the same key reach the same segment: ftok makes the key, shmget the segment, shmat maps it; shm_nattch counts the attached processes; the segment keeps its bytes while no one is attached, until shmctl(IPC_RMID) removes it.",
        seed: "001, 002, 004",
        parameters: [
            Parameter("message", .string, "What the writer stores in the segment (a NUL is added).", default: "Hello through System V shared memory",
                      count: 1...1024),
            Parameter("size", .integer, "Bytes of the segment (the course's example asks shmget for 1024).", default: 1024, range: 1...1_048_576),
            Parameter("ftok_id", .integer, "The project id ftok combines with the key file (the example uses 'A', 65).", default: 65, range: 1...127),
            Parameter("writer_delay_ms", .integer,
                      "How long the writer waits before its ftok, shmget and shmat, so that the reader is attached too (shm_nattch 2).",
                      default: 20, range: 0...1000),
            Parameter("remove", .boolean, "Remove the segment with shmctl(IPC_RMID) at the end. Without it the key still finds the segment.",
                      default: true),
        ],
        observations: ["shm.sysv.same_key", "shm.sysv.data_shared", "shm.sysv.nattch_counts", "shm.sysv.removed"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try checkMessageFits(params)
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let message = (params.string("message") ?? "") + "\u{0}"
        let segment = SharedMemoryChannel(type: .sysv, size: params.int("size") ?? 1024, ftokPath: "/tmp/shmfile",
                                          ftokID: params.int("ftok_id") ?? 65)
        // Each process finds the segment by its key (ftok, shmget without IPC_CREAT) and attaches the id it
        // found. The reader detaches once the writer is gone, so no one is attached (shm_nattch 0), and only
        // then attaches again to read: the bytes outlived every attachment.
        var reader: [Step] = [
            .lookup(channel: "seg"),
            .attach(channel: "seg"),
            .wait(process: "writer"),
            .detach(channel: "seg"),
            .attach(channel: "seg"),
            .load(channel: "seg", size: message.utf8.count),
            .detach(channel: "seg"),
        ]
        if params.bool("remove") != false { reader.append(.shmRemove(channel: "seg")) }
        reader.append(.lookup(channel: "seg"))
        return Scenario(
            channels: [Channel(name: "seg", spec: .sharedMemory(segment))],
            processes: [
                ProcessSpec(name: "reader", steps: reader),
                ProcessSpec(name: "writer", steps: [
                    .sleep(ms: params.int("writer_delay_ms") ?? 20),
                    .lookup(channel: "seg"),
                    .attach(channel: "seg"),
                    .store(channel: "seg", data: message),
                    .detach(channel: "seg"),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let message = params.string("message") ?? ""
        let stored = trace.accesses("store", on: "seg", by: "writer").first
        let loaded = trace.accesses("load", on: "seg", by: "reader").first
        // Every process attached: the last IPC_STAT showing shm_nattch 0 after the store, taken before the
        // attach the reader read through began.
        let attachBeforeLoad = loaded.flatMap { l in trace.calls("shmat", by: "reader", on: "seg").last { $0.tNs < l.tNs && ($0.result ?? -1) > 0 } }
        let empty = (stored?.endNs).flatMap { after in
            attachBeforeLoad.flatMap { a in
                trace.snapshots(of: "seg").last { $0.value("exists") == 1 && $0.value("nattch") == 0 && $0.tNs > after && $0.tNs < a.tNs }
            }
        }
        let got = loaded?.cString
        let data = Observation(
            id: "shm.sysv.data_shared",
            claim: "The reader reads what the writer stored, through an attach made after every process had detached: a segment keeps its bytes while no process is attached.",
            holds: got == message && empty != nil,
            evidence: [stored, empty?.seq.map { trace.events[$0 - 1] }, attachBeforeLoad, loaded].compactMap { $0?.seq },
            detail: got != message
                ? "the writer stored \(quoted(message)); the reader read \(quoted(got))"
                : empty != nil
                ? "the writer stored \(quoted(message)) and detached; IPC_STAT then showed shm_nattch 0 (no process attached); the reader attached again and read \(quoted(got))"
                : "the reader read \(quoted(got)), but the trace shows no moment with shm_nattch 0 between the store and the attach it read through")

        return [sameKey(trace), data, nattch(trace), removed(trace, params)]
    }

    /// Both processes ftok the same file and project id and shmget that key: one id, which each attaches.
    private func sameKey(_ trace: Trace) -> Observation {
        let ftoks = trace.calls("ftok", on: "seg").filter { ($0.result ?? -1) >= 0 }
        let gets = trace.calls("shmget", on: "seg").filter { ($0.result ?? -1) >= 0 }
        let ids = Set(gets.compactMap(\.result))
        let keys = Set(ftoks.compactMap(\.result))
        let byKey = Set(gets.filter { $0.step != nil }.map(\.process))
        let attaches = trace.calls("shmat", on: "seg").filter { ($0.result ?? -1) > 0 }
        let attachedIDs = Set(attaches.compactMap { $0.int("shmid") })
        let holds = keys.count == 1 && ids.count == 1 && byKey.isSuperset(of: ["reader", "writer"]) && attachedIDs == ids
        return Observation(
            id: "shm.sysv.same_key",
            claim: "Processes that ftok the same file and project id get the same key, and shmget of that key the same segment id, which each attaches.",
            holds: holds,
            evidence: (ftoks + gets + attaches).sorted { $0.seq < $1.seq }.seqs,
            detail: holds
                ? "ftok gave key 0x\(String(keys.first ?? 0, radix: 16)) in \(Set(ftoks.map(\.process)).sorted().joined(separator: " and ")); shmget of it returned id \(ids.first ?? -1) every time (\(gets.count) calls), and every shmat used that id"
                : "keys \(keys.sorted()), ids \(ids.sorted()) from shmget, ids attached \(attachedIDs.sorted()); processes that looked the key up: \(byKey.sorted())")
    }

    /// Every IPC_STAT's shm_nattch must lie between the attaches and detaches that had surely happened and
    /// those that may have: the calls are recorded as begun before and ended after the kernel acted.
    private func nattch(_ trace: Trace) -> Observation {
        let attaches = trace.calls("shmat", on: "seg").filter { ($0.result ?? -1) > 0 }
        let detaches = trace.calls("shmdt", on: "seg").filter { $0.result == 0 }
        let stats = trace.snapshots(of: "seg").filter { $0.value("exists") == 1 && $0.seq != nil }
        var outOfBounds: [String] = []
        var counts: [Int64] = []
        for s in stats {
            guard let n = s.value("nattch"), let seq = s.seq else { continue }
            counts.append(n)
            let follows = trace.events[seq - 1]
            let from = follows.endNs ?? follows.tNs, to = s.tNs
            let sure = attaches.filter { ($0.endNs ?? .max) <= from }.count - detaches.filter { $0.tNs <= to }.count
            let maybe = attaches.filter { $0.tNs <= to }.count - detaches.filter { ($0.endNs ?? .max) <= from }.count
            if n < sure || n > maybe { outOfBounds.append("after #\(seq) nattch was \(n), expected \(sure)…\(maybe)") }
        }
        let peak = counts.max() ?? 0
        let endsAtZero = counts.last == 0 && !detaches.isEmpty
        let holds = outOfBounds.isEmpty && peak >= 1 && endsAtZero
        return Observation(
            id: "shm.sysv.nattch_counts",
            claim: "shm_nattch (IPC_STAT) counts the processes attached: it goes up with each shmat, down with each shmdt, and is 0 once all have detached.",
            holds: holds,
            evidence: (attaches + detaches).sorted { $0.seq < $1.seq }.seqs,
            detail: outOfBounds.isEmpty
                ? "IPC_STAT after each step showed shm_nattch \(counts.map(String.init).joined(separator: " → ")) (\(attaches.count) shmat, \(detaches.count) shmdt)"
                : outOfBounds.joined(separator: "; "))
    }

    private func removed(_ trace: Trace, _ params: Parameters) -> Observation {
        let rmid = trace.calls("shmctl", by: "reader", on: "seg").first { $0.arg("cmd") == "IPC_RMID" }
        let lookup = trace.calls("shmget", by: "reader", on: "seg").last
        let gone = rmid?.result == 0 && lookup?.errno == "ENOENT"
        let detail: String
        if rmid == nil {
            detail = "nothing removed the segment (remove: false): shmget(key) still found it, id \(lookup?.result.map(String.init) ?? "?") — it would outlive every process, until the IPC namespace ends"
        } else if gone {
            detail = "shmctl(IPC_RMID) returned 0; shmget of key \(lookup?.string("key") ?? "?") then failed with ENOENT"
        } else {
            detail = "shmctl(IPC_RMID) returned \(rmid?.result.map(String.init) ?? "?"); the lookup returned \(lookup?.result.map(String.init) ?? "?") \(lookup?.errno ?? "")"
        }
        return Observation(
            id: "shm.sysv.removed",
            claim: "After shmctl(IPC_RMID) the key no longer finds the segment: shmget(key, 0, 0) fails with ENOENT.",
            holds: gone,
            evidence: [rmid, lookup].compactMap { $0?.seq },
            detail: detail)
    }
}
