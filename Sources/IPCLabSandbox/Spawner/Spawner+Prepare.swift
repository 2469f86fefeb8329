import CIPCLab
import Glibc

extension Spawner.State {
    /// An init asked of a runner whose answer the spawner has not read yet. A clone takes a runner
    /// 0.1–0.2 ms of CPU, and ahead of time it runs at the background priority: waiting for its answer
    /// kept the spawner from every run's go and done for 0.3 ms (p50) at one client and 0.6 ms at
    /// eight, where that was 73 % of its time (docs/performance.md, "Clones answered while runs go on").
    /// So a clone ahead of time is asked (``beginPrepare(ahead:)``) and its answer read when the
    /// runner's socket is readable (``hearClones(from:)``), one per runner at a time; a clone a run waits
    /// for is asked and answered at once (``prepare(ahead:)``).
    struct PendingClone {
        var forker: SlotForker
        var claim: CgroupPool.Claim
        /// The init's host uid (and gid).
        var uid: UInt32
        /// The spawner's end of the init's control socket, and the init's (closed once answered).
        var control: Int32
        var initEnd: Int32
        /// The pooled network namespace it is cloned into (nil: its own, or the runner's).
        var pooled: Int32?
        /// `CLONE_NEWNET` when the host pools none and the init makes its own.
        var ownNetwork: Int32
        /// The runner's nice value for this clone (``BackgroundPriority``).
        var nice: Int32
        /// Whether the request reached the runner (else `sendErrno` says why).
        var asked: Bool
        var sendErrno: Int32
    }

    /// How ``beginPrepare(ahead:)`` ended: a clone asked, or the failure before any.
    enum Begun {
        case asked(PendingClone)
        case failed(SpawnFailure)
    }

    /// Clones a run init into new namespaces (and a pooled network namespace) with a cgroup slot
    /// set aside and a host uid of its own, by the slot's runner (or the spare one), and writes its
    /// id maps; the init waits for a run. Nil and the failure if it could not.
    /// `ahead`: no run waits for this init; it is cloned, and sets itself up, at the background
    /// priority (``BackgroundPriority``).
    mutating func prepare(ahead: Bool = true) -> (Prepared?, SpawnFailure?) {
        // A runner takes one request at a time: a clone pending on the spare runner is answered first
        // (a slot's runner with one pending holds its slot, which no claim then gets).
        hearClones(waiting: true) { $0.claim.forker == nil }
        switch beginPrepare(ahead: ahead) {
        case .failed(let failure):
            return (nil, failure)
        case .asked(let pending):
            return finishPrepare(pending, waiting: true) ?? (nil, SpawnFailure(stage: 1, errno: EIO))
        }
    }

    /// Whether an init can be asked for ahead of time now, with what is at hand (see ``canPrepareAhead``).
    var canCloneAhead: Bool {
        guard isShortOfInits, networks.hasFree else { return false }
        // The spare runner takes one request at a time.
        return cgroups.available ? cgroups.hasWarmFree : pendingClones.isEmpty && spareRunner?.isWarm ?? false
    }

    /// Asks for inits ahead of time after a run started or ended (see ``canPrepareAhead``), as many as
    /// ``readyTarget`` lacks, each of another runner, without waiting for their answers.
    mutating func prepareAhead() {
        prepareSoon = false
        while canCloneAhead {
            switch beginPrepare(ahead: inFlight.count <= 1) {
            case .failed:
                cannotPrepare = true
                return
            case .asked(let pending):
                pendingClones.append(pending)
                // A request that never reached its runner has its answer already: the runner is gone.
                if !pending.asked { hearClones(from: [pending.forker.socket]) }
            }
        }
    }

    /// A run waits for an init and none is ready: the oldest clone asked ahead of time is answered
    /// (its runner put back to the runs' priority first, since a run now waits for it).
    mutating func awaitFirstClone() {
        guard let first = pendingClones.first else { return }
        priority.raise(first.forker.pid, from: first.nice)
        hearClones(waiting: true) { $0.forker === first.forker }
    }

