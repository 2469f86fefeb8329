import CIPCLab
import Glibc

/// Network namespaces made ahead of time, each with only its loopback, up: a run is cloned
/// inside one, so its sockets reach nothing but that loopback, two runs on the same port never
/// meet, and the host's ports are out of reach.
///
/// Making a namespace costs about half a millisecond (more at the tail, and the kernel does it
/// one at a time), so the spawner makes them while it is idle and a run only pays for two
/// `setns(2)` around its clone. A namespace is reused after its run unless TCP sockets linger in
/// it (a connection in TIME_WAIT would make the next run's `bind` fail with EADDRINUSE): then it
/// is closed, and the kernel frees it.
///
/// The pool keeps up to twice `target` free namespaces, but makes new ones only below `target`:
/// a run's namespace, released after the next init took one, goes back to the pool instead of
/// being closed while an idle spawner makes another (one made and one freed per run cost
/// ~0.55 ms of machine CPU here, most of it the kernel's `cleanup_net`, when runs come with pauses).
///
/// The namespaces belong to the host's user namespace, so a run (root only in its own) cannot
/// change their interfaces or sysctls, nor bind a port below 1024.
struct NetworkNamespacePool {
    /// The spawner's own network namespace, to come back to.
    private let home: Int32
    /// Namespaces ready for a run.
    private var free: [Int32] = []
    /// Namespaces in use, by the pid of the run's init.
    private var busy: [pid_t: Int32] = [:]
    /// How many ready namespaces the spawner makes ahead of time.
    let target: Int
    /// How many free namespaces it keeps at most: those of finished runs above `target` too.
    var capacity: Int { 2 * target }
    /// How many namespaces are ready for a run.
    var freeCount: Int { free.count }
    /// False when this host will not make network namespaces (no CAP_SYS_ADMIN): runs then get
    /// one of their own with `CLONE_NEWNET` (owned by their user namespace), or none.
    private(set) var available: Bool

    init(target: Int = 4) {
        home = ipclab_netns_open_current()
        // Coming home needs CAP_SYS_ADMIN over the namespace's owner: inside a user namespace
        // that does not own it (a container), setns back fails, and the pool cannot be used.
        available = home >= 0 && ipclab_netns_enter(home) == 0
        self.target = target
    }

    /// Whether fewer than `target` namespaces are ready (and more can be made).
    var isShort: Bool { available && free.count < target }

    /// Whether ``take()`` would not have to make a namespace (one is free, or the pool is not in use).
    var hasFree: Bool { !available || !free.isEmpty }

    /// The spawner's own network namespace (-1 when the pool is not in use).
    var homeFD: Int32 { available ? home : -1 }

    /// A free namespace for a run init another process clones (``assign(_:to:)`` once it is cloned),
    /// nil when the pool is not in use or cannot make one.
    mutating func take() -> Int32? {
        guard available else { return nil }
        return free.popLast() ?? make()
    }

    /// The namespace from ``take()`` now belongs to the run init `pid`; when `pid` is not above 0,
    /// none was cloned and it goes back to the pool.
    mutating func assign(_ ns: Int32, to pid: pid_t) {
        if pid > 0 { busy[pid] = ns } else { free.append(ns) }
    }

    /// Makes one namespace if fewer than `target` are ready. Returns whether it made one.
    @discardableResult
    mutating func refill() -> Bool {
        guard available, free.count < target else { return false }
        guard let ns = make() else { return false }
        free.append(ns)
        return true
    }

    /// The run whose init was `pid` is over: its namespace is ready again, unless TCP sockets
    /// linger in it.
    mutating func release(pid: pid_t, checkSockets: Bool) {
        guard let ns = busy.removeValue(forKey: pid) else { return }
        // Reading /proc/net/tcp inside the namespace costs ~1-3 ms: only runs that used TCP need it.
        let lingering = checkSockets ? ipclab_netns_tcp_sockets(ns, home) : 0
        if lingering == -2 { stranded() }
        if lingering == 0 && free.count < capacity { free.append(ns) } else { close(ns) }
    }

    private mutating func make() -> Int32? {
        let ns = ipclab_netns_make(home)
        if ns == -2 { stranded() }
        if ns < 0 {
            available = false
            return nil
        }
        return ns
    }

    /// The spawner could not return to its own namespace: every later run would share this one.
    /// Better to stop; the server starts a new spawner on its next run.
    private func stranded() -> Never {
        _exit(70)
    }
}
