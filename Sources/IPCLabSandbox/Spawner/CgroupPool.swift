import CIPCLab
import Glibc

/// Per-run cgroups (v1 `pids` and `memory` hierarchies), made once and reused. Each slot has a
/// ``SlotForker`` living in it, which clones the slot's run inits ahead of time (while the spawner
/// is idle) with `CLONE_PARENT`: an init is born in its slot and is still the spawner's child.
/// When its run comes, the slot's limits are set to the run's (``configure(pid:limits:)``); when the
/// run is over (its init said done) the slot's counters say what the kernel refused (`pids.events`
/// max, OOM kills, `memory.failcnt`, ``evidence(pid:attachment:)``), and once the init is reaped the
/// slot goes back to the pool when only its forker is left in it (``release(pid:)``).
///
/// `mkdir` of a cgroup costs ~0.1–1 ms and `rmdir` waits for RCU; a move into a v1 cgroup waits
/// for an RCU grace period (5–35 ms here) while holding the kernel's global
/// `cgroup_threadgroup_rwsem`, stalling every fork and exit: so the only moves are the forkers',
/// once per slot. A slot whose forker could not be started (or died) falls back to inits that move
/// themselves in (``claim()``'s descriptors). A slot's files are opened once, so a run pays only for
/// a few `pwrite`/`pread`s on open descriptors. Slots live under the spawner's own cgroup in each
/// hierarchy, in a directory `ipclab-<spawner pid>`, removed when the spawner ends; directories left
/// by a spawner that died are removed at start.
///
/// RLIMIT_NPROC does not bind uid 0, even in a user namespace: without a writable pids cgroup
/// the run has no process limit (reported as a missing protection). Without a writable memory
/// cgroup, the run's init falls back to RLIMIT_AS per process.
struct CgroupPool {
    /// One hierarchy's directory of slots, e.g. `/sys/fs/cgroup/pids/ipclab-1234`.
    private let pidsRoot: String?
    private let memoryRoot: String?
    /// Why a hierarchy is not used (an errno), 0 when it is.
    let pidsErrno: Int32
    let memoryErrno: Int32

    private var free: [Slot] = []
    private var busy: [pid_t: Slot] = [:]
    /// Slots whose cgroup was not empty when their run ended: checked again before reuse.
    private var draining: [Slot] = []
    private var made = 0
    /// Set when making a slot failed while refilling: no more tries ahead of time.
    private var cannotRefill = false

    /// The descriptors of one slot's files.
    struct Slot {
        var index: Int
        var pidsProcs: Int32 = -1, pidsMax: Int32 = -1, pidsEvents: Int32 = -1, pidsCurrent: Int32 = -1
        var memoryProcs: Int32 = -1, memoryLimit: Int32 = -1, memoryFailcnt: Int32 = -1
        var memoryOOM: Int32 = -1, memoryPeak: Int32 = -1
        /// Values written last, so an unchanged limit is not written again.
        var pidsMaxValue: Int64 = -1, memoryLimitValue: Int64 = -1
        /// The process that lives in the slot and clones its inits (nil: inits move in themselves).
        var forker: SlotForker?
        /// Counters as they stood when the slot's last run ended (cumulative files cannot be reset).
        var pidsEventsBase: Int64 = 0, oomKillsBase: Int64 = 0
        var pids: Bool { pidsProcs >= 0 }
        var memory: Bool { memoryProcs >= 0 }
    }

    /// What attaching a run did.
    struct Attachment {
        var pidsErrno: Int32
        var memoryErrno: Int32
        var ns: Int64
    }

    init() {
        let me = getpid()
        (pidsRoot, pidsErrno) = Self.prepare(controller: "pids", spawner: me)
        (memoryRoot, memoryErrno) = Self.prepare(controller: "memory", spawner: me)
    }

    var available: Bool { pidsRoot != nil || memoryRoot != nil }