    /// Reads the answers of the pending clones whose runners' sockets are readable (`sockets`).
    mutating func hearClones(from sockets: [Int32]) {
        hearClones(waiting: false) { sockets.contains($0.forker.socket) }
    }

    /// Reads the answers of the pending clones that `which` picks, waiting for them or not (then only
    /// those that have come). Each init answered joins the ready ones; it sets itself up (its mounts) at
    /// once unless one run alone is in flight, whose done tells it to (``signalMapped(_:filterAtGo:)``),
    /// as for an init answered at once.
    mutating func hearClones(waiting: Bool, _ which: (PendingClone) -> Bool = { _ in true }) {
        var i = 0
        while i < pendingClones.count {
            let pending = pendingClones[i]
            guard which(pending), let (made, _) = finishPrepare(pending, waiting: waiting) else {
                i += 1
                continue
            }
            pendingClones.remove(at: i)
            if let made {
                ready.append(made)
                if inFlight.count != 1 { Self.signalMapped(&ready[ready.count - 1]) }
            } else {
                cannotPrepare = true
            }
        }
        if pendingClones.isEmpty { reapedWhilePending = [] }
    }

    /// The first half of ``prepare(ahead:)``: a uid, a slot, a network namespace and a control
    /// socket set aside, and the clone asked of the slot's runner (lowered when `ahead`).
    mutating func beginPrepare(ahead: Bool) -> Begun {
        guard uids.mapped else { return .failed(SpawnFailure(stage: 4, errno: EINVAL)) }
        guard let uid = uids.take() else { return .failed(SpawnFailure(stage: 3, errno: EUSERS)) }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            uids.assign(uid, to: -1)
            return .failed(SpawnFailure(stage: 1, errno: errno))
        }
        // A network namespace from the pool; when the host makes none, one of the run's own.
        let ownNetwork = !networks.available && userNamespace ? ipclab_CLONE_NEWNET : 0
        let claim = cgroups.claim()
        // Born in its cgroup slot: cloned by the slot's runner, as the spawner's child. Without one,
        // by the spare runner, and the init moves itself into the slot.
        if claim.forker == nil && spareRunner == nil { spareRunner = SlotForker.start(home: networks.homeFD, image: image) }
        guard let forker = claim.forker ?? spareRunner else {
            cgroups.bind(claim, to: -1)
            uids.assign(uid, to: -1)
            close(pair[0])
            close(pair[1])
            return .failed(SpawnFailure(stage: 1, errno: EAGAIN, missing: namespaces & Spawner.missingNamespaces()))
        }
        var pending = PendingClone(forker: forker, claim: claim, uid: uid, control: pair[0], initEnd: pair[1],
                                   pooled: networks.take(), ownNetwork: ownNetwork, nice: priority.base,
                                   asked: false, sendErrno: 0)
        pending.nice = priority.lower(forker.pid, ahead: ahead)
        pending.asked = ask(pending, user: userNamespace)
        pending.sendErrno = pending.asked ? 0 : errno
        return .asked(pending)
    }

    /// The second half: the runner's answer read (nil when not `waiting` and it has not come), the
    /// runner put back to the runs' priority, the init's slot, uid and network namespace bound to it,
    /// and its id maps written. Without user namespaces on this host, asks again without one.
    mutating func finishPrepare(_ pending: PendingClone, waiting: Bool) -> (Prepared?, SpawnFailure?)? {
        var pid: pid_t = -1
        if pending.asked {
            guard let answered = pending.forker.answer(waiting: waiting) else { return nil }
            pid = answered
        } else {
            errno = pending.sendErrno
        }
        if pid < 0 && userNamespace && [EPERM, EINVAL, ENOSPC, EUSERS].contains(errno) {
            // No user namespaces on this host: runs get the other namespaces and drop to their uid.
            userNamespace = false
            pid = ask(pending, user: false) ? pending.forker.answer(waiting: true) ?? -1 : -1
        }
        priority.raise(pending.forker.pid, from: pending.nice)
        let err = errno
        // Made ahead at the background priority: it waits, and sets itself up, on the run core (``RunCore``).
        let kept = pid > 0 && pending.nice != priority.base && runCore?.keep(pid) == true
        let sharesImage = pending.forker.lastCloneShared
        let lost = pid < 0 && [EIO, EPIPE, ECONNRESET].contains(err)
        if lost && pending.claim.forker == nil {
            spareRunner?.stop()
            spareRunner = nil
        }
        if let pooled = pending.pooled { networks.assign(pooled, to: pid) }
        cgroups.bind(pending.claim, to: pid, forkerLost: lost && pending.claim.forker != nil)
        uids.assign(pending.uid, to: pid)
        close(pending.initEnd)
        guard pid > 0 else {
            close(pending.control)
            return (nil, SpawnFailure(stage: 1, errno: err, missing: namespaces & Spawner.missingNamespaces()))
        }
        if reapedWhilePending.contains(pid) {
            // It died (killed from outside) before its answer was read, and its reap freed nothing
            // then: what was just bound to it is freed now.
            close(pending.control)
            cgroups.release(pid: pid)
            networks.release(pid: pid, checkSockets: false)
            uids.release(pid: pid)
            return (nil, SpawnFailure(stage: 1, errno: ESRCH))
        }
        if userNamespace {
            // The run's root is its uid; its ids 1 and 2 are the two host ids after it, its own too.
            let map = "0 \(pending.uid) 1\n1 \(pending.uid + 1) \(RunUidPool.idsPerRun - 1)\n"
            // One lookup of /proc/PID for both maps.
            let dir = open("/proc/\(pid)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            defer { if dir >= 0 { close(dir) } }
            guard dir >= 0, write(at: dir, "uid_map", map), write(at: dir, "gid_map", map) else {
                let err = errno
                close(pending.control) // the init sees end of file and exits; reap() frees its namespace and uid
                Glibc.kill(pid, SIGKILL)
                return (nil, SpawnFailure(stage: 2, errno: err))
            }
            // The OOM killer's first choice, inherited by every process of the run (best effort, as the
            // init's own write is): through the directory already looked up, where the init's own open of
            // /proc/self/… would look up its new pid afresh (~12 µs of each init's CPU). A C runner's
            // init in a user namespace leaves it to this write (ready.c); the Swift init writes it again.
            _ = write(at: dir, "oom_score_adj", "1000")
        }
        return (Prepared(pid: pid, control: pending.control,
                         joined: CgroupPool.Attachment(pidsErrno: pending.claim.pidsErrno, memoryErrno: pending.claim.memoryErrno, ns: 0),
                         uid: pending.uid, sharesImage: sharesImage, nice: pending.nice, keptToRunCore: kept), nil)
    }

    /// Sends the clone request of `pending` to its runner, into a user namespace or not.
    private func ask(_ pending: PendingClone, user: Bool) -> Bool {
        let request = SlotForker.Request(
            flags: namespaces | (pending.pooled == nil ? pending.ownNetwork : 0) | (user ? ipclab_CLONE_NEWUSER : 0),
            userNamespace: user ? 1 : 0, namespaces: namespaces,
            network: pending.pooled != nil || pending.ownNetwork != 0 ? 1 : 0, uid: pending.uid, gid: pending.uid)
        return pending.forker.requestClone(request, control: pending.initEnd, network: pending.pooled ?? -1,
                                           join: (pending.claim.pidsProcs, pending.claim.memoryProcs))
    }

    private func write(at dir: Int32, _ name: String, _ text: String) -> Bool {
        let fd = openat(dir, name, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return Glibc.write(fd, bytes, bytes.count) == bytes.count
    }
}
