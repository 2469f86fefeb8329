/// `shm.posix` — POSIX shared memory: `shm_open` → `ftruncate` → `mmap`; `shm_unlink` while still
/// mapped: the mapping keeps working, the name is gone.
public struct ShmPOSIX: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "shm.posix",
        mechanism: "shm",
        title: "POSIX shared memory: shm_open, ftruncate, mmap, shm_unlink",
        claim: "shm_open creates a named object (with no size), ftruncate sizes it, mmap maps it. shm_unlink removes the name at once, but the object lives on while it is mapped: the mappings keep working.",
        seed: "003",
        parameters: [
            Parameter("message", .string, "What the writer stores after unlinking the name (a NUL is added).",
                      default: "written after shm_unlink", count: 1...1024),
            Parameter("size", .integer, "The size ftruncate gives the object.", default: 4096, range: 1...1_048_576),
            Parameter("unlink", .boolean, "Call shm_unlink before storing. Without it the name stays and the claim is not shown.",
                      default: true),
        ],
        observations: ["shm.posix.created", "shm.posix.mapping_survives_unlink", "shm.posix.name_gone"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        try checkMessageFits(params)
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let message = (params.string("message") ?? "") + "\u{0}"
        let region = SharedMemoryChannel(type: .posix, size: params.int("size") ?? 4096, shmName: "/ipclab_region")
        var writer: [Step] = [.attach(channel: "region")]
        if params.bool("unlink") != false { writer.append(.shmUnlink(channel: "region")) }
        writer += [
            .lookup(channel: "region"),
            .store(channel: "region", data: message),
        ]
        return Scenario(
            channels: [Channel(name: "region", spec: .sharedMemory(region))],
            processes: [
                ProcessSpec(name: "reader", steps: [
                    .attach(channel: "region"),
                    .wait(process: "writer"),
                    .load(channel: "region", size: message.utf8.count),
                    .lookup(channel: "region"),
                ]),
                ProcessSpec(name: "writer", steps: writer),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let size = Int64(params.int("size") ?? 4096)
        let message = params.string("message") ?? ""
        let open = trace.calls(.sharedMemory(.shmOpen), by: "reader", on: "region").first
        let truncate = trace.calls(.sharedMemory(.ftruncate), on: "region").first
        let maps = trace.calls(.sharedMemory(.mmap), on: "region")
        let sized = truncate.flatMap { t in trace.snapshots(of: "region").first { $0.seq == t.seq } }
        let made = (open?.result ?? -1) >= 0 && truncate?.result == 0 && sized?.value("size") == size
            && maps.count == 2 && maps.allSatisfy { ($0.result ?? -1) > 0 }
        let created = Observation(
            id: "shm.posix.created",
            claim: "shm_open creates the object, ftruncate gives it its size, and each process maps it with mmap.",
            holds: made,
            evidence: ([open, truncate].compactMap { $0 } + maps).seqs,
            detail: "shm_open(\"/ipclab_region\") returned fd \(open?.result.map(String.init) ?? "?"); after ftruncate fstat showed \(sized?.value("size").map(String.init) ?? "?") bytes; "
                + "mmap in \(maps.map { "\($0.process) at \($0.string(.mapped) ?? "-")" }.joined(separator: ", "))")

        let unlink = trace.calls(.sharedMemory(.shmUnlink), by: "writer", on: "region").first
        let store = trace.accesses(.store, on: "region", by: "writer").first
        let load = trace.accesses(.load, on: "region", by: "reader").first
        let unlinked = unlink?.result == 0
        let afterUnlink = (store?.tNs ?? 0) > (unlink?.tNs ?? .max)
        let read = load?.cString
        let survives = Observation(
            id: "shm.posix.mapping_survives_unlink",
            claim: "After shm_unlink the mappings keep working: bytes stored after the unlink reach the other process.",
            holds: unlinked && afterUnlink && read == message,
            evidence: [unlink, store, load].compactMap { $0?.seq },
            detail: unlink == nil
                ? "shm_unlink was not called (unlink: false), so nothing shows the mapping outliving the name; the reader read \(quoted(read))"
                : "shm_unlink returned \(unlink?.result.map(String.init) ?? "?"); the writer then stored \(quoted(message)) and the reader read \(quoted(read))")

        let lookups = trace.calls(.sharedMemory(.shmOpen), on: "region").filter { $0.step != nil }
        let links = unlink.flatMap { u in trace.snapshots(of: "region").first { $0.seq == u.seq } }?.value("links")
        let gone = unlinked && !lookups.isEmpty && lookups.allSatisfy { $0.errno == "ENOENT" } && links == 0
        let name = Observation(
            id: "shm.posix.name_gone",
            claim: "After shm_unlink the name is gone: shm_open of it fails with ENOENT, and fstat shows the object with 0 links.",
            holds: gone,
            evidence: ([unlink].compactMap { $0 } + lookups).seqs,
            detail: unlink == nil
                ? "shm_unlink was not called (unlink: false): shm_open of the name returned \(lookups.map { $0.result.map(String.init) ?? "?" }.joined(separator: ", "))"
                : "after shm_unlink fstat showed \(links.map(String.init) ?? "?") links; shm_open of the name: \(lookups.map { "\($0.process) \($0.result.map(String.init) ?? "?") \($0.errno ?? "")" }.joined(separator: ", "))")
        return [created, survives, name]
    }
}
