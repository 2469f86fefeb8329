import CIPCLab
import Glibc
import IPCLabCore

/// Semaphore steps. A POSIX semaphore is a `sem_t` in memory every process shares (`ends[c].address`:
/// the `sem_open` mapping, or the anonymous shared page of an unnamed one); a SysV one is a set id
/// (`ends[c].handle`). All were made by the first process before it forked.
///
/// Event args start with the channel index (`ipclab_semaphore_waiters` relies on it):
/// `sem_wait`/`sem_trywait`/`sem_post`: [channel, address, value before];
/// `semop`: [channel, semid, sem_op, sem_flg, value before].
extension Participant {
    mutating func createSemaphoreChannel(_ c: Int, _ spec: SemaphoreChannel) {
        switch spec.type {
        case .posixNamed:
            let opened = Recorder.returned(.semaphores(.semOpen), step: nil, args: [Int64(c), Int64(O_CREAT), 0o600, Int64(spec.value)]) {
                ipclab_sem_open(spec.semName ?? "", O_CREAT, 0o600, UInt32(spec.value)).map { Int(bitPattern: $0) } ?? -1
            }
            let slot = opened.slot
            guard let p = UnsafeMutableRawPointer(bitPattern: opened.result), opened.result != -1 else { return }
            ends[c].address = p
            semaphoreSnapshot(c, after: slot)
        case .posixUnnamed:
            // A process-shared semaphore must sit in memory the processes share: a page of its own.
            let size = MemoryLayout<sem_t>.size
            guard let page = map(c, length: size, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_ANONYMOUS, fd: -1, step: nil).base
            else { return }
            let rCall = Recorder.returned(.semaphores(.semInit), step: nil, args: [Int64(c), Int64(Int(bitPattern: page)), 1, Int64(spec.value)]) { Int(sem_init(page.assumingMemoryBound(to: sem_t.self), 1, UInt32(spec.value))) }
            let r = Int32(truncatingIfNeeded: rCall.result)
            let slot = rCall.slot
            guard r == 0 else { return }
            ends[c].address = page
            ends[c].size = size
            semaphoreSnapshot(c, after: slot)
        case .sysv:
            guard let key = makeKey(c, path: spec.ftokPath ?? "", id: spec.ftokID ?? 83, step: nil) else { return }
            let flags = IPC_CREAT | 0o600
            let idCall = Recorder.returned(.semaphores(.semget), step: nil, args: [Int64(key), 1, Int64(flags), Int64(c)]) { Int(semget(key, 1, flags)) }
            let id = Int32(truncatingIfNeeded: idCall.result)
            guard id >= 0 else { return }
            ends[c].handle = Int64(id)
            let rCall = Recorder.returned(.semaphores(.semctl), step: nil, args: [Int64(id), 0, Int64(ipclab_SETVAL), Int64(spec.value), Int64(c)]) { Int(ipclab_semctl_setval(id, Int32(spec.value))) }
            let slot = rCall.slot
            semaphoreSnapshot(c, after: slot)
        }
    }

    mutating func runSemaphoreStep(_ step: SemaphoreStep, at i: Int) {
        switch step {
        case let .wait(channel):
            semaphoreWait(channelIndex(channel), step: i)
        case let .tryWait(channel):
            semaphoreWait(channelIndex(channel), nowait: true, step: i)
        case let .post(channel):
            semaphorePost(channelIndex(channel), step: i)
        case let .waitZero(channel):
            semop(channelIndex(channel), op: 0, flags: 0, step: i)
        case let .close(channel):
            let c = channelIndex(channel)
            guard let p = ends[c].address else { return }
            let rCall = Recorder.returned(.semaphores(.semClose), step: i, args: [Int64(c), Int64(Int(bitPattern: p))]) { Int(sem_close(p.assumingMemoryBound(to: sem_t.self))) }
            let r = Int32(truncatingIfNeeded: rCall.result)
            if r == 0 { ends[c].address = nil }
        case let .unlink(channel):
            let c = channelIndex(channel)
            let name = semaphoreSpec(c)?.semName ?? ""
            let rCall = Recorder.returned(.semaphores(.semUnlink), step: i, args: [Int64(c)]) { Int(sem_unlink(name)) }
            let slot = rCall.slot
            semaphoreSnapshot(c, after: slot)
        case let .remove(channel):
            let c = channelIndex(channel)
            if semaphoreSpec(c)?.type == .sysv {
                let id = Int32(truncatingIfNeeded: ends[c].handle)
                let rCall = Recorder.returned(.semaphores(.semctl), step: i, args: [Int64(id), 0, Int64(IPC_RMID), 0, Int64(c)]) { Int(ipclab_semctl_remove(id)) }
                let slot = rCall.slot
                semaphoreSnapshot(c, after: slot)
            } else if let p = ends[c].address {
                let rCall = Recorder.returned(.semaphores(.semDestroy), step: i, args: [Int64(c), Int64(Int(bitPattern: p))]) { Int(sem_destroy(p.assumingMemoryBound(to: sem_t.self))) }
                let r = Int32(truncatingIfNeeded: rCall.result)
                // A destroyed semaphore may not be used again, not even by sem_getvalue: no snapshot.
                if r == 0 { ends[c].address = nil }
            }
        }
    }

    func semaphoreSpec(_ c: Int) -> SemaphoreChannel? {
        if case .semaphore(let spec) = scenario.channels[c].spec { return spec }
        return nil
    }