    /// Whether fewer than two slots are ready (and more can be made).
    var isShort: Bool { available && !cannotRefill && free.count < 2 }

    /// Makes a slot ahead of time if fewer than two are ready. Returns whether it made one.
    @discardableResult
    mutating func refill() -> Bool {
        guard isShort else { return false }
        guard let slot = make() else { cannotRefill = true; return false }
        free.append(slot)
        return true
    }

    /// A slot set aside for an init about to be cloned: by the slot's forker (born inside), or, without
    /// one, by the spawner, and the init then moves itself in by writing 0 to the slot's inherited
    /// `cgroup.procs` descriptors (``RunInit/waitForRun(control:join:userNamespace:namespaces:networkNamespace:)``),
    /// so that the migration's wait blocks only the init, never the spawner's loop.
    struct Claim {
        fileprivate var slot: Slot?
        /// Why the init will not be in a pids / memory cgroup, before it tries (0: it will try).
        var pidsErrno: Int32
        var memoryErrno: Int32
        /// The descriptors the init writes 0 to (-1: none; never with a forker, whose inits are born inside).
        var pidsProcs: Int32 { slot?.forker == nil ? slot?.pidsProcs ?? -1 : -1 }
        var memoryProcs: Int32 { slot?.forker == nil ? slot?.memoryProcs ?? -1 : -1 }
        /// The slot's forker, to clone the init with.
        var forker: SlotForker? { slot?.forker }
        /// The slot's pids `cgroup.procs`, whoever moves the init in (-1: no pids slot).
        var slotPidsProcs: Int32 { slot?.pidsProcs ?? -1 }
    }

    /// Sets a free slot aside for the init about to be cloned (``bind(_:to:)`` after the clone).
    mutating func claim() -> Claim {
        guard available else { return Claim(slot: nil, pidsErrno: pidsErrno, memoryErrno: memoryErrno) }
        reclaimDrained()
        // A slot whose runner is warm and has cloned nothing from its image first (the run gets a layout
        // of its own), then a warm one; one still starting a fresh image would make the run wait.
        let pick = free.lastIndex { ($0.forker?.isWarm ?? true) && $0.forker?.isUsed != true }
            ?? free.lastIndex { $0.forker?.isWarm ?? true }
        let taken = pick.map { free.remove(at: $0) } ?? free.popLast()
        guard let slot = taken ?? make() else { return Claim(slot: nil, pidsErrno: ENOSPC, memoryErrno: ENOSPC) }
        return Claim(slot: slot, pidsErrno: slot.pids ? 0 : pidsErrno, memoryErrno: slot.memory ? 0 : memoryErrno)
    }

    /// The init cloned for `claim` is `pid` (or, when `pid` is not above 0, none was: the slot is
    /// free again). `forkerLost`: the slot's forker did not answer; it is dropped, and the slot's
    /// inits move in themselves from then on.
    mutating func bind(_ claim: Claim, to pid: pid_t, forkerLost: Bool = false) {
        guard var slot = claim.slot else { return }
        if forkerLost, let forker = slot.forker {
            forker.stop()
            slot.forker = nil
        }
        if pid > 0 { busy[pid] = slot } else { free.append(slot) }
    }

