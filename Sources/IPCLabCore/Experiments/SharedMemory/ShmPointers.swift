/// `shm.pointers` — the note in the course: a region mapped at different addresses in two processes.
/// A pointer stored in it is an address in the writer's space and wrong in the reader's; an offset from
/// the region's start is right in both.
public struct ShmPointers: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "shm.pointers",
        mechanism: "shm",
        title: "Pointers in shared memory",
        claim: "The same shared region can be mapped at different addresses in different processes, so a pointer stored in it is wrong in the other process; an offset from the region's start is right in every process.",
        seed: "003",
        parameters: [
            Parameter("type", .string, "The region: \"posix\" (shm_open + mmap) or \"sysv\" (shmget + shmat).", default: "posix", count: 4...5,
                      choices: ["posix", "sysv"]),
            Parameter("writer_address", .integer,
                      "Where the writer asks to map the region (the course's example: 0x40000000 = 1073741824); 0 lets the kernel choose.",
                      default: 0x4000_0000, range: 0...0x7FFF_FFFF_0000),
            Parameter("reader_address", .integer,
                      "Where the reader asks to map it (the example: 0x50008000 = 1342210048). The same as the writer's (or 0 for both), and the pointer happens to work.",
                      default: 0x5000_8000, range: 0...0x7FFF_FFFF_0000),
            Parameter("target", .integer, "Offset of the second node, which the pointer and the offset refer to (the course's example: 256).",
                      default: 256, range: 16...3072),
            Parameter("message", .string, "What the second node holds (a NUL is added).", default: "the second node", count: 1...1000),
        ],
        observations: ["shm.pointers.different_addresses", "shm.pointers.pointer_breaks", "shm.pointers.offset_works"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try Choice.check(params, "type", ["posix", "sysv"])
        for name in ["writer_address", "reader_address"] {
            if let a = params.int(name), a % 4096 != 0 || (a != 0 && a < 0x10000) {
                throw LabError(.invalidParameter, "must be 0 or a multiple of the page size (4096) from 65536 up, not \(a)", path: "params.\(name)")
            }
        }
        // target ≤ 3072 and a message of ≤ 1000 bytes with its NUL always fit the 4096-byte region.
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let target = params.int("target") ?? 256
        let message = (params.string("message") ?? "") + "\u{0}"
        let region = params.string("type") == "sysv"
            ? SharedMemoryChannel(type: .sysv, size: 4096, ftokPath: "/tmp/region", ftokID: 65)
            : SharedMemoryChannel(type: .posix, size: 4096, shmName: "/ipclab_list")
        func address(_ name: String) -> Int? { params.int(name).flatMap { $0 == 0 ? nil : $0 } }
        return Scenario(
            channels: [
                Channel(name: "region", spec: .sharedMemory(region)),
                Channel(name: "ready", spec: .semaphore(SemaphoreChannel(type: .posixUnnamed, value: 0))),
            ],
            processes: [
                ProcessSpec(name: "writer", steps: [
                    .attach(channel: "region", address: address("writer_address")),
                    .store(channel: "region", offset: target, data: message),
                    // Offset 0: a pointer to the second node, as a linked list in one process would hold it.
                    .storePointer(channel: "region", offset: 0, target: target),
                    // Offset 8: the same link as an offset from the region's start.
                    .storeInt(channel: "region", offset: 8, value: target),
                    .semPost("ready"),
                    .wait(process: "reader"),
                ]),
                ProcessSpec(name: "reader", steps: [
                    .attach(channel: "region", address: address("reader_address")),
                    .semWait("ready"),
                    .loadPointer(channel: "region", offset: 0, size: message.utf8.count),
                    .loadInt(channel: "region", offset: 8),
                    .load(channel: "region", offset: target, size: message.utf8.count),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let target = Int64(params.int("target") ?? 256)
        let message = params.string("message") ?? ""
        func attach(_ who: String) -> TraceEvent? {
            trace.events.last { $0.process == who && $0.channel == "region" && ($0.call == "shmat" || $0.call == "mmap") }
        }
        let writerMap = attach("writer"), readerMap = attach("reader")
        let writerBase = writerMap?.result, readerBase = readerMap?.result
        func hex(_ n: Int64?) -> String { n.map { "0x" + String($0, radix: 16) } ?? "?" }
        let differ = (writerBase ?? -1) > 0 && (readerBase ?? -1) > 0 && writerBase != readerBase
        let addresses = Observation(
            id: "shm.pointers.different_addresses",
            claim: "The writer and the reader map the same region at different addresses.",
            holds: differ,
            evidence: [writerMap, readerMap].compactMap { $0?.seq },
            detail: differ
                ? "the writer mapped it at \(hex(writerBase)), the reader at \(hex(readerBase))"
                : "both mapped it at \(hex(writerBase))")

        let stored = trace.calls("store_pointer", by: "writer", on: "region").first
        let read = trace.calls("process_vm_readv", by: "reader", on: "region").first
        let outside = read?.arg("in_own_mapping") == .bool(false)
        let failedOrWrong = read?.errno != nil || read?.cString != message
        let outcome = read.map { r in r.errno.map { "reading there failed with \($0)" } ?? "reading there found \(quoted(r.cString))" } ?? "nothing was read"
        let pointer = Observation(
            id: "shm.pointers.pointer_breaks",
            claim: "A pointer stored in the region is an address in the writer's space: in the reader it points outside the reader's mapping, and reading through it fails or finds other bytes.",
            holds: outside && failedOrWrong,
            evidence: [stored, read].compactMap { $0?.seq },
            detail: "the writer stored the pointer \(stored?.string("points_to") ?? "?") (its base \(hex(writerBase)) + \(target)); in the reader, whose mapping is \(read?.string("own_mapping") ?? "?"), that address is "
                + (outside ? "outside it" : "inside it") + " and \(outcome)")

        let offset = trace.calls("load_int", by: "reader", on: "region").last { $0.int("offset") == 8 }
        let node = trace.accesses("load", on: "region", by: "reader").first
        let right = offset?.int("value") == target && node?.cString == message
        let works = Observation(
            id: "shm.pointers.offset_works",
            claim: "An offset from the region's start is right in every process: the reader's own base plus the stored offset finds the node.",
            holds: right,
            evidence: [offset, node].compactMap { $0?.seq },
            detail: "the reader loaded the offset \(offset?.int("value").map(String.init) ?? "?") and read \(quoted(node?.cString)) at its own base \(node?.string("base") ?? "?") + \(target)")
        return [addresses, pointer, works]
    }
}
