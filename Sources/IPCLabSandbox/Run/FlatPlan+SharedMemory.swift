import CIPCLab
import IPCLabCore

/// Shared-memory and semaphore channels and steps as the flat plan carries them (`ipclab_plan.h`, the shared-memory
/// block): each field Participant+SharedMemory.swift and +Semaphores.swift read, where the header says it goes.
/// The C runner's validator (runner_plan_shm.c) refuses a plan whose offsets leave a region; the language
/// already refuses such a scenario (SharedMemoryStep.check), and a scenario built in code that would get
/// past it is refused here instead, so that it runs on the Swift runner rather than failing to start.
extension FlatPlan.Writer {
    mutating func compile(sharedMemory spec: SharedMemoryChannel, into c: inout ipclab_plan_channel, name: String) throws(FlatPlan.Refusal) {
        // What the validator checks and the language already refused (a channel built in code may not have been).
        guard Scenario.Bounds.sharedMemorySize.contains(spec.size), (spec.initial?.utf8.count ?? 0) <= spec.size,
              spec.type != .sysv || Scenario.Bounds.ftokID.contains(spec.ftokID ?? 65) && Self.absolute(spec.ftokPath),
              spec.type != .posix || Self.absolute(spec.shmName)
        else { throw .channel(name: name, kind: "shared_memory") }
        c.kind = UInt8(IPCLAB_PLAN_CHANNEL_SHARED_MEMORY.rawValue)
        c.a = Int64(spec.size)
        switch spec.type {
        case .anonymous:
            c.sub = UInt8(IPCLAB_PLAN_SHM_ANONYMOUS.rawValue)
            if let initial = spec.initial { c.text = pool.add(initial) }
        case .sysv:
            c.sub = UInt8(IPCLAB_PLAN_SHM_SYSV.rawValue)
            c.path = pool.add(spec.ftokPath ?? "")
            c.b = Int64(spec.ftokID ?? 65)
        case .posix:
            c.sub = UInt8(IPCLAB_PLAN_SHM_POSIX.rawValue)
            c.path = pool.add(spec.shmName ?? "")
        }
        // The Swift participant maps a sysv segment with shmat, whatever `mapping` says.
        if spec.mapping == .private && spec.type != .sysv { c.flags = UInt8(IPCLAB_PLAN_SHM_PRIVATE) }
    }

    mutating func compile(semaphore spec: SemaphoreChannel, into c: inout ipclab_plan_channel, name: String) throws(FlatPlan.Refusal) {
        guard Scenario.Bounds.semaphoreValue.contains(spec.value),
              spec.type != .sysv || Scenario.Bounds.ftokID.contains(spec.ftokID ?? 83) && Self.absolute(spec.ftokPath),
              spec.type != .posixNamed || Self.absolute(spec.semName)
        else { throw .channel(name: name, kind: "semaphore") }
        c.kind = UInt8(IPCLAB_PLAN_CHANNEL_SEMAPHORE.rawValue)
        c.a = Int64(spec.value)
        switch spec.type {
        case .posixNamed:
            c.sub = UInt8(IPCLAB_PLAN_SEM_NAMED.rawValue)
            c.path = pool.add(spec.semName ?? "")
        case .posixUnnamed:
            c.sub = UInt8(IPCLAB_PLAN_SEM_UNNAMED.rawValue)
        case .sysv:
            c.sub = UInt8(IPCLAB_PLAN_SEM_SYSV.rawValue)
            c.path = pool.add(spec.ftokPath ?? "")
            c.b = Int64(spec.ftokID ?? 83)
        }
    }

    /// A name or path the validator takes: it starts with a slash.
    private static func absolute(_ path: String?) -> Bool { path?.utf8.first == UInt8(ascii: "/") }

    /// The region a step names, or nil when the channel is not one (the C runner would refuse the plan).
    private func region(_ name: String) -> SharedMemoryChannel? {
        if case .sharedMemory(let spec)? = scenario.channel(named: name)?.spec { return spec }
        return nil
    }

    private func isSemaphore(_ name: String) -> Bool {
        if case .semaphore? = scenario.channel(named: name)?.spec { return true }
        return false
    }

