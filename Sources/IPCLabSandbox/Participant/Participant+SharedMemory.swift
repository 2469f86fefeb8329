import CIPCLab
import Glibc
import IPCLabCore

/// Shared-memory steps. A region's mapping is per process: `ends[c].address`/`size` hold where this
/// process has it; `ends[c].handle` holds the SysV id or the POSIX descriptor (inherited from the first
/// process, which created the object before forking).
extension Participant {
    /// Creates a region before anyone forks (see ``SharedMemoryChannel``).
    mutating func createSharedMemoryChannel(_ c: Int, _ spec: SharedMemoryChannel) {
        switch spec.type {
        case .anonymous:
            let flags = (spec.mapping == .shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS
            guard let base = map(c, length: spec.size, prot: PROT_READ | PROT_WRITE, flags: flags, fd: -1, step: nil).base else { return }
            ends[c].address = base
            ends[c].size = spec.size
            if let initial = spec.initial { store(c, offset: 0, Array(initial.utf8), step: nil) }
        case .sysv:
            guard let key = makeKey(c, path: spec.ftokPath ?? "", id: spec.ftokID ?? 65, step: nil) else { return }
            let flags = IPC_CREAT | 0o600
            let id = shmget(key, spec.size, flags)
            let slot = Recorder.instant("shmget", step: nil, args: [Int64(key), Int64(spec.size), Int64(flags), Int64(c)],
                                        result: Int(id), errno: id < 0 ? errno : 0)
            guard id >= 0 else { return }
            ends[c].handle = Int64(id)
            ends[c].size = spec.size
            shmSnapshot(c, after: slot)
        case .posix:
            let name = spec.shmName ?? ""
            let oflag = O_CREAT | O_RDWR
            let fd = shm_open(name, oflag, 0o600)
            let opened = Recorder.instant("shm_open", step: nil, args: [Int64(c), Int64(oflag), 0o600], result: Int(fd),
                                          errno: fd < 0 ? errno : 0)
            guard fd >= 0 else { return }
            ends[c].handle = Int64(fd)
            ends[c].size = spec.size
            shmSnapshot(c, after: opened)
            let r = ftruncate(fd, off_t(spec.size))
            let sized = Recorder.instant("ftruncate", step: nil, args: [Int64(fd), Int64(spec.size), Int64(c)], result: Int(r),
                                         errno: r == 0 ? 0 : errno)
            shmSnapshot(c, after: sized)
        }
    }

    mutating func runSharedMemoryStep(_ step: SharedMemoryStep, at i: Int) {
        switch step {
        case let .attach(channel, address):
            attach(channelIndex(channel), address: address, step: i)
        case let .detach(channel):
            detach(channelIndex(channel), step: i)
        case let .store(channel, offset, data):
            store(channelIndex(channel), offset: offset, Array(data.utf8), step: i)
        case let .load(channel, offset, size):
            load(channelIndex(channel), offset: offset, size: size, step: i)
        case let .storeInt(channel, offset, value):
            storeInt(channelIndex(channel), offset: offset, Int64(value), step: i)
        case let .loadInt(channel, offset):
            _ = loadInt(channelIndex(channel), offset: offset, step: i)
        case let .storePointer(channel, offset, target):
            storePointer(channelIndex(channel), offset: offset, target: target, step: i)
        case let .loadPointer(channel, offset, size):
            loadPointer(channelIndex(channel), offset: offset, size: size, step: i)
        case let .increment(channel, offset, times, sync, semaphore, detail):
            increment(channelIndex(channel), offset: offset, times: times, sync: sync,
                      semaphore: semaphore.map(channelIndex), detail: detail, step: i)
        case let .barrier(channel, offset, count, spread):
            let c = channelIndex(channel)
            guard let base = mapped(c, step: i) else { return }
            let slot = Recorder.begin("barrier", step: i, args: [Int64(Int(bitPattern: base)), Int64(offset), Int64(count), Int64(c)])
            let arrival = ipclab_barrier_arrive(base + offset)
            if spread {
                // The n-th to arrive takes the n-th CPU: the processes can then run at the same time.
                let cpu = ipclab_pin_to_nth_cpu(arrival - 1)
                Recorder.instant("sched_setaffinity", step: i, args: [0, Int64(cpu), arrival], result: cpu < 0 ? -1 : 0,
                                 errno: cpu < 0 ? errno : 0)
            }
            // The arrival comes from shared memory: a value outside 1…count fails the step with
            // EPROTO (args[4] keeps what was read) instead of choosing where the barrier writes.
            if ipclab_barrier_wait(base + offset, Int64(count), arrival) != 0 {
                if slot != Recorder.none { ipclab_ring_record(ringBase, slot).pointee.args.4 = arrival }
                Recorder.end(slot, result: -1, errno: errno)
            } else {
                Recorder.end(slot, result: Int(arrival), errno: 0)
            }
        case let .lookup(channel):
            lookup(channelIndex(channel), step: i)
        case let .remove(channel):
            let c = channelIndex(channel)
            let id = Int32(truncatingIfNeeded: ends[c].handle)
            let r = ipclab_shm_remove(id)
            let slot = Recorder.instant("shmctl", step: i, args: [Int64(id), Int64(IPC_RMID), Int64(c)], result: Int(r),
                                        errno: r == 0 ? 0 : errno)
            shmSnapshot(c, after: slot)
        case let .unlink(channel):
            let c = channelIndex(channel)
            let r = shm_unlink(region(c)?.shmName ?? "")
            let slot = Recorder.instant("shm_unlink", step: i, args: [Int64(c)], result: Int(r), errno: r == 0 ? 0 : errno)
            shmSnapshot(c, after: slot)
        }
    }

    func region(_ c: Int) -> SharedMemoryChannel? {
        if case .sharedMemory(let spec) = scenario.channels[c].spec { return spec }
        return nil
    }

    // MARK: Mapping

    /// `mmap(2)`, recorded: the mapping (nil when it failed) and the record's slot.
    func map(_ c: Int, length: Int, prot: Int32, flags: Int32, fd: Int32, address: UnsafeMutableRawPointer? = nil,
             step: Int?) -> (base: UnsafeMutableRawPointer?, slot: UInt32) {
        let p = mmap(address, length, prot, flags, fd, 0)
        let failed = p == nil || p == MAP_FAILED
        let err = failed ? errno : 0
        let slot = Recorder.instant("mmap", step: step, args: [Int64(Int(bitPattern: address)), Int64(length), Int64(prot), Int64(flags), Int64(fd), 0, Int64(c)],
                                    result: failed ? -1 : Int(bitPattern: p), errno: err)
        return (failed ? nil : p, slot)
    }

    /// `shmat(2)` or `mmap(2)`, at `address` if one is asked for.
    mutating func attach(_ c: Int, address: Int?, step: Int) {
        guard let spec = region(c) else { return }
        let hint = address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
        var base: UnsafeMutableRawPointer?
        var slot = Recorder.none
        switch spec.type {
        case .sysv:
            let id = Int32(truncatingIfNeeded: ends[c].handle)
            // Begun and ended around the call, so the trace brackets the moment shm_nattch changed.
            slot = Recorder.begin("shmat", step: step, args: [Int64(id), Int64(address ?? 0), 0, Int64(c)])
            let p = shmat(id, hint, 0)
            let failed = p == nil || p == UnsafeMutableRawPointer(bitPattern: -1)
            Recorder.end(slot, result: failed ? -1 : Int(bitPattern: p), errno: failed ? errno : 0)
            base = failed ? nil : p
        case .posix, .anonymous:
            let flags = spec.mapping == .shared ? MAP_SHARED : MAP_PRIVATE
            (base, slot) = map(c, length: spec.size, prot: PROT_READ | PROT_WRITE, flags: flags,
                               fd: Int32(truncatingIfNeeded: ends[c].handle), address: hint, step: step)
        }
        guard let base else { return }
        ends[c].address = base
        ends[c].size = spec.size
        shmSnapshot(c, after: slot)
    }

    /// `shmdt(2)` or `munmap(2)`.
    mutating func detach(_ c: Int, step: Int) {
        guard let base = mapped(c, step: step) else { return }
        let slot: UInt32
        if region(c)?.type == .sysv {
            slot = Recorder.begin("shmdt", step: step, args: [Int64(Int(bitPattern: base)), Int64(c)])
            let r = shmdt(base)
            Recorder.end(slot, result: Int(r), errno: r == 0 ? 0 : errno)
        } else {
            let r = munmap(base, ends[c].size)
            slot = Recorder.instant("munmap", step: step, args: [Int64(Int(bitPattern: base)), Int64(ends[c].size), Int64(c)],
                                    result: Int(r), errno: r == 0 ? 0 : errno)
        }
        ends[c].address = nil
        shmSnapshot(c, after: slot)
    }

    /// The region's base address in this process; nil (and a note) when it is not mapped here,
    /// because its attach failed: a C program would crash on the access instead.
    func mapped(_ c: Int, step: Int?) -> UnsafeMutableRawPointer? {
        if let base = ends[c].address { return base }
        Recorder.record(IPCLAB_REC_NOTE, "not mapped", step: step, args: [Int64(c)], result: -1, errno: EFAULT)
        return nil
    }

    /// `ftok(3)` of a file made (if missing) with `mknod(2)`; both recorded.
    func makeKey(_ c: Int, path: String, id: Int, step: Int?) -> key_t? {
        var st = stat()
        if stat(path, &st) != 0 {
            let r = ipclab_make_file(path, 0o600)
            Recorder.instant("mknod", step: step, args: [Int64(c), 0o600], result: Int(r), errno: r == 0 ? 0 : errno)
        }
        let key = ftok(path, Int32(id))
        Recorder.instant("ftok", step: step, args: [Int64(c), Int64(id)], result: Int(key), errno: key == -1 ? errno : 0)
        return key == -1 ? nil : key
    }

    // MARK: Memory accesses (not system calls: recorded so the trace shows what moved where)

    mutating func store(_ c: Int, offset: Int, _ bytes: [UInt8], step: Int?) {
        guard let base = mapped(c, step: step) else { return }
        bytes.withUnsafeBytes { buf in
            (base + offset).copyMemory(from: buf.baseAddress!, byteCount: buf.count)
            _ = Recorder.instant("store", step: step, args: [Int64(Int(bitPattern: base)), Int64(offset), Int64(buf.count), Int64(c)],
                             result: buf.count, payload: buf)
        }
    }

    mutating func load(_ c: Int, offset: Int, size: Int, step: Int) {
        guard let base = mapped(c, step: step) else { return }
        let bytes = [UInt8](UnsafeRawBufferPointer(start: base + offset, count: size))
        bytes.withUnsafeBytes { buf in
            _ = Recorder.instant("load", step: step, args: [Int64(Int(bitPattern: base)), Int64(offset), Int64(size), Int64(c)],
                             result: size, payload: buf)
        }
    }

    mutating func storeInt(_ c: Int, offset: Int, _ value: Int64, step: Int) {
        guard let base = mapped(c, step: step) else { return }
        ipclab_store_i64(base + offset, value)
        Recorder.instant("store_int", step: step, args: [Int64(Int(bitPattern: base)), Int64(offset), value, Int64(c)], result: 8)
    }

    /// One 8-byte load; its value, or nil when the region is not mapped.
    mutating func loadInt(_ c: Int, offset: Int, step: Int) -> Int64? {
        guard let base = mapped(c, step: step) else { return nil }
        let value = ipclab_load_i64(base + offset)
        Recorder.instant("load_int", step: step, args: [Int64(Int(bitPattern: base)), Int64(offset), value, Int64(c)], result: 8)
        return value
    }

    mutating func storePointer(_ c: Int, offset: Int, target: Int, step: Int) {
        guard let base = mapped(c, step: step) else { return }
        let pointer = Int64(Int(bitPattern: base + target))
        ipclab_store_i64(base + offset, pointer)
        Recorder.instant("store_pointer", step: step,
                         args: [Int64(Int(bitPattern: base)), Int64(offset), pointer, Int64(c), Int64(target)], result: 8)
    }

    /// Loads a pointer, then reads where it points with `process_vm_readv(2)` on this process.
    mutating func loadPointer(_ c: Int, offset: Int, size: Int, step: Int) {
        guard let pointer = loadInt(c, offset: offset, step: step), let base = ends[c].address else { return }
        var buffer = [UInt8](repeating: 0, count: size)
        let n = buffer.withUnsafeMutableBytes { ipclab_read_own_memory(UInt64(bitPattern: pointer), $0.baseAddress, size) }
        let err = n < 0 ? errno : 0
        let low = Int64(Int(bitPattern: base))
        let inside: Int64 = pointer >= low && pointer + Int64(size) <= low + Int64(ends[c].size) ? 1 : 0
        buffer.withUnsafeBytes { buf in
            _ = Recorder.instant("process_vm_readv", step: step, args: [Int64(getpid()), pointer, Int64(size), Int64(c), inside, low],
                             result: n, errno: err, payload: UnsafeRawBufferPointer(rebasing: buf[0..<max(0, n)]))
        }
    }

    // MARK: A counter incremented in a loop

    /// The first `detail` iterations one access at a time, then the rest in C as one `increment` event
    /// whose args say how many, with which synchronisation, and the first and last values.
    mutating func increment(_ c: Int, offset: Int, times: Int, sync: SharedMemoryStep.Sync, semaphore s: Int?,
                            detail: Int, step: Int) {
        guard let base = mapped(c, step: step) else { return }
        let counter = base + offset
        let detailed = min(detail, times)
        for _ in 0..<detailed {
            switch sync {
            case .none:
                guard let v = loadInt(c, offset: offset, step: step) else { return }
                storeInt(c, offset: offset, v + 1, step: step)
            case .atomic:
                let old = ipclab_atomic_fetch_add_i64(counter, 1)
                Recorder.instant("atomic_fetch_add", step: step, args: [Int64(Int(bitPattern: base)), Int64(offset), old, Int64(c)],
                                 result: 8)
            case .semaphore:
                guard let s, semaphoreWait(s, step: step) == 0, let v = loadInt(c, offset: offset, step: step) else { return }
                storeInt(c, offset: offset, v + 1, step: step)
                guard semaphorePost(s, step: step) == 0 else { return }
            }
        }
        let rest = Int64(times - detailed)
        let code: Int64 = sync == .none ? 0 : sync == .atomic ? 1 : 2
        let slot = Recorder.begin("increment", step: step,
                                  args: [Int64(Int(bitPattern: base)), Int64(offset), rest, code, Int64(c), Int64(s ?? -1), 0, 0])
        var first: Int64 = 0
        var last: Int64 = 0
        errno = 0
        let done: Int64
        switch sync {
        case .none:
            done = ipclab_add_unsynchronised(counter, rest, &first, &last)
        case .atomic:
            done = ipclab_add_atomic(counter, rest, &first, &last)
        case .semaphore:
            let sem = s.map { semaphoreRef($0) } ?? (pointer: nil, semid: -1)
            done = ipclab_add_with_semaphore(counter, rest, sem.pointer, sem.semid, &first, &last)
        }
        let err = done < rest ? errno : 0
        if slot != Recorder.none {
            let r = ipclab_ring_record(ringBase, slot)!
            r.pointee.args.6 = first
            r.pointee.args.7 = last
        }
        Recorder.end(slot, result: Int(done), errno: err)
    }

    // MARK: Names and state

    /// SysV: `ftok` and `shmget(key, 0, 0)` (the id found becomes this process's handle); POSIX:
    /// `shm_open(name, O_RDWR)` (the descriptor becomes this process's handle).
    mutating func lookup(_ c: Int, step: Int) {
        guard let spec = region(c) else { return }
        if spec.type == .sysv {
            guard let key = makeKey(c, path: spec.ftokPath ?? "", id: spec.ftokID ?? 65, step: step) else { return }
            let id = shmget(key, 0, 0)
            Recorder.instant("shmget", step: step, args: [Int64(key), 0, 0, Int64(c)], result: Int(id), errno: id < 0 ? errno : 0)
            // The id found by key is the one this process attaches from now on, as a program that did
            // not inherit it would: the trace then shows both processes reaching the segment by its key.
            if id >= 0 { ends[c].handle = Int64(id) }
        } else {
            let fd = shm_open(spec.shmName ?? "", O_RDWR, 0)
            Recorder.instant("shm_open", step: step, args: [Int64(c), Int64(O_RDWR), 0], result: Int(fd), errno: fd < 0 ? errno : 0)
            if fd >= 0 { ends[c].handle = Int64(fd) }
        }
    }

    /// Records the segment's state after the record `after`: `shmctl(IPC_STAT)` for SysV, `fstat(2)`
    /// of the descriptor for POSIX. An anonymous region has no kernel object to ask.
    func shmSnapshot(_ c: Int, after slot: UInt32) {
        guard let spec = region(c), spec.type != .anonymous, ends[c].handle >= 0 else { return }
        let after = Int64(slot == Recorder.none ? -1 : Int64(slot))
        if spec.type == .sysv {
            var st = ipclab_shm_status()
            let r = ipclab_shm_stat(Int32(truncatingIfNeeded: ends[c].handle), &st)
            let err = r == 0 ? 0 : errno
            Recorder.record(IPCLAB_REC_OBJECT, "shared_memory", step: nil,
                            args: [Int64(c), st.nattch, st.size, after, st.key, ends[c].handle, st.removed, Int64(err)], result: Int(r))
        } else {
            var st = stat()
            let r = fstat(Int32(truncatingIfNeeded: ends[c].handle), &st)
            let err = r == 0 ? 0 : errno
            Recorder.record(IPCLAB_REC_OBJECT, "shared_memory", step: nil,
                            args: [Int64(c), Int64(st.st_nlink), Int64(st.st_size), after, ends[c].handle, 0, 0, Int64(err)], result: Int(r))
        }
    }
}
