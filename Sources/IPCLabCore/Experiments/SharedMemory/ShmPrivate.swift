/// `shm.private` — the same program as `shm.anonymous` with a `MAP_PRIVATE` mapping: fork gives the
/// child a copy of the parent's memory, and the child's write stays in its copy.
public struct ShmPrivate: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "shm.private",
        mechanism: "shm",
        title: "Processes do not share memory",
        claim: "Without MAP_SHARED, processes do not share memory: after fork the child has a copy of the parent's memory (it sees 1111), and its write (2222) changes only that copy — the parent still reads 1111.",
        seed: "002, 004",
        parameters: [
            Parameter("mapping", .string,
                      "\"private\" (MAP_PRIVATE, copy-on-write: like any plain variable) or \"shared\" (MAP_SHARED: then the parent does see the child's write).",
                      default: "private", count: 6...7),
            Parameter("parent_message", .string, "What the parent stores before it forks (a NUL is added).", default: "1111", count: 1...64),
            Parameter("child_message", .string, "What the child stores in its copy.", default: "2222", count: 1...64),
            Parameter("parent_sleep_ms", .integer, "How long the parent sleeps before reading again, so the child's write comes first.",
                      default: 100, range: 0...5000),
            Parameter("size", .integer, "Bytes of the mapping; at least the longer message and its NUL.", default: 128, range: 1...1_048_576),
        ],
        observations: ["shm.private.child_got_a_copy", "shm.private.child_write_not_seen", "shm.private.child_sees_own_write"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try Choice.check(params, "mapping", ["private", "shared"])
        try ForkedMessages(params).validate(params)
    }

    public func scenario(_ params: Parameters) -> Scenario {
        ForkedMessages(params).scenario(mapping: params.string("mapping") == "shared" ? .shared : .private)
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let m = ForkedMessages(params)
        let seen = m.seen(in: trace)
        let shared = params.string("mapping") == "shared"
        let childRead = seen.childFirst?.cString
        let parentLast = seen.parentLast?.cString
        let tested = (seen.parentLast?.tNs ?? 0) > (seen.childStore?.tNs ?? .max)

        let copy = Observation(
            id: "shm.private.child_got_a_copy",
            claim: "After fork the child sees the bytes the parent stored before it: fork gives the child a copy of the parent's memory.",
            holds: childRead == m.parent,
            evidence: [seen.initialStore, seen.childFirst].compactMap { $0?.seq },
            detail: "the parent stored \(quoted(m.parent)) before fork; the child read \(quoted(childRead))")

        let notSeen: String
        if !tested {
            notSeen = "the parent's last read began before the child stored, so it tested nothing (raise parent_sleep_ms)"
        } else if parentLast == m.parent {
            notSeen = "the child stored \(quoted(m.child)) at the same address, yet the parent still read \(quoted(parentLast)): two copies, one address"
        } else {
            notSeen = "the parent read the child's \(quoted(parentLast))" + (shared ? ": with MAP_SHARED the processes do share this memory" : "")
        }
        let write = Observation(
            id: "shm.private.child_write_not_seen",
            claim: "The child's write changes only its own copy: afterwards the parent still reads its own bytes.",
            holds: tested && parentLast == m.parent,
            evidence: [seen.childStore, seen.parentLast].compactMap { $0?.seq },
            detail: notSeen)

        let own = seen.childLast?.cString
        let ownWrite = Observation(
            id: "shm.private.child_sees_own_write",
            claim: "The child reads back what it stored: its copy did change.",
            holds: own == m.child,
            evidence: [seen.childStore, seen.childLast].compactMap { $0?.seq },
            detail: "the child stored \(quoted(m.child)) and read back \(quoted(own))")
        return [copy, write, ownWrite]
    }
}
