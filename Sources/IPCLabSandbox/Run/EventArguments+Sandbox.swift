import IPCLabCore

/// Argument names of the sandbox probes: `try_syscall` passes fixed harmless arguments, which
/// `ipclab_try_syscall` (seccomp.c) chooses and this says in words. The same call names, made by
/// other steps (`process_vm_readv` of `load_pointer`), keep their own families' names.
extension EventArguments {
    /// What each probe passes, as `seccomp.c` does it.
    static let probeArguments: [String: String] = [
        "ptrace": "PTRACE_PEEKDATA on the parent",
        "process_vm_readv": "8 bytes of the parent's memory",
        "unshare": "CLONE_NEWUTS",
        "setns": "fd -1",
        "mount": "/tmp, MS_PRIVATE | MS_SHARED (EINVAL where mount is allowed)",
        "clone": "CLONE_NEWNS | SIGCHLD",
        "clone3": "no flags, exit signal SIGCHLD",
        "bpf": "BPF_MAP_CREATE with an all-zero attribute",
        "perf_event_open": "an all-zero attribute (CPU cycles) for this process",
        "io_uring_setup": "1 entry",
        "keyctl": "KEYCTL_GET_KEYRING_ID of the session keyring",
        "add_key": "a user key in the process keyring",
        "userfaultfd": "O_CLOEXEC",
        "kexec_load": "1000 segments and an undefined flag (EINVAL where kexec is allowed)",
        "init_module": "an empty module",
        "reboot": "wrong magic numbers (EINVAL where reboot is allowed)",
        "swapon": "a file that does not exist",
        "open_by_handle_at": "a handle of zeros",
    ]

    func describe(_ call: SandboxCall, _ r: RawRecord) -> [(String, JSONValue)] {
        Self.probeArguments[call.rawValue].map { [("with", .string($0))] } ?? []
    }
}
