import Glibc

/// The host uids (and gids, the same numbers) that runs are given, one per live run: the server's
/// `--run-uid-base` and `--run-uid-count`. A run's root maps to its uid, and its user namespace is
/// made with that uid as its effective uid, so the kernel's per-user limits (RLIMIT_SIGPENDING,
/// RLIMIT_MSGQUEUE, RLIMIT_NPROC, the user-namespace count), which it counts per host uid at every
/// level up to the host, are each run's own: a run that fills its signal queue or its queue memory
/// takes nothing from another.
///
/// A uid is taken when a run's init is cloned (ahead of time, while the spawner is idle) and
/// comes back when the spawner reaps that init, which the kernel lets happen only once every
/// process of the run's PID namespace is gone. Uids come back to the end of the line and are taken
/// from its front, so a uid is reused as late as possible: what the kernel frees after the last
/// process (an IPC namespace's queues are freed by a work queue) has time to go.
struct RunUidPool {
    /// The default first uid: above systemd's ranges for users (up to 60000), dynamic users and
    /// containers (524288…1879048191), below 2^31 (some tools read uids as signed).
    static let defaultBase: UInt32 = 2_000_000_000
    /// The default number of uids: more than runs that can be alive at once.
    static let defaultCount: UInt32 = 65536
    /// Host ids per run: its root (the uid handed out) and the next two, which the run's user namespace
    /// maps as its uids and gids 1 and 2 (signal.permissions takes them with setresuid/setresgid).
    static let idsPerRun: UInt32 = 3

    let base: UInt32
    let count: UInt32
    /// Blocks never handed out yet start at `base + fresh * idsPerRun`.
    private var fresh: UInt32 = 0
    /// Uids given back, oldest first, from `returnedHead` on.
    private var returned: [UInt32] = []
    private var returnedHead = 0
    /// The uid of each live init, by its pid.
    private var owners: [Int32: UInt32] = [:]

    /// Whether every uid and gid of the pool exists in this process's user namespace (a server run
    /// inside a container may have only some host ids mapped): a uid that does not cannot be taken.
    let mapped: Bool

    init(base: UInt32 = defaultBase, count: UInt32 = defaultCount) {
        self.base = base
        self.count = max(Self.idsPerRun, count)
        mapped = Self.covers("/proc/self/uid_map", base, self.count) && Self.covers("/proc/self/gid_map", base, self.count)
    }

    /// Whether an id map (`inside outside length` lines) has `base ..< base + count` inside one line.
    static func covers(_ path: String, _ base: UInt32, _ count: UInt32) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return true } // no user namespaces at all: every id exists
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &bytes, bytes.count)
        guard n > 0 else { return false }
        let first = UInt64(base), end = UInt64(base) + UInt64(count)
        for line in String(decoding: bytes[..<n], as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: " ").compactMap { UInt64($0) }
            if f.count == 3 && f[0] <= first && end <= f[0] + f[2] { return true }
        }
        return false
    }

    /// How many uids no live run holds.
    var freeCount: Int { Int(count / Self.idsPerRun - fresh) + returned.count - returnedHead }

    /// Takes a uid never used yet, else the one given back the longest ago; nil when every uid is
    /// held by a live run.
    mutating func take() -> UInt32? {
        if fresh < count / Self.idsPerRun {
            defer { fresh += 1 }
            return base + fresh * Self.idsPerRun
        }
        guard returnedHead < returned.count else { return nil }
        let uid = returned[returnedHead]
        returnedHead += 1
        if returnedHead > 1024 && returnedHead * 2 > returned.count {
            returned.removeFirst(returnedHead)
            returnedHead = 0
        }
        return uid
    }

    /// The uid from ``take()`` now belongs to the init `pid`; when `pid` is not above 0, none was
    /// cloned and it is free again.
    mutating func assign(_ uid: UInt32, to pid: Int32) {
        if pid > 0 { owners[pid] = uid } else { give(uid) }
    }

    /// The init `pid` was reaped (so every process of its run is gone): its uid is free again.
    mutating func release(pid: Int32) {
        if let uid = owners.removeValue(forKey: pid) { give(uid) }
    }

    /// The uid held by the init `pid`, if any.
    func uid(of pid: Int32) -> UInt32? { owners[pid] }

    private mutating func give(_ uid: UInt32) {
        returned.append(uid)
    }
}
