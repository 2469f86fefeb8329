/// `shm.race` — N processes add 1 to a shared counter K times. Without synchronisation each increment
/// is a load, an add and a store, and a store by another process between them is lost; with a
/// semaphore around it, or an atomic add, the total is exactly N·K.
public struct ShmRace: Preset {
    public init() {}

    public static let syncs = ["none", "semaphore", "atomic"]
    static let barrierOffset = 64

    public let experiment = Experiment(
        id: "shm.race",
        mechanism: "shm",
        title: "A race on a shared counter",
        claim: "N processes each adding 1 to a shared counter K times: without synchronisation, increments are lost (each is a load, an add and a store, and another process's store in between is overwritten), so the total ends below N·K; with a semaphore around the increment, or an atomic add, it is exactly N·K.",
        seed: "002, 004",
        parameters: [
            Parameter("processes", .integer, "How many processes increment the counter (p1 … pN); they start together at a barrier.",
                      default: 2, range: 1...8),
            Parameter("increments", .integer, "How many times each process adds 1 (K).", default: 100_000, range: 1...1_000_000),
            Parameter("sync", .string,
                      "\"none\" (load, add, store), \"semaphore\" (sem_wait/sem_post on a POSIX semaphore around each increment) or \"atomic\" (__atomic_fetch_add).",
                      default: "none", count: 4...9, choices: Self.syncs),
        ],
        observations: ["shm.race.total", "shm.race.loops_overlapped"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try Choice.check(params, "sync", Self.syncs)
    }

    private func names(_ params: Parameters) -> [String] {
        (1...(params.int("processes") ?? 2)).map { "p\($0)" }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let names = names(params)
        let times = params.int("increments") ?? 100_000
        let sync = SharedMemoryStep.Sync(rawValue: params.string("sync") ?? "none") ?? .none
        var channels = [Channel(name: "counter", spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: 4096)))]
        if sync == .semaphore {
            channels.append(Channel(name: "mutex", spec: .semaphore(SemaphoreChannel(type: .posixUnnamed, value: 1))))
        }
        let processes = names.enumerated().map { i, name -> ProcessSpec in
            var steps: [Step] = [
                // The counter is at offset 0; the barrier's count on another cache line. All start together, running.
                .barrier(channel: "counter", offset: Self.barrierOffset, count: names.count, spread: true),
                .increment(channel: "counter", times: times, sync: sync, semaphore: sync == .semaphore ? "mutex" : nil, detail: 3),
            ]
            if i == 0 {
                steps += names.dropFirst().map { .wait(process: $0) }
                steps.append(.loadInt(channel: "counter"))
            }
            return ProcessSpec(name: name, steps: steps)
        }
        return Scenario(channels: channels, processes: processes)
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let names = names(params)
        let k = Int64(params.int("increments") ?? 100_000)
        let sync = params.string("sync") ?? "none"
        let expected = Int64(names.count) * k
        let loops = trace.calls("increment", on: "counter")
        // The first process's last load, after it waited for the others (step 1's loads are the detailed iterations).
        let final = trace.calls("load_int", by: names[0], on: "counter").last { $0.step != 1 }
        let total = final?.int("value")
        // What each process did: its detailed iterations (one store or fetch-add each) and its loop.
        let done = names.map { name -> Int64 in
            let detailed = trace.events.filter {
                $0.process == name && $0.channel == "counter" && $0.step == 1 && ($0.call == "store_int" || $0.call == "atomic_fetch_add")
            }.count
            return Int64(detailed) + (loops.first { $0.process == name }?.result ?? 0)
        }
        let allRan = done.allSatisfy { $0 == k }
        let ran = "\(names.count) × \(k) = \(expected) increments"
        let holds: Bool
        let detail: String
        if let total, allRan {
            let lost = expected - total
            if sync == "none" {
                holds = lost > 0
                detail = lost > 0
                    ? "expected \(expected) (\(ran)), the counter holds \(total): \(lost) updates were lost"
                    : "expected \(expected) (\(ran)) and the counter holds \(total): no update was lost in this run"
                        + (names.count == 1 ? " (one process has no one to race with)"
                            : " (the processes' increments hardly ran at the same time: see shm.race.loops_overlapped)")
            } else {
                holds = lost == 0
                detail = "expected \(expected) (\(ran)) with sync \(sync), the counter holds \(total)" + (lost == 0 ? ": none lost" : ": \(lost) lost")
            }
        } else {
            holds = false
            detail = "not every increment ran (done: \(zip(names, done).map { "\($0) \($1)" }.joined(separator: ", ")) of \(k) each); the counter holds \(total.map(String.init) ?? "nothing")"
        }
        let totalObservation = Observation(
            id: "shm.race.total",
            claim: "Without synchronisation the counter ends below N·K (lost updates); with a semaphore or an atomic add it ends at exactly N·K.",
            holds: holds,
            evidence: (loops + [final].compactMap { $0 }).seqs,
            detail: detail)

        // Each process's increments: from its first detailed access (step 1) to the end of its loop.
        let spans = loops.compactMap { loop -> (TraceEvent, Int64, Int64)? in
            guard let end = loop.endNs else { return nil }
            let first = trace.events.first { $0.process == loop.process && $0.step == 1 }
            return (loop, min(first?.tNs ?? loop.tNs, loop.tNs), end)
        }
        var overlapping: [(String, String, Int64)] = []
        for (i, a) in spans.enumerated() {
            for b in spans.dropFirst(i + 1) {
                let common = min(a.2, b.2) - max(a.1, b.1)
                if common > 0 { overlapping.append((a.0.process, b.0.process, common)) }
            }
        }
        let overlapped = Observation(
            id: "shm.race.loops_overlapped",
            claim: "The processes' increments (the detailed first iterations and the loop) ran at the same time, which is what lets their loads and stores interleave.",
            holds: !overlapping.isEmpty,
            evidence: loops.seqs,
            detail: overlapping.isEmpty
                ? (names.count == 1 ? "one process: nothing ran alongside its increments" : "no two processes' increments overlapped in time")
                : overlapping.map { "\($0.0) and \($0.1) overlapped for \(milliseconds($0.2))" }.joined(separator: "; ")
                    + "; loops took " + loops.map { "\($0.process) \($0.tookMs)" }.joined(separator: ", "))
        return [totalObservation, overlapped]
    }
}
