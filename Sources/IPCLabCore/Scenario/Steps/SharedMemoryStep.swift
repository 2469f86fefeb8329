/// Steps on shared-memory regions: attach and detach, memory accesses at an offset, a counter
/// incremented in a loop, and removing a SysV segment or a POSIX name.
///
/// Memory accesses are not system calls; the trace records them as events too (`store`,
/// `load`, …) with the address they touched, because they are what the experiment is about.
public enum SharedMemoryStep: StepFamily {
    /// How an `increment` loop keeps its read-modify-write safe, if at all.
    public enum Sync: String, Sendable, CaseIterable {
        /// A plain load, add and store: updates by other processes in between are lost.
        case none
        /// One `__atomic_fetch_add` (`lock xadd`) per increment.
        case atomic
        /// Each load-add-store between a wait and a post on a semaphore channel.
        case semaphore
    }

    /// `shmat(2)` (SysV) or `mmap(2)` of the inherited descriptor (POSIX), at the kernel's choice of
    /// address, or asking for `address` (`shmat` fails if it is taken; `mmap` takes it as a hint).
    case attach(channel: String, address: Int?)
    /// `shmdt(2)` (SysV) or `munmap(2)`.
    case detach(channel: String)
    /// Copies the UTF-8 bytes of `data` into the region at `offset`.
    case store(channel: String, offset: Int, data: String)
    /// Reads `size` bytes of the region at `offset`.
    case load(channel: String, offset: Int, size: Int)
    /// Stores a signed 64-bit integer at `offset`.
    case storeInt(channel: String, offset: Int, value: Int)
    /// Loads the 64-bit integer at `offset`.
    case loadInt(channel: String, offset: Int)
    /// Stores, at `offset`, this process's address of the byte at offset `target`: a pointer into the region.
    case storePointer(channel: String, offset: Int, target: Int)
    /// Loads the pointer at `offset` and reads `size` bytes where it points, with `process_vm_readv(2)`
    /// on this process: an address not mapped here fails with `EFAULT` instead of crashing.
    case loadPointer(channel: String, offset: Int, size: Int)
    /// Adds 1 to the 64-bit counter at `offset`, `times` times; the first `detail` iterations are
    /// recorded one access at a time, the rest as one `increment` event with its counts.
    case increment(channel: String, offset: Int, times: Int, sync: Sync, semaphore: String?, detail: Int)
    /// A barrier in the region, in `8 × (count + 2)` bytes at `offset`: each process adds 1 to the arrival
    /// count there and spins until all `count` have arrived and are running at the same moment (or 100 ms
    /// after the last arrival), so they leave it together, running — no system call has to wake them.
    /// With `spread`, each process first pins itself to a CPU of its own (`sched_setaffinity(2)`, the
    /// n-th arrival to the n-th CPU), so that they can run at the same time at all.
    case barrier(channel: String, offset: Int, count: Int, spread: Bool)
    /// SysV: `ftok` and `shmget(key, 0, 0)`; POSIX: `shm_open(name, O_RDWR)` — is the name still there?
    /// What it finds is what the process attaches afterwards.
    case lookup(channel: String)
    /// SysV: `shmctl(IPC_RMID)`: the segment goes when the last process detaches; its key at once.
    case remove(channel: String)
    /// POSIX: `shm_unlink(3)`: the name goes; mappings and descriptors keep the object alive.
    case unlink(channel: String)

    public static let ops = ["attach", "detach", "store", "load", "store_int", "load_int", "store_pointer", "load_pointer",
                             "increment", "barrier", "lookup", "shm_remove", "shm_unlink"]

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> SharedMemoryStep {
        typealias B = Scenario.Bounds
        let channel = try r.requiredString("channel")
        func offset(_ r: inout JSONObjectReader) throws(LabError) -> Int { try r.int("offset", in: B.offset) ?? 0 }
        switch op {
        case "attach":
            let address = try r.int("address", in: B.attachAddress)
            if let address, address % 4096 != 0 {
                throw r.fail("address", "must be a multiple of the page size (4096), not \(address)")
            }
            return .attach(channel: channel, address: address)
        case "detach":
            return .detach(channel: channel)
        case "store":
            let at = try offset(&r)
            let data = try r.requiredString("data")
            guard B.accessBytes.contains(data.utf8.count) else {
                throw r.fail("data", "must be 1…\(B.accessBytes.upperBound) bytes of UTF-8, not \(data.utf8.count)")
            }
            return .store(channel: channel, offset: at, data: data)
        case "load":
            return .load(channel: channel, offset: try offset(&r), size: try r.requiredInt("size", in: B.accessBytes))
        case "store_int":
            return .storeInt(channel: channel, offset: try offset(&r), value: try r.requiredInt("value", in: B.storedInteger))
        case "load_int":
            return .loadInt(channel: channel, offset: try offset(&r))
        case "store_pointer":
            return .storePointer(channel: channel, offset: try offset(&r), target: try r.requiredInt("target", in: B.offset))
        case "load_pointer":
            return .loadPointer(channel: channel, offset: try offset(&r), size: try r.requiredInt("size", in: B.accessBytes))
        case "increment":
            let at = try offset(&r)
            let times = try r.int("times", in: B.increments) ?? 1
            let sync = try r.choice("sync", Sync.self) ?? .none
            let semaphore = try r.string("semaphore")
            let detail = try r.int("detail", in: B.detailedIncrements) ?? 3
            if sync == .semaphore && semaphore == nil {
                throw r.fail("semaphore", "is required with \"sync\": \"semaphore\": the semaphore channel to wait and post on")
            }
            if sync != .semaphore && semaphore != nil {
                throw r.fail("semaphore", "goes with \"sync\": \"semaphore\" only")
            }
            return .increment(channel: channel, offset: at, times: times, sync: sync, semaphore: semaphore, detail: detail)
        case "barrier":
            return .barrier(channel: channel, offset: try offset(&r), count: try r.requiredInt("count", in: B.barrierCount),
                            spread: try r.bool("spread") ?? false)
        case "lookup":
            return .lookup(channel: channel)
        case "shm_remove":
            return .remove(channel: channel)
        default:
            return .unlink(channel: channel)
        }
    }

