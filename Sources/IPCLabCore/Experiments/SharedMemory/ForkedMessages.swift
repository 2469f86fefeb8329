/// The scenario `shm.anonymous` and `shm.private` share: a mapping with the parent's message stored
/// before fork, a child that reads it and stores its own, and a parent that reads before and after a sleep.
struct ForkedMessages {
    var parent: String
    var child: String
    var sleepMs: Int
    var size: Int

    init(_ params: Parameters) {
        parent = params.string("parent_message") ?? "1111"
        child = params.string("child_message") ?? "2222"
        sleepMs = params.int("parent_sleep_ms") ?? 100
        size = params.int("size") ?? 128
    }

    /// Bytes each load reads: the longer message and its NUL.
    var loadSize: Int { max(parent.utf8.count, child.utf8.count) + 1 }

    func validate(_ params: Parameters) throws(LabError) {
        guard size >= loadSize else {
            throw LabError(.invalidParameter, "must be at least \(loadSize): the longer message and its NUL", path: "params.size")
        }
    }

    func scenario(mapping: SharedMemoryChannel.Mapping) -> Scenario {
        let region = SharedMemoryChannel(type: .anonymous, size: size, mapping: mapping, initial: parent + "\u{0}")
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
