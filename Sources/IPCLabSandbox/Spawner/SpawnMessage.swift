import Glibc

import CIPCLab

/// What the server says to the spawner over their `SOCK_SEQPACKET` pair. Both ends
/// are the same binary, so the struct's in-memory layout is the wire format.
///
/// Everything the spawner needs to know of a run travels here, from the server: its limits and
/// whether it has a TCP channel. The spawner never reads a run's plan (nor the ring's header), so
/// no run's scenario ever enters its memory.
struct SpawnMessage {
    enum Kind: UInt32 {
        /// Start a run; the ring and the completion pipe's write end travel as `SCM_RIGHTS`, and then,
        /// when the server waits on one, the eventfd the run's init tells it on that it finished
        /// (``SpawnerClient/execute(ring:runID:limits:usesTCP:filterAtGo:every:tick:atFinish:)``).
        case run = 1
        /// Kill a run's init (and so its whole PID namespace).
        case kill = 2
        /// A run is on its way (``SpawnerClient/expectRun()``): a spawner with no run in flight stays
        /// awake for it, up to ``Spawner/awakeForRunNs``, instead of sleeping until it comes. No fields
        /// but the kind are read; nothing travels with it.
        case expect = 3
    }

    var kind: UInt32
    var wallMs: UInt32
    var runID: UInt64
    /// The run's limits (its cgroup slot is set to them).
    var limits = ipclab_run_limits()
    /// 1 when the run's scenario has a TCP channel: only those can leave sockets in TIME_WAIT in
    /// their network namespace, which is then not reused.
    var usesTCP: UInt32 = 0
    /// 1 when the run's init must install its last seccomp filter after go, as it sets up: the run
    /// reads its own memory (`process_vm_readv`, which that filter otherwise refuses every process), or
    /// its /tmp is resized to a file limit other than the default (a mount). A C runner's ready init
    /// installs the filter while it waits (``GoMessage/mapped``); such a run gets an init told to wait
    /// (``GoMessage/mappedFilterAtGo``). The Swift runners always install it at go.
    var filterAtGo: UInt32 = 0

    init(_ kind: Kind, runID: UInt64, wallMs: Int = 0, limits: ipclab_run_limits = ipclab_run_limits(), usesTCP: Bool = false,
         filterAtGo: Bool = false) {
        self.kind = kind.rawValue
        self.wallMs = UInt32(wallMs)
        self.runID = runID
        self.limits = limits
        self.usesTCP = usesTCP ? 1 : 0
        self.filterAtGo = filterAtGo ? 1 : 0
    }

    init() {
        kind = 0
        wallMs = 0
        runID = 0
    }
}

/// What the spawner writes into a run's completion pipe just before it closes it at the end of a run
/// it started: end of file without it means the spawner died first (its copy of the pipe was closed
/// by its exit, perhaps before its socket to the server reads as hung up), and the run with it.
enum RunEnded {
    /// The run's init said done and the kernel agreed: no other process of the run was left.
    static let marker: [UInt8] = Array("end\n".utf8)
    /// The run ended at its init's reap: the init died without a done, or said one while a process of
    /// the run lived. Whatever was read of the ring before this came may have changed since.
    static let reapedMarker: [UInt8] = Array("rip\n".utf8)

    /// Whether `bytes` are one of the two markers.
    static func isMarker(_ bytes: [UInt8]) -> Bool { bytes == marker || bytes == reapedMarker }
}

/// What the spawner writes into a run's completion pipe when it could not start the run.
/// A run that started writes nothing. Only the spawner holds the pipe's write end (no process of the
/// run does): end of file means the run is over, because its init said done (every other process
/// reaped, the outcome written) or was reaped, and the cgroups' counters are in the ring.
struct SpawnFailure {
    /// The step that failed: 1 clone, 2 uid/gid maps, 3 no free run uid, 4 the run uids do not exist here.
    var stage: Int32
    var errno: Int32
    /// For a failed clone: the `CLONE_NEW*` flags among the required ones this host would not make.
    var missing: Int32 = 0

    /// The names of ``missing`` (`pid`, `ipc`, `mount`, `uts`).
    var missingNamespaces: [String] { NamespaceSet(flags: missing).names }

    var description: String {
        let what = switch stage {
        case 1: "clone into new namespaces"
        case 2: "writing the user namespace's id maps"
        case 3: "taking a host uid for the run (every uid of --run-uid-base/--run-uid-count is in use)"
        default: "taking a host uid for the run (the range of --run-uid-base/--run-uid-count is not mapped in the server's user namespace)"
        }
        let missingNames = missingNamespaces
        return "the sandbox could not start: \(what) failed with \(ErrnoName.of(errno) ?? "?")"
            + (missingNames.isEmpty ? "" : "; this host makes no \(missingNames.joined(separator: ", ")) namespace\(missingNames.count > 1 ? "s" : "")")
    }
}

/// What the spawner sends a waiting run init (over its control socket, with the run's ring
/// as `SCM_RIGHTS`) once it may start: its id maps are written, it is in its cgroups
/// with the run's limits (or the errno of the cgroup that could not take it).
struct GoMessage {
    /// 1: go. ``mapped`` (2, with no descriptors) comes first: the init's id maps are written, so
    /// it may set up what depends on no run while it waits. The spawner sends it to the next ready
    /// init as it hands a run to another (the set-up then overlaps that run, on the core its
    /// processes leave idle), or just before go when no run went before.
    var go: Int32 = 0
    static let mapped: Int32 = 2
    /// 4: as ``mapped``, but a C runner's init leaves its last seccomp filter for go (``SpawnMessage/filterAtGo``);
    /// with ``mapped`` it installs that filter while it waits. The Swift runner's init gets only ``mapped``.
    static let mappedFilterAtGo: Int32 = 4
    /// 3, the other way (init → spawner, no descriptors): the run is over — every process of it but
    /// the init is reaped and the outcome is in the ring. The init exits right after.
    static let done: Int32 = 3
    /// 0 when the run is in its pids cgroup, else why not (ENOENT: the host has no writable one).
    var pidsErrno: Int32 = ENOENT
    /// 0 when the run is in its memory cgroup, else why not.
    var memoryErrno: Int32 = ENOENT
    /// The run's host uid and gid: its root maps to it, or, without a user namespace, it drops to it.
    var uid: UInt32 = 0
}
