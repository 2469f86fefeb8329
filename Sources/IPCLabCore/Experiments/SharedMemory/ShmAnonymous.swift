/// `shm.anonymous` — the course's `shared_memory.c`: a `MAP_SHARED|MAP_ANONYMOUS` mapping made before
/// fork; the parent stored "1111" before forking, the child reads it and stores "2222", and the parent,
/// after a sleep, reads "2222".
public struct ShmAnonymous: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "shm.anonymous",
        mechanism: "shm",
        title: "Shared memory inherited across fork",
        claim: "A MAP_SHARED|MAP_ANONYMOUS mapping made before fork is one memory in parent and child: the child reads what the parent stored (1111), stores its own (2222), and the parent then reads the child's bytes.",
        seed: "004",
        parameters: [
            Parameter("parent_message", .string, "What the parent stores before it forks (a NUL is added: the C example copies a C string).",
                      default: "1111", count: 1...64),
            Parameter("child_message", .string, "What the child stores after reading.", default: "2222", count: 1...64),
            Parameter("parent_sleep_ms", .integer,
                      "How long the parent sleeps before reading again (the C example sleeps 5 s). With 0 it may read before the child stored.",
                      default: 100, range: 0...5000),
            Parameter("size", .integer, "Bytes of the mapping (the C example maps 128); at least the longer message and its NUL.",
                      default: 128, range: 1...1_048_576),
        ],
        observations: ["shm.anonymous.child_reads_parent_write", "shm.anonymous.parent_reads_child_write", "shm.anonymous.same_address"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try ForkedMessages(params).validate(params)
    }

    public func scenario(_ params: Parameters) -> Scenario {
        ForkedMessages(params).scenario(mapping: .shared)
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let m = ForkedMessages(params)
        let seen = m.seen(in: trace)
        let childRead = seen.childFirst?.cString
        let parentLast = seen.parentLast?.cString
        let childStore = seen.childStore
        let readAfterStore = (seen.parentLast?.tNs ?? 0) > (childStore?.tNs ?? .max)

        let childReads = Observation(
            id: "shm.anonymous.child_reads_parent_write",
            claim: "The child reads the bytes its parent stored before fork: the mapping was inherited.",
            holds: childRead == m.parent,
            evidence: [seen.initialStore, seen.childFirst].compactMap { $0?.seq },
            detail: "the parent stored \(quoted(m.parent)) before fork; the child read \(quoted(childRead))")

        let detail: String
        if parentLast == m.child {
            detail = "the child stored \(quoted(m.child)); \(milliseconds((seen.parentLast?.tNs ?? 0) - (childStore?.tNs ?? 0))) later the parent read \(quoted(parentLast)) from the same mapping"
        } else if !readAfterStore {
            detail = "the parent read \(quoted(parentLast)) before the child stored (parent_sleep_ms \(m.sleepMs) was too short to wait for it)"
        } else {
            detail = "the child stored \(quoted(m.child)), but the parent then read \(quoted(parentLast))"
        }
        let parentReads = Observation(
            id: "shm.anonymous.parent_reads_child_write",
            claim: "After the child stores its message, the parent reads the child's bytes: MAP_SHARED memory is one memory in both processes.",
            holds: parentLast == m.child && readAfterStore,
            evidence: [childStore, seen.parentLast].compactMap { $0?.seq },
            detail: detail)

        let bases = Set(seen.accesses.compactMap { $0.string(.base) })
        let mapped = seen.mmap?.result.map { "0x" + String($0, radix: 16) }
        let sameAddress = bases.count == 1 && bases.first == mapped && Set(seen.accesses.map(\.process)).count == 2
        let same = Observation(
            id: "shm.anonymous.same_address",
            claim: "The mapping sits at the same address in parent and child: fork copied the address space, and MAP_SHARED makes both copies one memory.",
            holds: sameAddress,
            evidence: ([seen.mmap].compactMap { $0 } + seen.accesses).seqs,
            detail: sameAddress
                ? "mmap returned \(mapped ?? "?"); every load and store of both processes used that address"
                : "the accesses used \(bases.sorted().joined(separator: ", ")); mmap returned \(mapped ?? "nothing")")
        return [childReads, parentReads, same]
    }
}
