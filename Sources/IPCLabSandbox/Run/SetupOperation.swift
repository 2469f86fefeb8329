import CIPCLab
import Glibc
import IPCLabCore

/// One step of preparing a run's sandbox, as data: the run's init executes the list
/// in order and records each with its result, so the trace says what ran.
struct SetupOperation {
    /// What the trace calls it, e.g. `mount tmpfs /tmp`.
    var name: String
    /// A required operation that fails ends the run with outcome `error`.
    var required: Bool
    /// The `CLONE_NEW*` namespaces it must run inside: without them it would change the host.
    var needs: Int32 = 0
    var action: () -> Int32

    /// Built once, in the spawner: runs inherit the lists.
    nonisolated(unsafe) static let withUserNamespace = standard(userNamespace: true)
    nonisolated(unsafe) static let withoutUserNamespace = standard(userNamespace: false)

    /// The bytes of POSIX message queues a run may hold. The kernel also charges a run's queues to
    /// the host uid its user namespace was made as — the run's own (``RunUidPool``), so runs with full
    /// queues no longer take from one another (with one uid for all, only four fitted at once).
    static let runMessageQueueBytes = UInt64(MessageQueueChannel.Bounds.queueBytesLimit)

    /// In a run's own network namespace: its loopback up (already, in a namespace from the
    /// spawner's pool; brought up here in one the run made with `CLONE_NEWNET`).
    nonisolated(unsafe) static let loopbackUp = SetupOperation(name: "loopback up", required: false) { ipclab_loopback_up() }

    /// The last operations, after every other: from here on the run can gain no privilege, dump
    /// no core (a piped `core_pattern` would start a helper on the host) and make none of the
    /// calls the seccomp filter refuses (see `seccomp.c`). Every participant inherits all three.
    /// The filter's long part was installed while the init waited (``installBaseFilter()``): here
    /// only the last few instructions go in (~13 µs instead of ~45 µs, `seccomp.c`), after which the
    /// run is under exactly the policy the whole filter states; without the base, the whole filter.
    nonisolated(unsafe) static let lockdown = [
        SetupOperation(name: "no_new_privs", required: false) { ipclab_no_new_privs() },
        SetupOperation(name: "dumpable off", required: false) { ipclab_set_not_dumpable() },
        SetupOperation(name: "seccomp filter", required: false) {
            baseFilterInstalled ? ipclab_seccomp_install_late() : ipclab_seccomp_install()
        },
    ]

    /// Whether this init installed the base of the run's filter while it waited (each init's own copy).
    nonisolated(unsafe) static var baseFilterInstalled = false

    /// A ready init, once its run-independent set-up is done: no_new_privs and the run's seccomp
    /// policy but for the mount calls the set-up after the plan still makes (`seccomp.c`), off the
    /// run's path. Not recorded apart: the trace's `seccomp filter` is the moment the whole policy holds.
    static func installBaseFilter() {
        baseFilterInstalled = ipclab_no_new_privs() == 0 && ipclab_seccomp_install_base() == 0
    }

    /// Without a PID namespace (`--insecure-no-sandbox` only) the run's init is no PID 1: it
    /// becomes the subreaper of its descendants, so orphans are still reaped by it.
    nonisolated(unsafe) static let reaper = SetupOperation(name: "child subreaper", required: true) { ipclab_set_child_subreaper() }

    /// The set-up of a run inside fresh user, PID, IPC, mount and UTS namespaces.
    /// Without a user namespace the run's processes drop to `uid` (and the same gid) once mounted.
    static func standard(userNamespace: Bool, dropTo uid: UInt32 = 65534) -> [SetupOperation] {
        let noDevSuid = ipclab_MS_NOSUID | ipclab_MS_NODEV
        var ops: [SetupOperation] = []
        if userNamespace {
            // Until the process takes ids the map covers, files it creates would belong to an
            // unmapped id and fail with EOVERFLOW: become the namespace's root (the run's host uid).
            ops.append(SetupOperation(name: "setresgid 0 (userns)", required: true) { ipclab_setresgid(0) })
            ops.append(SetupOperation(name: "setresuid 0 (userns)", required: true) { ipclab_setresuid(0) })
            ops.append(SetupOperation(name: "setgroups none", required: true) { setgroups(0, nil) })
        }
        ops += [
            SetupOperation(name: "make / private", required: true, needs: ipclab_CLONE_NEWNS) {
                ipclab_mount(nil, "/", nil, ipclab_MS_REC | ipclab_MS_PRIVATE, nil)
            },
            // The host's files stay visible but cannot be changed; the run writes only to its tmpfs.
            SetupOperation(name: "make / read-only", required: false, needs: ipclab_CLONE_NEWNS) {
                ipclab_make_readonly_recursive("/")
            },
            SetupOperation(name: "mount tmpfs /tmp", required: true, needs: ipclab_CLONE_NEWNS) {
                ipclab_mount("tmpfs", "/tmp", "tmpfs", noDevSuid, "size=16m,mode=1777")
            },
            SetupOperation(name: "mount tmpfs /dev/shm", required: true, needs: ipclab_CLONE_NEWNS) {
                ipclab_mount("tmpfs", "/dev/shm", "tmpfs", noDevSuid, "size=16m,mode=1777")
            },
            SetupOperation(name: "mount proc /proc", required: false, needs: ipclab_CLONE_NEWNS) {
                ipclab_mount("proc", "/proc", "proc", noDevSuid | ipclab_MS_NOEXEC, nil)
            },
            // Each run may hold only its share of the POSIX-queue memory all runs share.
            SetupOperation(name: "RLIMIT_MSGQUEUE \(runMessageQueueBytes)", required: false) {
                ipclab_set_msgqueue_limit(runMessageQueueBytes)
            },
            SetupOperation(name: "sethostname ipclab", required: false, needs: ipclab_CLONE_NEWUTS) {
                sethostname("ipclab", 6)
            },
            SetupOperation(name: "stdio to /dev/null", required: true) {
                let fd = open("/dev/null", O_RDWR)
                guard fd >= 0 else { return -1 }
                for target: Int32 in 0...2 where dup2(fd, target) < 0 { return -1 }
                if fd > 2 { close(fd) }
                return 0
            },
        ]
        if !userNamespace {
            // Without a user namespace the run is real root: drop to the run's own uid once mounted.
            ops.append(SetupOperation(name: "drop to uid \(uid)", required: true) {
                guard setgroups(0, nil) == 0, setgid(uid) == 0 else { return -1 }
                return setuid(uid)
            })
        }
        return ops
    }
}
