import IPCLabCore

/// The decoder's shared-memory and semaphore channels and steps (ipclab_plan.h's cshm block), read by hand
/// at the header's offsets as the rest of ``FlatPlanDecoder``, with the fields an op does not use left empty.
extension FlatPlanDecoder {
    func regionChannel(_ at: Int, name: String, string: (Int) throws(Failure) -> String) throws(Failure) -> Channel {
        let sub = u8(at + 1), flags = u8(at + 2), a = Int(i64(at + 32)), b = Int(i64(at + 40))
        let hasPath = u32(at + 20) != 0, hasText = u32(at + 28) != 0
        guard u8(at + 3) == 0, u32(at + 4) == 0, i64(at + 48) == 0 else { throw Failure(description: "channel \(name): unused fields set") }
        func path() throws(Failure) -> String {
            guard hasPath else { throw Failure(description: "channel \(name) without its path or name") }
            return try string(at + 16)
        }
        if u8(at) == 3 {
            guard flags & ~1 == 0 else { throw Failure(description: "shared memory \(name) flags \(flags)") }
            let mapping: SharedMemoryChannel.Mapping = flags == 1 ? .private : .shared
            switch sub {
            case 0:
                guard !hasPath, b == 0 else { throw Failure(description: "anonymous \(name) with a path or id") }
                return Channel(name: name, spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: a, mapping: mapping,
                                                                                  initial: hasText ? try string(at + 24) : nil)))
            case 1:
                guard !hasText, flags == 0 else { throw Failure(description: "sysv \(name) with a text or flags") }
                return Channel(name: name, spec: .sharedMemory(SharedMemoryChannel(type: .sysv, size: a, ftokPath: try path(), ftokID: b)))
            case 2:
                guard !hasText, b == 0 else { throw Failure(description: "posix \(name) with a text or id") }
                return Channel(name: name, spec: .sharedMemory(SharedMemoryChannel(type: .posix, size: a, mapping: mapping, shmName: try path())))
            default: throw Failure(description: "shared memory \(name) type \(sub)")
            }
        }
        guard flags == 0, !hasText else { throw Failure(description: "semaphore \(name) with flags or a text") }
        switch sub {
        case 0:
            guard b == 0 else { throw Failure(description: "named semaphore \(name) with an id") }
            return Channel(name: name, spec: .semaphore(SemaphoreChannel(type: .posixNamed, value: a, semName: try path())))
        case 1:
            guard !hasPath, b == 0 else { throw Failure(description: "unnamed semaphore \(name) with a name or id") }
            return Channel(name: name, spec: .semaphore(SemaphoreChannel(type: .posixUnnamed, value: a)))
        case 2:
            return Channel(name: name, spec: .semaphore(SemaphoreChannel(type: .sysv, value: a, ftokPath: try path(), ftokID: b)))
        default: throw Failure(description: "semaphore \(name) type \(sub)")
        }
    }

    // swiftlint:disable:next cyclomatic_complexity
    func regionStep(_ at: Int, channels: [Channel], string: (Int) throws(Failure) -> String) throws(Failure) -> Step {
        let op = u16(at), flags = u16(at + 2), c = Int(i16(at + 4))
        let n = (Int(i64(at + 24)), Int(i64(at + 32)), Int(i64(at + 40)), Int(i64(at + 48)))
        let hasText = u32(at + 60) != 0
        guard i16(at + 6) == -1, i16(at + 8) == -1, i16(at + 10) == -1, i32(at + 12) == 0, i32(at + 16) == 0, i32(at + 20) == 0 else {
            throw Failure(description: "op \(op) with a process, end, signal or reserved field")
        }
        guard channels.indices.contains(c) else { throw Failure(description: "op \(op) on channel \(c)") }
        let channel = channels[c].name
        let isSemaphore = { if case .semaphore = channels[c].spec { true } else { false } }()
        func unused(_ numbers: Int, text: Bool = false, flags allowed: UInt16 = 0) throws(Failure) {
            let all = [n.0, n.1, n.2, n.3]
            guard all.dropFirst(numbers).allSatisfy({ $0 == 0 }), text || !hasText, flags & ~allowed == 0 else {
                throw Failure(description: "op \(op) with fields it does not use (n \(all), flags \(flags))")
            }
        }
        if op >> 8 == 5 {
            guard isSemaphore else { throw Failure(description: "semaphore op \(op) on \(channel)") }
            try unused(0)
            switch op {
            case 0x0501: return .semWait(channel)
            case 0x0502: return .semTryWait(channel)
            case 0x0503: return .semPost(channel)
            case 0x0504: return .semWaitZero(channel)
            case 0x0505: return .semClose(channel)
            case 0x0506: return .semUnlink(channel)
            case 0x0507: return .semRemove(channel)
            default: throw Failure(description: "op \(op)")
            }
        }
        guard case .sharedMemory = channels[c].spec else { throw Failure(description: "shared-memory op \(op) on \(channel)") }
        switch op {
        case 0x0401:
            try unused(1)
            return .attach(channel: channel, address: n.0 == 0 ? nil : n.0)
        case 0x0402: try unused(0); return .detach(channel: channel)
        case 0x0403: try unused(1, text: true); return .store(channel: channel, offset: n.0, data: try string(at + 56))
        case 0x0404: try unused(2); return .load(channel: channel, offset: n.0, size: n.1)
        case 0x0405: try unused(2); return .storeInt(channel: channel, offset: n.0, value: n.1)
        case 0x0406: try unused(1); return .loadInt(channel: channel, offset: n.0)
        case 0x0407: try unused(2); return .storePointer(channel: channel, offset: n.0, target: n.1)
        case 0x0408: try unused(2); return .loadPointer(channel: channel, offset: n.0, size: n.1)
        case 0x0409:
            try unused(4, flags: 4 | 8)
            let sync: SharedMemoryStep.Sync = flags == 4 ? .atomic : flags == 8 ? .semaphore : .none
            guard flags != 12 else { throw Failure(description: "increment with two syncs") }
            var semaphore: String?
            if sync == .semaphore {
                guard channels.indices.contains(n.2), case .semaphore = channels[n.2].spec else { throw Failure(description: "increment's semaphore \(n.2)") }
                semaphore = channels[n.2].name
            } else if n.2 != -1 {
                throw Failure(description: "increment without a semaphore names channel \(n.2)")
            }
            return .increment(channel: channel, offset: n.0, times: n.1, sync: sync, semaphore: semaphore, detail: n.3)
        case 0x040A:
            try unused(2, flags: 16)
            return .barrier(channel: channel, offset: n.0, count: n.1, spread: flags == 16)
        case 0x040B: try unused(0); return .lookup(channel: channel)
        case 0x040C: try unused(0); return .shmRemove(channel: channel)
        case 0x040D: try unused(0); return .shmUnlink(channel: channel)
        default: throw Failure(description: "op \(op)")
        }
    }
}