    mutating func compile(_ step: SharedMemoryStep, process: String, index: Int) throws(FlatPlan.Refusal) -> ipclab_plan_step {
        let refused = FlatPlan.Refusal.step(process: process, index: index, op: step.op)
        guard let name = step.channel, let spec = region(name) else { throw refused }
        let size = spec.size
        /// `bytes` at `offset` inside the region (8-aligned for an integer), as SharedMemoryStep.check and the validator.
        func fits(_ offset: Int, _ bytes: Int, aligned: Bool = true) throws(FlatPlan.Refusal) {
            guard offset >= 0, bytes >= 0, offset <= size, bytes <= size - offset, !aligned || offset % 8 == 0 else { throw refused }
        }
        let accessBytes = Scenario.Bounds.accessBytes
        var s: ipclab_plan_step
        switch step {
        case let .attach(_, address):
            if let address, !Scenario.Bounds.attachAddress.contains(address) || address % 4096 != 0 { throw refused }
            s = Self.op(IPCLAB_OP_ATTACH)
            s.n.0 = Int64(address ?? 0)
        case .detach:
            s = Self.op(IPCLAB_OP_DETACH)
        case let .store(_, offset, data):
            guard accessBytes.contains(data.utf8.count) else { throw refused }
            try fits(offset, data.utf8.count, aligned: false)
            s = Self.op(IPCLAB_OP_STORE)
            s.n.0 = Int64(offset)
            s.text = pool.add(data)
        case let .load(_, offset, size):
            guard accessBytes.contains(size) else { throw refused }
            try fits(offset, size, aligned: false)
            s = Self.op(IPCLAB_OP_LOAD)
            s.n = (Int64(offset), Int64(size), 0, 0)
        case let .storeInt(_, offset, value):
            try fits(offset, 8)
            s = Self.op(IPCLAB_OP_STORE_INT)
            s.n = (Int64(offset), Int64(value), 0, 0)
        case let .loadInt(_, offset):
            try fits(offset, 8)
            s = Self.op(IPCLAB_OP_LOAD_INT)
            s.n.0 = Int64(offset)
        case let .storePointer(_, offset, target):
            try fits(offset, 8)
            guard (0..<size).contains(target) else { throw refused }
            s = Self.op(IPCLAB_OP_STORE_POINTER)
            s.n = (Int64(offset), Int64(target), 0, 0)
        case let .loadPointer(_, offset, size):
            guard accessBytes.contains(size) else { throw refused }
            try fits(offset, 8)
            s = Self.op(IPCLAB_OP_LOAD_POINTER)
            s.n = (Int64(offset), Int64(size), 0, 0)
        case let .increment(_, offset, times, sync, semaphore, detail):
            try fits(offset, 8)
            guard Scenario.Bounds.increments.contains(times), Scenario.Bounds.detailedIncrements.contains(detail) else { throw refused }
            s = Self.op(IPCLAB_OP_INCREMENT)
            var sem: Int64 = -1
            switch sync {
            case .none: break
            case .atomic: s.flags = UInt16(IPCLAB_PLAN_STEP_SYNC_ATOMIC)
            case .semaphore:
                guard let semaphore, isSemaphore(semaphore) else { throw refused }
                s.flags = UInt16(IPCLAB_PLAN_STEP_SYNC_SEMAPHORE)
                sem = Int64(channelIndex(semaphore))
            }
            s.n = (Int64(offset), Int64(times), sem, Int64(detail))
        case let .barrier(_, offset, count, spread):
            guard Scenario.Bounds.barrierCount.contains(count) else { throw refused }
            try fits(offset, 8 * (count + 2))
            s = Self.op(IPCLAB_OP_BARRIER)
            s.n = (Int64(offset), Int64(count), 0, 0)
            if spread { s.flags = UInt16(IPCLAB_PLAN_STEP_SPREAD) }
        case .lookup:
            s = Self.op(IPCLAB_OP_LOOKUP)
        case .remove:
            s = Self.op(IPCLAB_OP_SHM_REMOVE)
        case .unlink:
            s = Self.op(IPCLAB_OP_SHM_UNLINK)
        }
        s.channel = channelIndex(name)
        return s
    }

    mutating func compile(_ step: SemaphoreStep, process: String, index: Int) throws(FlatPlan.Refusal) -> ipclab_plan_step {
        guard let name = step.channel, isSemaphore(name) else { throw .step(process: process, index: index, op: step.op) }
        var s: ipclab_plan_step
        switch step {
        case .wait: s = Self.op(IPCLAB_OP_SEM_WAIT)
        case .tryWait: s = Self.op(IPCLAB_OP_SEM_TRYWAIT)
        case .post: s = Self.op(IPCLAB_OP_SEM_POST)
        case .waitZero: s = Self.op(IPCLAB_OP_SEM_WAIT_ZERO)
        case .close: s = Self.op(IPCLAB_OP_SEM_CLOSE)
        case .unlink: s = Self.op(IPCLAB_OP_SEM_UNLINK)
        case .remove: s = Self.op(IPCLAB_OP_SEM_REMOVE)
        }
        s.channel = channelIndex(name)
        return s
    }
}
