/// `sem.fruit_plate` — the course's fruit plate: father puts apples and mother pears on a one-slot
/// plate; the daughter eats apples and the son pears. s1: a pear is on the plate; s2: an apple is;
/// s3: the plate has space.
///
///     father:   P(s3) put apple V(s2)        son:      P(s1) take pear  V(s3)
///     mother:   P(s3) put pear  V(s1)        daughter: P(s2) take apple V(s3)
public struct SemFruitPlate: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "sem.fruit_plate",
        mechanism: "sem",
        title: "The fruit plate",
        claim: "Three semaphores coordinate four processes around a one-slot plate: father and mother wait on s3 (space) before putting an apple or a pear, and post s2 (apple) or s1 (pear); the daughter waits on s2 and the son on s1 before taking, and post s3.",
        seed: "004",
        parameters: [
            Parameter("type", .string, "The semaphores: \"posix_named\", \"posix_unnamed\" or \"sysv\".", default: "posix_named", count: 4...13,
                      choices: SemaphoreChannel.Kind.allCases.map(\.rawValue)),
            Parameter("rounds", .integer, "How many fruits each parent puts (and each child eats).", default: 2, range: 1...10),
            Parameter("peel_ms", .integer,
                      "How long a parent peels before putting each fruit: meanwhile the children wait for fruit.", default: 30, range: 0...1000),
            Parameter("eat_ms", .integer,
                      "How long a child eats after taking each fruit. Longer than peeling, the next fruit for it waits on the plate, and the other parent waits for space.",
                      default: 60, range: 0...1000),
            Parameter("plate_size", .integer, "The initial value of s3. The plate holds one fruit: with 2 or more, parents put fruits on an occupied plate.",
                      default: 1, range: 1...4),
        ],
        observations: ["sem.fruit_plate.one_fruit_at_a_time", "sem.fruit_plate.right_fruit",
                       "sem.fruit_plate.children_wait_for_fruit", "sem.fruit_plate.parents_wait_for_space"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try Choice.check(params, "type", SemaphoreChannel.Kind.allCases.map(\.rawValue))
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let type = SemaphoreChannel.Kind(rawValue: params.string("type") ?? "posix_named") ?? .posixNamed
        let rounds = params.int("rounds") ?? 2
        let peel = params.int("peel_ms") ?? 30
        let eat = params.int("eat_ms") ?? 60
        func semaphore(_ name: String, _ value: Int) -> Channel { .semaphore(name, type: type, value: value) }
        func parent(_ fruit: String, posts: String) -> [Step] {
            Array(repeating: [.sleep(ms: peel), .semWait("s3"), .store(channel: "plate", data: fruit + "\u{0}"), .semPost(posts)],
                  count: rounds).flatMap { $0 }
        }
        func child(waits: String) -> [Step] {
            Array(repeating: [.semWait(waits), .load(channel: "plate", size: 6), .semPost("s3"), .sleep(ms: eat)], count: rounds).flatMap { $0 }
        }
        return Scenario(
            channels: [
                Channel(name: "plate", spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: 16))),
                semaphore("s1", 0),
                semaphore("s2", 0),
                semaphore("s3", params.int("plate_size") ?? 1),
            ],
            processes: [
                ProcessSpec(name: "father", steps: parent("apple", posts: "s2")
                    + [.wait(process: "mother"), .wait(process: "son"), .wait(process: "daughter")]),
                ProcessSpec(name: "mother", steps: parent("pear", posts: "s1")),
                ProcessSpec(name: "son", steps: child(waits: "s1")),
                ProcessSpec(name: "daughter", steps: child(waits: "s2")),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let rounds = params.int("rounds") ?? 2
        let puts = trace.accesses("store", on: "plate").filter { $0.process == "father" || $0.process == "mother" }
        let takes = trace.accesses("load", on: "plate")
        let sequence = (puts + takes).sorted { $0.tNs < $1.tNs }
        var twoInARow: [TraceEvent] = []
        for (a, b) in zip(sequence, sequence.dropFirst()) where (a.call == b.call) {
            twoInARow += [a, b]
        }
        let alternate = twoInARow.isEmpty && sequence.first?.call == "store" && puts.count == 2 * rounds && takes.count == 2 * rounds
        let story = sequence.map { e in "\(e.process) \(e.call == "store" ? "put" : "took") \(e.cString ?? "?")" }.joined(separator: ", ")
        let oneAtATime = Observation(
            id: "sem.fruit_plate.one_fruit_at_a_time",
            claim: "Puts and takes alternate: a parent puts a fruit only on an empty plate (s3), so the plate never holds two.",
            holds: alternate,
            evidence: twoInARow.isEmpty ? sequence.seqs : twoInARow.seqs,
            detail: twoInARow.isEmpty
                ? story
                : "two \(twoInARow[0].call == "store" ? "puts" : "takes") in a row (s3 started at \(params.int("plate_size") ?? 1)): \(story)")

        let sonTakes = takes.filter { $0.process == "son" }
        let daughterTakes = takes.filter { $0.process == "daughter" }
        let wrong = sonTakes.filter { $0.cString != "pear" } + daughterTakes.filter { $0.cString != "apple" }
        let rightFruit = Observation(
            id: "sem.fruit_plate.right_fruit",
            claim: "The son only ever takes pears (he waits on s1, which only the mother posts) and the daughter only apples (s2, the father's).",
            holds: wrong.isEmpty && sonTakes.count == rounds && daughterTakes.count == rounds,
            evidence: wrong.isEmpty ? takes.seqs : wrong.seqs,
            detail: "the son took \(sonTakes.map { quoted($0.cString) }.joined(separator: ", ")); the daughter took \(daughterTakes.map { quoted($0.cString) }.joined(separator: ", "))")

        let childWaits = trace.sleptUntilPost(on: "s1", by: "son") + trace.sleptUntilPost(on: "s2", by: "daughter")
        let bothWaited = Set(childWaits.map(\.wait.process)) == ["son", "daughter"]
        let children = Observation(
            id: "sem.fruit_plate.children_wait_for_fruit",
            claim: "A child that finds no fruit for it sleeps in its wait until the right parent posts: the son on s1 until the mother puts a pear, the daughter on s2 until the father puts an apple.",
            holds: bothWaited,
            evidence: childWaits.flatMap { [$0.wait.seq, $0.post.seq] }.sorted(),
            detail: childWaits.isEmpty
                ? "no child found its semaphore at 0: the fruit was always there first"
                : Self.describe(childWaits) + (bothWaited ? "" : " (only one child had to wait)"))

        let parentWaits = trace.sleptUntilPost(on: "s3", by: "father") + trace.sleptUntilPost(on: "s3", by: "mother")
        let parents = Observation(
            id: "sem.fruit_plate.parents_wait_for_space",
            claim: "A parent that finds the plate full sleeps on s3 until a child takes the fruit and posts s3.",
            holds: !parentWaits.isEmpty,
            evidence: parentWaits.flatMap { [$0.wait.seq, $0.post.seq] }.sorted(),
            detail: parentWaits.isEmpty
                ? "no parent found s3 at 0: the plate always had space (s3 started at \(params.int("plate_size") ?? 1))"
                : Self.describe(parentWaits))
        return [oneAtATime, rightFruit, children, parents]
    }

    /// `son waited 10.2 ms on s1 until mother posted it (#14)`.
    static func describe(_ waits: [(wait: TraceEvent, post: TraceEvent)]) -> String {
        waits.map { "\($0.wait.process) waited \($0.wait.tookMs) on \($0.wait.channel ?? "?") until \($0.post.process) posted it (#\($0.post.seq))" }
            .joined(separator: "; ")
    }
}