    /// Sets the limits of the run about to start in the slot of `pid` (which joined it), and resets
    /// the slot's counters: a few writes on open descriptors, on the run's critical path.
    mutating func configure(pid: pid_t, limits: ipclab_run_limits) -> Attachment {
        let start = Self.now()
        guard var slot = busy[pid] else { return Attachment(pidsErrno: pidsErrno == 0 ? ENOENT : pidsErrno, memoryErrno: memoryErrno == 0 ? ENOENT : memoryErrno, ns: 0) }
        var pErr = pidsErrno, mErr = memoryErrno
        if slot.pids {
            // The run's init (and the slot's forker) are among the slot's processes: `processes` counts the others.
            let max = limits.processes + 1 + (slot.forker == nil ? 0 : 1)
            if slot.pidsMaxValue != max {
                slot.pidsMaxValue = ipclab_cgroup_write(slot.pidsMax, max) == 0 ? max : -1
            }
            pErr = slot.pidsMaxValue == max ? 0 : errno
        }
        if slot.memory {
            let limit = limits.memory_bytes
            if slot.memoryLimitValue != limit {
                slot.memoryLimitValue = ipclab_cgroup_write(slot.memoryLimit, limit) == 0 ? limit : -1
            }
            mErr = slot.memoryLimitValue == limit ? 0 : errno
            _ = ipclab_cgroup_write(slot.memoryFailcnt, 0)
            _ = ipclab_cgroup_write(slot.memoryPeak, 0)
        }
        busy[pid] = slot
        return Attachment(pidsErrno: pErr, memoryErrno: mErr, ns: Self.now() - start)
    }

    /// The counters of the run whose init is `pid`, once the run is over (its init said done, or
    /// was reaped): what the slot counted since the run started. The slot stays the run's.
    func evidence(pid: pid_t, attachment: Attachment) -> ipclab_run_evidence {
        var evidence = ipclab_run_evidence()
        guard let slot = busy[pid] else { return evidence }
        evidence.attach_ns = attachment.ns
        if slot.pids && attachment.pidsErrno == 0 {
            let events = ipclab_cgroup_read(slot.pidsEvents, "max")
            evidence.cgroups |= Int32(IPCLAB_CGROUP_PIDS)
            evidence.pids_max_events = max(0, events - slot.pidsEventsBase)
        }
        if slot.memory && attachment.memoryErrno == 0 {
            let kills = ipclab_cgroup_read(slot.memoryOOM, "oom_kill")
            evidence.cgroups |= Int32(IPCLAB_CGROUP_MEMORY)
            evidence.memory_oom_kills = max(0, kills - slot.oomKillsBase)
            evidence.memory_failcnt = max(0, ipclab_cgroup_read(slot.memoryFailcnt, nil))
            evidence.memory_peak = max(0, ipclab_cgroup_read(slot.memoryPeak, nil))
        }
        evidence.cgroups |= Int32(IPCLAB_CGROUP_COLLECTED)
        return evidence
    }

    /// Whether the init `pid` is the only process of its run left, from its slot's `pids.current` (the
    /// init and the slot's forker, if it has one): no process of the run can leave its cgroup. Nil when
    /// the slot cannot tell (no pids hierarchy, or the init is not in it): ask the kernel another way.
    /// A zombie still counts until reaped, as it does in the init's list of children.
    func initAlone(pid: pid_t, attachment: Attachment) -> Bool? {
        guard let slot = busy[pid], slot.pids, attachment.pidsErrno == 0 else { return nil }
        let current = ipclab_cgroup_read(slot.pidsCurrent, nil)
        guard current >= 0 else { return nil }
        return current == Int64(slot.forker == nil ? 1 : 2)
    }

    /// The init `pid` is reaped (a run's, or one that waited for a run): its slot back in the pool,
    /// its cumulative counters as they stand now the base of the slot's next run (whatever the init
    /// did after its run's evidence was read counts for no run).
    mutating func release(pid: pid_t) {
        guard var slot = busy.removeValue(forKey: pid) else { return }
        if slot.pids {
            let events = ipclab_cgroup_read(slot.pidsEvents, "max")
            if events >= 0 { slot.pidsEventsBase = events }
        }
        if slot.memory {
            let kills = ipclab_cgroup_read(slot.memoryOOM, "oom_kill")
            if kills >= 0 { slot.oomKillsBase = kills }
        }
        // What the run leaves charged (its trace records, in the server's ring until the server has
        // read them) is uncharged when freed; a lower limit that a leftover charge exceeds is refused
        // with EBUSY, and the run is then told so (and gets RLIMIT_AS instead).
        if Self.isEmpty(slot) { free.append(slot) } else { draining.append(slot) }
    }