    /// What the C loops need: a POSIX `sem_t *`, or (with a nil pointer) a SysV set id.
    func semaphoreRef(_ c: Int) -> (pointer: UnsafeMutableRawPointer?, semid: Int32) {
        semaphoreSpec(c)?.type == .sysv ? (nil, Int32(truncatingIfNeeded: ends[c].handle)) : (ends[c].address, -1)
    }

    /// P: `sem_wait(3)` (or `sem_trywait`), or `semop(-1)` for SysV. Returns the call's result.
    @discardableResult
    mutating func semaphoreWait(_ c: Int, nowait: Bool = false, step: Int) -> Int32 {
        if semaphoreSpec(c)?.type == .sysv {
            return semop(c, op: -1, flags: nowait ? IPC_NOWAIT : 0, step: step)
        }
        guard let p = ends[c].address?.assumingMemoryBound(to: sem_t.self) else { return notOpen(c, step: step) }
        let before = value(p)
        let args = [Int64(c), Int64(Int(bitPattern: p)), before]
        let waited = nowait
            ? Recorder.returned(.semaphores(.semTrywait), step: step, args: args) { Int(sem_trywait(p)) }
            // The state as the wait begins: the value it finds, and everyone inside a wait, this process included.
            : Recorder.call(.semaphores(.semWait), step: step, args: args, started: { semaphoreSnapshot(c, after: $0) }) { Int(sem_wait(p)) }
        semaphoreSnapshot(c, after: waited.slot)
        return Int32(waited.result)
    }

    /// V: `sem_post(3)`, or `semop(+1)` for SysV. Returns the call's result.
    @discardableResult
    mutating func semaphorePost(_ c: Int, step: Int) -> Int32 {
        if semaphoreSpec(c)?.type == .sysv { return semop(c, op: 1, flags: 0, step: step) }
        guard let p = ends[c].address?.assumingMemoryBound(to: sem_t.self) else { return notOpen(c, step: step) }
        let before = value(p)
        // Begun before the call and ended after it, so that the post brackets the moment a waiter woke.
        let posted = Recorder.call(.semaphores(.semPost), step: step, args: [Int64(c), Int64(Int(bitPattern: p)), before]) { Int(sem_post(p)) }
        semaphoreSnapshot(c, after: posted.slot)
        return Int32(posted.result)
    }

    /// `semop(2)` on semaphore 0 of a SysV set: -1 waits, +1 posts, 0 waits for zero.
    @discardableResult
    mutating func semop(_ c: Int, op: Int32, flags: Int32, step: Int) -> Int32 {
        let id = Int32(truncatingIfNeeded: ends[c].handle)
        let before = Int64(ipclab_semctl_get(id, ipclab_GETVAL))
        let done = Recorder.call(.semaphores(.semop), step: step, args: [Int64(c), Int64(id), Int64(op), Int64(flags), before],
                                 started: { if op <= 0 && flags & Int32(IPC_NOWAIT) == 0 { semaphoreSnapshot(c, after: $0) } }) {
            Int(ipclab_semop(id, op, flags))
        }
        semaphoreSnapshot(c, after: done.slot)
        return Int32(done.result)
    }

    private func value(_ p: UnsafeMutablePointer<sem_t>) -> Int64 {
        var v: Int32 = 0
        return sem_getvalue(p, &v) == 0 ? Int64(v) : -1
    }

    /// A POSIX semaphore this process no longer has (closed or destroyed, or never opened): a note, no call.
    private func notOpen(_ c: Int, step: Int) -> Int32 {
        Recorder.record(IPCLAB_REC_NOTE, "not open", step: step, args: [Int64(c)], result: -1, errno: EINVAL)
        return -1
    }

    /// Records the semaphore's value (`sem_getvalue`, or `semctl` GETVAL, GETNCNT, GETZCNT, GETPID) and which
    /// participants are inside a wait on it at this moment (their wait records have begun and not ended,
    /// `ipclab_semaphore_waiters`), tied to the record `after`: taken after every operation, and as a wait begins.
    func semaphoreSnapshot(_ c: Int, after slot: UInt32) {
        guard let spec = semaphoreSpec(c) else { return }
        let after = Int64(slot == Recorder.none ? -1 : Int64(slot))
        let waiting = Int64(ipclab_semaphore_waiters(ringBase, Int64(c)))
        if spec.type == .sysv {
            let id = Int32(truncatingIfNeeded: ends[c].handle)
            let v = ipclab_semctl_get(id, ipclab_GETVAL)
            let err = v < 0 ? errno : 0
            let ncnt = ipclab_semctl_get(id, ipclab_GETNCNT)
            let zcnt = ipclab_semctl_get(id, ipclab_GETZCNT)
            let pid = ipclab_semctl_get(id, ipclab_GETPID)
            Recorder.record(IPCLAB_REC_OBJECT, "semaphore", step: nil,
                            args: [Int64(c), Int64(v), waiting, after, Int64(ncnt), Int64(zcnt), Int64(pid), Int64(err)], result: Int(v))
        } else {
            guard let p = ends[c].address?.assumingMemoryBound(to: sem_t.self) else { return }
            var v: Int32 = 0
            let r = sem_getvalue(p, &v)
            Recorder.record(IPCLAB_REC_OBJECT, "semaphore", step: nil,
                            args: [Int64(c), Int64(v), waiting, after, 0, 0, 0, Int64(r == 0 ? 0 : errno)], result: Int(r))
        }
    }
}
