/// Steps that probe the sandbox: each makes one real system call that no experiment needs, with
/// harmless arguments, and records what the kernel answered — EPERM where the seccomp filter
/// refuses it (ENOSYS for `clone3`), so a student sees the wall.
public enum SandboxStep: StepFamily {
    /// `try_syscall`: one of ``calls``.
    case trySyscall(call: String)

    public static let ops = ["try_syscall"]

    /// What `try_syscall` can call (the order of `ipclab_try_syscall` in the C shim). `getppid` is
    /// the control: a call the filter lets through.
    public static let calls = [
        "getppid", "ptrace", "process_vm_readv", "unshare", "setns", "mount", "clone", "clone3", "bpf",
        "perf_event_open", "io_uring_setup", "keyctl", "add_key", "userfaultfd", "kexec_load", "init_module",
        "reboot", "swapon", "open_by_handle_at",
    ]

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> SandboxStep {
        let call = try r.requiredString("call")
        guard calls.contains(call) else { throw r.fail("call", "unknown call \"\(call)\"; one of: \(calls.joined(separator: ", "))") }
        return .trySyscall(call: call)
    }

    public var op: String { "try_syscall" }

    public var channel: String? { nil }

    public var fields: [String: JSONValue] {
        switch self {
        case .trySyscall(let call): ["call": .string(call)]
        }
    }
}

extension Step {
    public static func trySyscall(_ call: String) -> Step { .sandbox(.trySyscall(call: call)) }
}
