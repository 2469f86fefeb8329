/// The scenario `shm.anonymous` and `shm.private` share: a mapping with the parent's message stored
/// before fork, a child that reads it and stores its own, and a parent that reads before and after a sleep.
struct ForkedMessages {
    var parent: String
    var child: String
    var sleepMs: Int
    var size: Int
    /// The parent's copy before fork is the notes' `memcpy(shmem, parent_message, sizeof(parent_message))`
    /// (`copy` "sizeof", shm.anonymous only) rather than `strlen + 1` bytes.
    var sizeofCopy: Bool

    /// `sizeof(char *)`: what the notes' `sizeof(parent_message)` is, `parent_message` being a pointer.
    static let pointerSize = MemoryLayout<UnsafePointer<CChar>>.size

    init(_ params: Parameters) {
        parent = params.string("parent_message") ?? "1111"
        child = params.string("child_message") ?? "2222"
        sleepMs = params.int("parent_sleep_ms") ?? 100
        size = params.int("size") ?? 128
        sizeofCopy = params.string("copy") == "sizeof"
    }

    /// Bytes each load reads: the longer message and its NUL.
    var loadSize: Int { max(parent.utf8.count, child.utf8.count) + 1 }

    /// The bytes the parent copies into the region before fork: the message and its NUL, or with
    /// `sizeof` exactly `pointerSize` bytes of them — cut short, or padded with the zeros that follow
    /// the message here (in the C program, whatever follows the string literal in memory).
    var initialBytes: [UInt8] {
        let text = Array(parent.utf8) + [0]
        guard sizeofCopy else { return text }
        return Array((text + [UInt8](repeating: 0, count: Self.pointerSize)).prefix(Self.pointerSize))
    }

    func validate(_ params: Parameters) throws(LabError) {
        guard size >= max(loadSize, initialBytes.count) else {
            throw LabError(.invalidParameter, "must be at least \(max(loadSize, initialBytes.count)): the longer message and its NUL"
                           + (sizeofCopy ? ", and the \(Self.pointerSize) bytes copied by sizeof" : ""), path: "params.size")
        }
        // Regions are given their first bytes as text: an 8-byte cut through a character cannot be.
        guard String(validating: initialBytes, as: UTF8.self) != nil else {
            throw LabError(.invalidParameter, "with copy \"sizeof\" the first \(Self.pointerSize) bytes would cut a UTF-8 character: choose another message",
                           path: "params.parent_message")
        }
    }

    func scenario(mapping: SharedMemoryChannel.Mapping) -> Scenario {
        let region = SharedMemoryChannel(type: .anonymous, size: size, mapping: mapping,
                                         initial: String(decoding: initialBytes, as: UTF8.self))
        return Scenario(
            channels: [Channel(name: "shmem", spec: .sharedMemory(region))],
            processes: [
                ProcessSpec(name: "parent", steps: [
                    .load(channel: "shmem", size: loadSize),
                    .sleep(ms: sleepMs),
                    .load(channel: "shmem", size: loadSize),
                    .wait(process: "child"),
                ]),
                ProcessSpec(name: "child", steps: [
                    .load(channel: "shmem", size: loadSize),
                    .store(channel: "shmem", data: child + "\u{0}"),
                    .load(channel: "shmem", size: loadSize),
                ]),
            ])
    }

    /// The events the observations of both presets look at.
    struct Seen {
        var mmap: TraceEvent?
        var initialStore: TraceEvent?
        var childFirst: TraceEvent?
        var childStore: TraceEvent?
        var childLast: TraceEvent?
        var parentLast: TraceEvent?
        var accesses: [TraceEvent]
    }

    func seen(in trace: Trace) -> Seen {
        let childLoads = trace.accesses(.load, on: "shmem", by: "child")
        let stores = trace.accesses(.store, on: "shmem")
        return Seen(
            mmap: trace.calls(.sharedMemory(.mmap), by: "parent", on: "shmem").first,
            initialStore: stores.first { $0.process == "parent" && $0.step == nil },
            childFirst: childLoads.first,
            childStore: stores.first { $0.process == "child" },
            childLast: childLoads.count > 1 ? childLoads.last : nil,
            parentLast: trace.accesses(.load, on: "shmem", by: "parent").dropFirst().last,
            accesses: trace.events.filter { ($0.is(.sharedMemory(.load)) || $0.is(.sharedMemory(.store))) && $0.channel == "shmem" })
    }
}