    /// The spawner is idle: every free slot's runner that cloned an init from the image it runs now
    /// starts a fresh one, so the next run does not share the last one's address layout.
    func freshen() {
        for slot in free { slot.forker?.reexec() }
    }

    /// Whether a free slot's runner cloned from the image it runs now.
    var hasUsedRunners: Bool { free.contains { $0.forker?.isUsed == true } }

    /// Whether a free slot can take an init at once, without making a slot: its runner is warm (or it
    /// has none, and the init moves itself in). What cloning ahead of time while runs are in flight uses.
    var hasWarmFree: Bool { free.contains { $0.forker?.isWarm ?? true } }

    /// Whether a free slot's runner is warm and has cloned nothing from its image (or a slot can be made).
    var hasFreshRunner: Bool {
        free.contains { ($0.forker?.isWarm ?? true) && $0.forker?.isUsed != true } || isShort
    }

    /// Removes every slot and the pool's directories (the spawner is ending; its runs are reaped).
    mutating func removeAll() {
        let all = free + draining + Array(busy.values)
        free = []; draining = []; busy = [:]
        for slot in all {
            slot.forker?.stop()
            for fd in [slot.pidsProcs, slot.pidsMax, slot.pidsEvents, slot.pidsCurrent, slot.memoryProcs, slot.memoryLimit,
                       slot.memoryFailcnt, slot.memoryOOM, slot.memoryPeak] where fd >= 0 { close(fd) }
        }
        for root in [pidsRoot, memoryRoot].compactMap({ $0 }) { Self.removeTree(root) }
    }

    // MARK: - Slots

    private mutating func make() -> Slot? {
        var slot = Slot(index: made)
        made += 1
        let name = "slot-\(slot.index)"
        if let root = pidsRoot, mkdir("\(root)/\(name)", 0o755) == 0 || errno == EEXIST {
            let dir = "\(root)/\(name)"
            slot.pidsMax = open("\(dir)/pids.max", O_WRONLY | O_CLOEXEC)
            slot.pidsEvents = open("\(dir)/pids.events", O_RDONLY | O_CLOEXEC)
            slot.pidsCurrent = open("\(dir)/pids.current", O_RDONLY | O_CLOEXEC)
            slot.pidsProcs = open("\(dir)/cgroup.procs", O_WRONLY | O_CLOEXEC)
            slot.pidsEventsBase = max(0, ipclab_cgroup_read(slot.pidsEvents, "max"))
        }
        if let root = memoryRoot, mkdir("\(root)/\(name)", 0o755) == 0 || errno == EEXIST {
            let dir = "\(root)/\(name)"
            slot.memoryLimit = open("\(dir)/memory.limit_in_bytes", O_WRONLY | O_CLOEXEC)
            slot.memoryFailcnt = open("\(dir)/memory.failcnt", O_RDWR | O_CLOEXEC)
            slot.memoryOOM = open("\(dir)/memory.oom_control", O_RDONLY | O_CLOEXEC)
            slot.memoryPeak = open("\(dir)/memory.max_usage_in_bytes", O_RDWR | O_CLOEXEC)
            slot.memoryProcs = open("\(dir)/cgroup.procs", O_RDWR | O_CLOEXEC)
            slot.oomKillsBase = max(0, ipclab_cgroup_read(slot.memoryOOM, "oom_kill"))
        }
        guard slot.pids || slot.memory else { return nil }
        slot.forker = Self.startForker(in: slot, home: home, image: image)
        return slot
    }

    /// The network namespace a slot's forker returns to after each clone (-1: none).
    var home: Int32 = -1
    /// How a slot's runner is started.
    var image = SlotForker.Image(executable: "/proc/self/exe", reexecEvery: 1)