    public var op: String {
        switch self {
        case .attach: "attach"
        case .detach: "detach"
        case .store: "store"
        case .load: "load"
        case .storeInt: "store_int"
        case .loadInt: "load_int"
        case .storePointer: "store_pointer"
        case .loadPointer: "load_pointer"
        case .increment: "increment"
        case .barrier: "barrier"
        case .lookup: "lookup"
        case .remove: "shm_remove"
        case .unlink: "shm_unlink"
        }
    }

    public var channel: String? {
        switch self {
        case .attach(let c, _), .detach(let c), .store(let c, _, _), .load(let c, _, _), .storeInt(let c, _, _),
             .loadInt(let c, _), .storePointer(let c, _, _), .loadPointer(let c, _, _), .increment(let c, _, _, _, _, _),
             .barrier(let c, _, _, _), .lookup(let c), .remove(let c), .unlink(let c):
            c
        }
    }

    public var fields: [String: JSONValue] {
        var o: [String: JSONValue] = ["channel": .string(channel ?? "")]
        func int(_ n: Int) -> JSONValue { .integer(Int64(n)) }
        switch self {
        case let .attach(_, address):
            if let address { o["address"] = int(address) }
        case let .store(_, offset, data):
            o["offset"] = int(offset); o["data"] = .string(data)
        case let .load(_, offset, size), let .loadPointer(_, offset, size):
            o["offset"] = int(offset); o["size"] = int(size)
        case let .storeInt(_, offset, value):
            o["offset"] = int(offset); o["value"] = int(value)
        case let .loadInt(_, offset):
            o["offset"] = int(offset)
        case let .storePointer(_, offset, target):
            o["offset"] = int(offset); o["target"] = int(target)
        case let .increment(_, offset, times, sync, semaphore, detail):
            o["offset"] = int(offset); o["times"] = int(times); o["sync"] = .string(sync.rawValue); o["detail"] = int(detail)
            if let semaphore { o["semaphore"] = .string(semaphore) }
        case let .barrier(_, offset, count, spread):
            o["offset"] = int(offset); o["count"] = int(count)
            if spread { o["spread"] = .bool(true) }
        case .detach, .lookup, .remove, .unlink:
            break
        }
        return o
    }

    /// The bytes the step touches at its offset, for the bounds check against the region's size.
    private var extent: (offset: Int, bytes: Int, aligned: Bool)? {
        switch self {
        case let .store(_, offset, data): (offset, data.utf8.count, false)
        case let .load(_, offset, size): (offset, size, false)
        case let .storeInt(_, offset, _), let .loadInt(_, offset), let .storePointer(_, offset, _),
             let .loadPointer(_, offset, _), let .increment(_, offset, _, _, _, _):
            (offset, 8, true)
        case let .barrier(_, offset, count, _): (offset, 8 * (count + 2), true)
        case .attach, .detach, .lookup, .remove, .unlink: nil
        }
    }

