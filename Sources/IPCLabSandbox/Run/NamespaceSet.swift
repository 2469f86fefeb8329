import CIPCLab

/// A set of `CLONE_NEW*` flags, named as the trace names namespaces.
struct NamespaceSet {
    var flags: Int32

    /// Each flag with its name, in the order a trace lists them.
    static let all: [(flag: Int32, name: String)] = [
        (ipclab_CLONE_NEWUSER, "user"), (ipclab_CLONE_NEWPID, "pid"), (ipclab_CLONE_NEWIPC, "ipc"),
        (ipclab_CLONE_NEWNS, "mount"), (ipclab_CLONE_NEWUTS, "uts"), (ipclab_CLONE_NEWNET, "net"),
    ]

    var names: [String] { Self.all.filter { flags & $0.flag != 0 }.map(\.name) }
}
