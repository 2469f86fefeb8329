/// `shm.anonymous` — the course's `shared_memory.c`: a `MAP_SHARED|MAP_ANONYMOUS` mapping made before
/// fork; the parent stored "1111" before forking, the child reads it and stores "2222", and the parent,
/// after a sleep, reads "2222". Its copy before fork is, by default, the notes' own
/// `memcpy(shmem, parent_message, sizeof(parent_message))`: `sizeof` of a pointer (correction 004).
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
            Parameter("copy", .string,
                      "How the parent copies its message before fork: \"sizeof\" as the notes' shared_memory.c does, memcpy(shmem, parent_message, sizeof(parent_message)) — the size of a char *, 8 bytes, whatever the message (the bytes past its NUL are zeros here; in the C program, whatever follows the string literal) — or \"string\", strlen(parent_message) + 1 bytes, what was meant.",
                      default: "sizeof", count: 6...6, choices: ["sizeof", "string"]),
        ],
        observations: ["shm.anonymous.child_reads_parent_write", "shm.anonymous.parent_reads_child_write", "shm.anonymous.same_address",
                       "shm.anonymous.copies_pointer_size"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try Choice.check(params, "copy", ["sizeof", "string"])
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

        let stored = seen.initialStore?.cString
        let childReads = Observation(
            id: "shm.anonymous.child_reads_parent_write",
            claim: "The child reads the bytes its parent stored before fork: the mapping was inherited.",
            holds: stored != nil && childRead == stored,
            evidence: [seen.initialStore, seen.childFirst].compactMap { $0?.seq },
            detail: "the parent stored \(quoted(stored)) before fork; the child read \(quoted(childRead))")

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
        return [childReads, parentReads, same, pointerSizeCopy(m, seen)]
    }

    /// Correction 004: `sizeof(parent_message)` is the size of a pointer, not of the message. Shown
    /// only when the copy's byte count differs from the message's with its NUL.
    func pointerSizeCopy(_ m: ForkedMessages, _ seen: ForkedMessages.Seen) -> Observation {
        let pointer = ForkedMessages.pointerSize
        let text = m.parent.utf8.count + 1
        let copied = seen.initialStore?.int(.count).map(Int.init)
        let read = seen.childFirst?.cString
        let arrived = read != nil && read == seen.initialStore?.cString
        let detail: String
        var holds = false
        if !m.sizeofCopy {
            detail = "copy is \"string\": the parent copied strlen + 1 = \(copied ?? 0) bytes; run with copy \"sizeof\" to see the notes' sizeof(parent_message)"
        } else if copied != pointer {
            detail = "the copy before fork moved \(copied.map(String.init) ?? "nothing"), not the \(pointer) bytes of sizeof(char *)"
        } else if text == pointer {
            detail = "the message and its NUL are \(text) bytes, as many as a pointer: this run cannot tell sizeof(parent_message) from strlen + 1; choose a message of another length"
        } else if !arrived {
            detail = "the parent copied \(pointer) bytes; the child read \(quoted(read)), not the \(quoted(seen.initialStore?.cString)) they hold"
        } else if text < pointer {
            holds = true
            detail = "sizeof(parent_message) is \(pointer): the parent copied \(pointer) bytes — \(quoted(m.parent)), its NUL and \(pointer - text) bytes past it (zeros here) — and the child read \(quoted(read)) only because the message is shorter than a pointer"
        } else {
            holds = true
            detail = "sizeof(parent_message) is \(pointer): the parent copied \(pointer) of the message's \(text) bytes (with its NUL), and the child read \(quoted(read)): cut, with no NUL of its own (the mapping's zeros ended it)"
        }
        return Observation(
            id: "shm.anonymous.copies_pointer_size",
            claim: "memcpy(shmem, parent_message, sizeof(parent_message)) copies sizeof(char *) bytes — 8 here — not the message: parent_message is a pointer, so a shorter message brings bytes past its NUL and a longer one arrives cut.",
            holds: holds,
            evidence: [seen.initialStore, seen.childFirst].compactMap { $0?.seq },
            detail: detail)
    }
}