    public func check(in scenario: Scenario, process: Int, step: Int, at path: JSONPath) throws(LabError) {
        guard let name = channel, let c = scenario.channel(named: name) else { return }
        func fail(_ key: String, _ why: String) -> LabError { LabError(.invalidScenario, why, path: path.key(key).description) }
        guard case .sharedMemory(let region) = c.spec else {
            throw fail("channel", "\(op) works on a shared_memory channel; \"\(name)\" is a \(c.kind)")
        }
        if let (offset, bytes, aligned) = extent {
            if aligned && offset % 8 != 0 {
                throw fail("offset", "must be a multiple of 8 for a 64-bit integer, not \(offset)")
            }
            guard offset + bytes <= region.size else {
                throw fail("offset", "\(offset) + \(bytes) bytes goes past the end of \"\(name)\" (\(region.size) bytes)")
            }
        }
        switch self {
        case .attach where region.type == .anonymous:
            throw fail("channel", "an anonymous region is mapped before fork and inherited: it needs no attach")
        case .lookup where region.type == .anonymous:
            throw fail("channel", "an anonymous region has no name or key to look up")
        case .remove where region.type != .sysv:
            throw fail("channel", "shm_remove (shmctl IPC_RMID) is for a sysv region; \"\(name)\" is \(region.type.rawValue)"
                + (region.type == .posix ? " (use shm_unlink)" : ""))
        case .unlink where region.type != .posix:
            throw fail("channel", "shm_unlink is for a posix region; \"\(name)\" is \(region.type.rawValue)"
                + (region.type == .sysv ? " (use shm_remove)" : ""))
        case let .storePointer(_, _, target) where target >= region.size:
            throw fail("target", "must be an offset inside \"\(name)\" (0…\(region.size - 1)), not \(target)")
        case let .increment(_, _, _, _, semaphore?, _):
            guard let s = scenario.channel(named: semaphore) else {
                throw fail("semaphore", "no channel named \"\(semaphore)\"")
            }
            guard case .semaphore = s.spec else {
                throw fail("semaphore", "\"\(semaphore)\" is a \(s.kind), not a semaphore")
            }
        default:
            break
        }
        try checkMapped(region, name: name, in: scenario.processes[process], step: step, at: path)
    }

    /// A memory access needs the region mapped in this process at that step: anonymous regions are
    /// mapped from the start; SysV and POSIX ones from an `attach` until a `detach`.
    private func checkMapped(_ region: SharedMemoryChannel, name: String, in process: ProcessSpec, step index: Int,
                             at path: JSONPath) throws(LabError) {
        let needsMapping: Bool
        switch self {
        case .attach, .lookup, .remove, .unlink: needsMapping = false
        default: needsMapping = true
        }
        guard needsMapping else { return }
        var mapped = region.type == .anonymous
        var everMapped = mapped
        for step in process.steps.prefix(index) {
            guard case .sharedMemory(let s) = step, s.channel == name else { continue }
            if case .attach = s { mapped = true; everMapped = true }
            if case .detach = s { mapped = false }
        }
        guard !mapped else { return }
        let why = everMapped
            ? "a detach before it unmapped \"\(name)\" in this process"
            : "add {\"op\": \"attach\", \"channel\": \"\(name)\"} before it"
        throw LabError(.invalidScenario, "\(op) needs \"\(name)\" mapped in this process: \(why)",
                       path: path.key("channel").description)
    }
}

extension Step {
    public static func attach(channel: String, address: Int? = nil) -> Step { .sharedMemory(.attach(channel: channel, address: address)) }
    public static func detach(channel: String) -> Step { .sharedMemory(.detach(channel: channel)) }
    public static func store(channel: String, offset: Int = 0, data: String) -> Step {
        .sharedMemory(.store(channel: channel, offset: offset, data: data))
    }
    public static func load(channel: String, offset: Int = 0, size: Int) -> Step { .sharedMemory(.load(channel: channel, offset: offset, size: size)) }
    public static func storeInt(channel: String, offset: Int = 0, value: Int) -> Step {
        .sharedMemory(.storeInt(channel: channel, offset: offset, value: value))
    }
    public static func loadInt(channel: String, offset: Int = 0) -> Step { .sharedMemory(.loadInt(channel: channel, offset: offset)) }
    public static func storePointer(channel: String, offset: Int = 0, target: Int) -> Step {
        .sharedMemory(.storePointer(channel: channel, offset: offset, target: target))
    }
    public static func loadPointer(channel: String, offset: Int = 0, size: Int) -> Step {
        .sharedMemory(.loadPointer(channel: channel, offset: offset, size: size))
    }
    public static func increment(channel: String, offset: Int = 0, times: Int, sync: SharedMemoryStep.Sync,
                                 semaphore: String? = nil, detail: Int = 3) -> Step {
        .sharedMemory(.increment(channel: channel, offset: offset, times: times, sync: sync, semaphore: semaphore, detail: detail))
    }
    public static func barrier(channel: String, offset: Int, count: Int, spread: Bool = false) -> Step {
        .sharedMemory(.barrier(channel: channel, offset: offset, count: count, spread: spread))
    }
    public static func lookup(channel: String) -> Step { .sharedMemory(.lookup(channel: channel)) }
    public static func shmRemove(channel: String) -> Step { .sharedMemory(.remove(channel: channel)) }
    public static func shmUnlink(channel: String) -> Step { .sharedMemory(.unlink(channel: channel)) }
}
