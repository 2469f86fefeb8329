/// `sem.mutex` — a binary semaphore around a critical section: one process inside at a time; the
/// others sleep in `sem_wait` (or `semop`) until the holder posts.
public struct SemMutex: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "sem.mutex",
        mechanism: "sem",
        title: "A semaphore as a mutex",
        claim: "A semaphore with initial value 1 serialises a critical section: a process decrements it to enter (P) and increments it to leave (V); one that finds it at 0 sleeps until the holder posts.",
        seed: "001, 004",
        parameters: [
            Parameter("type", .string, "\"posix_named\" (sem_open), \"sysv\" (semget/semop) or \"posix_unnamed\" (sem_init in shared memory).",
                      default: "posix_named", count: 4...13,
                      choices: SemaphoreChannel.Kind.allCases.map(\.rawValue)),
            Parameter("processes", .integer, "How many processes compete (p1 … pN).", default: 3, range: 1...8),
            Parameter("rounds", .integer, "How many times each process enters the critical section.", default: 2, range: 1...10),
            Parameter("hold_ms", .integer, "How long a process stays inside (it stores its name in a shared room, sleeps, and reads it back).",
                      default: 20, range: 0...500),
            Parameter("value", .integer, "The semaphore's initial value: 1 is a mutex; 2 or more lets that many in at once.",
                      default: 1, range: 1...8),
        ],
        observations: ["sem.mutex.exclusive", "sem.mutex.waiters_slept"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try Choice.check(params, "type", SemaphoreChannel.Kind.allCases.map(\.rawValue))
    }

    private func names(_ params: Parameters) -> [String] {
        (1...(params.int("processes") ?? 3)).map { "p\($0)" }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let names = names(params)
        let type = SemaphoreChannel.Kind(rawValue: params.string("type") ?? "posix_named") ?? .posixNamed
        let hold = params.int("hold_ms") ?? 20
        let processes = names.enumerated().map { i, name -> ProcessSpec in
            var steps: [Step] = []
            for _ in 0..<(params.int("rounds") ?? 2) {
                steps += [
                    .semWait("mutex"),
                    .store(channel: "room", data: name + "\u{0}"),
                    .sleep(ms: hold),
                    .load(channel: "room", size: 4),
                    .semPost("mutex"),
                ]
            }
            if i == 0 {
                steps += names.dropFirst().map { .wait(process: $0) }
                steps.append(type == .posixNamed ? .semUnlink("mutex") : .semRemove("mutex"))
            }
            return ProcessSpec(name: name, steps: steps)
        }
        return Scenario(
            channels: [
                .semaphore("mutex", type: type, value: params.int("value") ?? 1),
                Channel(name: "room", spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: 64))),
            ],
            processes: processes)
    }

    /// One stay in the critical section: from the return of the wait to the start of the post.
    struct Section {
        var process: String
        var wait: TraceEvent
        var post: TraceEvent
        var load: TraceEvent?
        var from: Int64 { wait.endNs ?? wait.tNs }
        var to: Int64 { post.tNs }
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let names = names(params)
        var sections: [Section] = []
        for name in names {
            let waits = trace.semaphoreWaits(on: "mutex", by: name).filter { $0.result == 0 }
            let posts = trace.semaphorePosts(on: "mutex", by: name)
            let loads = trace.accesses("load", on: "room", by: name)
            for (w, p) in zip(waits, posts) {
                sections.append(Section(process: name, wait: w, post: p, load: loads.first { $0.tNs > w.tNs && $0.tNs < p.tNs }))
            }
        }
        var overlaps: [(Section, Section)] = []
        for (i, a) in sections.enumerated() {
            for b in sections.dropFirst(i + 1) where a.process != b.process && a.from < b.to && b.from < a.to {
                overlaps.append((a, b))
            }
        }
        let intruded = sections.filter { $0.load?.cString != $0.process }
        let complete = sections.count == names.count * (params.int("rounds") ?? 2)
        let exclusive = Observation(
            id: "sem.mutex.exclusive",
            claim: "Only one process is inside the critical section at a time: no two stays overlap, and each process reads back the name it stored in the shared room.",
            holds: complete && overlaps.isEmpty && intruded.isEmpty,
            evidence: overlaps.isEmpty && intruded.isEmpty
                ? sections.flatMap { [$0.wait.seq, $0.post.seq] }.sorted()
                : (overlaps.flatMap { [$0.0.wait.seq, $0.1.wait.seq] } + intruded.compactMap { $0.load?.seq }).sorted(),
            detail: !complete
                ? "only \(sections.count) of \(names.count * (params.int("rounds") ?? 2)) stays completed"
                : overlaps.isEmpty && intruded.isEmpty
                    ? "\(sections.count) stays in the critical section, one after another; each process read back its own name"
                    : (overlaps.prefix(3).map { "\($0.0.process) and \($0.1.process) were inside together for \(milliseconds(min($0.0.to, $0.1.to) - max($0.0.from, $0.1.from)))" }
                        + intruded.prefix(3).map { "\($0.process) stored its name but read back \(quoted($0.load?.cString))" })
                        .joined(separator: "; ") + " (initial value \(params.int("value") ?? 1))")

        let slept = trace.sleptUntilPost(on: "mutex")
        let waited = Observation(
            id: "sem.mutex.waiters_slept",
            claim: "A process that finds the semaphore at 0 sleeps in its wait until the holder posts; the trace shows who waited and for how long.",
            holds: !slept.isEmpty,
            evidence: slept.flatMap { [$0.wait.seq, $0.post.seq] }.sorted(),
            detail: slept.isEmpty
                ? "no process found the semaphore at 0 (\(names.count) process\(names.count == 1 ? "" : "es"), initial value \(params.int("value") ?? 1)): no one had to wait"
                : slept.map { "\($0.wait.process) waited \($0.wait.tookMs) until \($0.post.process) posted" }.joined(separator: "; "))
        return [exclusive, waited]
    }
}
