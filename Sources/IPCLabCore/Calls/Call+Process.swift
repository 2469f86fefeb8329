/// Processes: fork, wait, sleep and exit, and the steps that push on a limit.
public enum ProcessCall: String, CallTable {
    case fork, wait4, waitpid, nanosleep, exit, spin, allocate
    case forkChildren = "fork_children", openFiles = "open_files", writeFile = "write_file"
    case output

    public var spec: CallSpec {
        let f = CallFamily.process
        return switch self {
        case .fork: call(f, [.init(.child, .process)], "fork(2): starts a process of the scenario.")
        case .wait4:
            call(f, [.integer(.pid), .init(.process, .process), .init(.status, .object, .nullable("wait4 failed or has not returned")), .integer(.options)],
                 blocks: true, "wait4(2): waits for a child to end and reaps it; status says how it ended.")
        case .waitpid:
            call(f, [.integer(.pid), .init(.process, .process), .init(.status, .object, .nullable("waitpid failed or has not returned")), .integer(.options)],
                 blocks: true, "waitpid(2) (and wait(2), as waitpid(-1)) in a C program: waits for a child to end and reaps it.")
        case .nanosleep: call(f, [.integer(.ms)], blocks: true, "nanosleep(2): sleeps ms milliseconds.")
        case .exit: call(f, [.integer(.code)], "_exit(2): ends the process; it never returns.")
        case .spin: call(f, [.integer(.ms)], blocks: true, "Spins on the CPU for ms milliseconds (to meet a CPU limit).")
        case .allocate:
            call(f, [.integer(.bytes), .integer(.touched)], blocks: true, "Allocates and touches bytes of memory (to meet a memory limit).")
        case .forkChildren:
            call(f, [.integer(.count), .integer(.sleepMs), .integer(.reaped)], blocks: true, "Forks count children that sleep (to meet a process limit).")
        case .openFiles: call(f, [.integer(.count), .string(.path)], "Opens /dev/null count times (to meet the open-files limit).")
        case .writeFile:
            call(f, [.integer(.bytes), .integer(.written)], blocks: true, "Writes bytes into a file in /tmp (to meet the file-size limit).")
        case .output:
            call(f, [.integer(.fd), .integer(.offset), .integer(.bytes)], moves: .sends,
                 "A C program's process wrote bytes to its standard output (fd 1) or error (fd 2), at offset of what it "
                 + "wrote there: seen by the run's init in the capture (printf's own write is inside the C library, "
                 + "where the tracer cannot see it), so t_ns is when the init found them, within 10 ms of the write "
                 + "or at the process's end; only the captured first 8192 bytes of each stream.")
        }
    }
}

/// The sandbox's probes (`try_syscall`): each makes the real call with harmless arguments,
/// which `with` describes; the seccomp filter refuses all but `getppid`, the control.
public enum SandboxCall: String, CallTable {
    case getppid, ptrace, processVmReadv = "process_vm_readv", unshare, setns, mount, clone, clone3, bpf
    case perfEventOpen = "perf_event_open", ioUringSetup = "io_uring_setup", keyctl, addKey = "add_key", userfaultfd
    case kexecLoad = "kexec_load", initModule = "init_module", reboot, swapon, openByHandleAt = "open_by_handle_at"

    public var spec: CallSpec {
        switch self {
        case .getppid: call(.sandbox, [], "getppid(2), the control: a call the filter allows.")
        case .processVmReadv:
            call(.sandbox, [.string(.with)], moves: .receives, "process_vm_readv(2) of the parent's memory, which the filter refuses.")
        default: call(.sandbox, [.string(.with)], "\(rawValue)(2) with harmless arguments, which the filter refuses.")
        }
    }
}

/// The records of a bench step: its C loops' figures, and any call of theirs that failed.
public enum BenchCall: String, CallTable {
    case throughput = "bench_throughput", latency = "bench_latency", progress, schedSetaffinity = "sched_setaffinity"
    case mismatch = "bench_mismatch", ringPosition = "ring_position"
    /// Any other call of a loop, recorded when it failed (its errno says why), by its own name.
    case failed = "*"

    public var spec: CallSpec {
        let f = CallFamily.bench
        let mechanism = CallArgument.string(.mechanism)
        return switch self {
        case .throughput:
            call(f, [mechanism, .integer(.bytes), .integer(.chunkBytes), .integer(.elapsedNs), .integer(.cpuUserNs), .integer(.cpuSystemNs),
                     .integer(.peerCpuUserNs), .integer(.peerCpuSystemNs), .integer(.cpu), .integer(.peerCpu), .integer(.copiesPerByte)],
                 "One throughput phase: bytes moved in elapsed_ns, and the CPU time both sides spent.")
        case .latency:
            call(f, [mechanism, .integer(.roundTrips), .integer(.minNs), .integer(.p50Ns), .integer(.p99Ns), .integer(.maxNs), .integer(.cpu),
                     .integer(.peerCpu)], "One latency phase: round trips and their percentiles.")
        case .progress:
            call(f, [.string(.bench), mechanism, .integer(.done), .integer(.total)], "How far a phase has got, each tenth of the way.")
        case .schedSetaffinity: call(f, [mechanism, .integer(.cpu)], "sched_setaffinity(2) to the CPU the placement chose, when it failed.")
        case .ringPosition:
            call(f, [mechanism, .integer(.read), .integer(.position)],
                 "EPROTO: the other side's position in the shm ring, read from the shared page, was out of range; the phase stopped.")
        case .mismatch: call(f, [mechanism, .integer(.mismatchedLines)], "The receiver found bytes that differ from what was sent.")
        case .failed: call(f, [mechanism], "A call of the loop that failed; the event carries its own name and errno.")
        }
    }
}