    /// Starts the slot's runner and moves it in: the one migration the slot ever costs, while the
    /// spawner is idle. Nil (the slot's inits then move in themselves) if any step fails.
    private static func startForker(in slot: Slot, home: Int32, image: SlotForker.Image) -> SlotForker? {
        guard let forker = SlotForker.start(home: home, image: image) else { return nil }
        let moved = (!slot.pids || ipclab_cgroup_write(slot.pidsProcs, Int64(forker.pid)) == 0)
            && (!slot.memory || ipclab_cgroup_write(slot.memoryProcs, Int64(forker.pid)) == 0)
        guard moved else {
            forker.stop()
            return nil
        }
        return forker
    }


    /// No process but the slot's forker is left in the slot (`pids.current`, `cgroup.procs`).
    private static func isEmpty(_ slot: Slot) -> Bool {
        let own = slot.forker == nil ? 0 : 1
        if slot.pids && ipclab_cgroup_read(slot.pidsCurrent, nil) != Int64(own) { return false }
        if slot.memory {
            var bytes = [UInt8](repeating: 0, count: 32)
            let n = pread(slot.memoryProcs, &bytes, bytes.count, 0)
            let text = n > 0 ? String(decoding: bytes[..<n], as: UTF8.self) : ""
            let pids = text.split(separator: "\n")
            if let forker = slot.forker {
                if pids != ["\(forker.pid)"] { return false }
            } else if n != 0 { return false }
        }
        return true
    }

    private mutating func reclaimDrained() {
        guard !draining.isEmpty else { return }
        var still: [Slot] = []
        for slot in draining { if Self.isEmpty(slot) { free.append(slot) } else { still.append(slot) } }
        draining = still
    }

    // MARK: - Hierarchies

    /// The spawner's directory of slots in one v1 hierarchy, or the errno that rules it out.
    private static func prepare(controller: String, spawner: pid_t) -> (String?, Int32) {
        guard let mount = mountPoint(of: controller) else { return (nil, ENOENT) }
        guard let own = ownPath(in: controller) else { return (nil, ENOENT) }
        let parent = mount + (own == "/" ? "" : own)
        removeStale(in: parent)
        let root = "\(parent)/ipclab-\(spawner)"
        guard mkdir(root, 0o755) == 0 || errno == EEXIST else { return (nil, errno) }
        // A slot must be writable too (a read-only or delegated-away hierarchy fails here, not mid-run).
        guard access("\(root)/cgroup.procs", W_OK) == 0 else {
            let e = errno
            rmdir(root)
            return (nil, e)
        }
        return (root, 0)
    }

    /// Where the v1 hierarchy with this controller is mounted (from /proc/self/mounts).
    private static func mountPoint(of controller: String) -> String? {
        guard let text = readText("/proc/self/mounts") else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 4, f[2] == "cgroup" else { continue }
            if f[3].split(separator: ",").contains(Substring(controller)) { return String(f[1]) }
        }
        return nil
    }

    /// This process's cgroup path in the hierarchy with this controller (from /proc/self/cgroup).
    private static func ownPath(in controller: String) -> String? {
        guard let text = readText("/proc/self/cgroup") else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3, f[1].split(separator: ",").contains(Substring(controller)) else { continue }
            return String(f[2])
        }
        return nil
    }

    /// Removes `ipclab-<pid>` directories of spawners that are gone (empty cgroups only).
    private static func removeStale(in parent: String) {
        guard let dir = opendir(parent) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix("ipclab-"), let pid = pid_t(name.dropFirst(7)) else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }
            removeTree("\(parent)/\(name)")
        }
    }

    /// rmdir of a slots directory's `slot-*` children, then of the directory.
    private static func removeTree(_ root: String) {
        if let dir = opendir(root) {
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name.hasPrefix("slot-") { names.append(name) }
            }
            closedir(dir)
            for name in names { rmdir("\(root)/\(name)") }
        }
        rmdir(root)
    }

    private static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
