/// Signals: dispositions, sending, masks, waiting, deliveries (recorded by the handler), faults, and
/// the `/proc/PID/stat` reads of `proc_stat`. Keys with a prefix are calls other families make too.
public enum SignalCall: String, CallTable {
    case deliver, sigaction, setpgid, setresuid, setresgid, kill, sigqueue, sigprocmask, sigpending, ppoll, fault
    case mmap = "sig.mmap", processVmReadv = "sig.process_vm_readv"
    case procStatOpen = "procstat.open", procStatRead = "procstat.read", store = "sig.store"

    public var spec: CallSpec {
        let f = CallFamily.signals
        let sending: [CallArgument] = [.integer(.pid), .signal(.signal)]
        return switch self {
        case .deliver:
            call(f, [.signal(.signal), .integer(.siSigno), .string(.siCode), .address(.siAddr, .optional("a fault (SIGSEGV, SIGFPE, SIGBUS, SIGILL)")),
                     .integer(.siPid, .optional("not a fault")), .integer(.siUid, .optional("not a fault")),
                     .init(.sender, .process, .optional("not a fault; null when the sender is not a process of the run")),
                     .init(.siValue, .object, .optional("not a fault; null unless si_code is SI_QUEUE, SI_TIMER or SI_MESGQ")),
                     .integer(.siStatus, .optional("SIGCHLD")), .signal(.statusSignal, .optional("SIGCHLD for a child killed, dumped or stopped")),
                     .integer(.handled)],
                 "A signal delivered to a handler, as its siginfo_t says; handled counts the deliveries so far.")
        case .sigaction:
            call(f, [.signal(.signal), .string(.handler), .flags(.flags), .init(.reply, .object, .nullable("the handler sends no reply")),
                     .integer(.exit, .optional("the handler ends the process with this status once it recorded the delivery"))],
                 "sigaction(2): sets a signal's disposition: SIG_DFL, SIG_IGN or a handler.")
        case .setresuid:
            call(f, [.integer(.ruid), .integer(.euid), .integer(.suid), .integer(.uidNow)],
                 "setresuid(2): sets the real, effective and saved uid; uid_now is getuid() after it.")
        case .setresgid:
            call(f, [.integer(.rgid), .integer(.egid), .integer(.sgid), .integer(.gidNow)],
                 "setresgid(2): sets the real, effective and saved gid; gid_now is getgid() after it.")
        case .store:
            call(f, [.address(.address), .integer(.count), .string(.buffer)], moves: .sends,
                 "A store of this process's own bytes into its copy of the static buffer (there before fork).")
        case .setpgid:
            call(f, [.integer(.pid), .integer(.pgid), .init(.process, .process), .init(.group, .process)],
                 "setpgid(2): moves a process into the group whose id is the pid of group (its own: a new group it leads).")
        case .kill:
            call(f, sending + [.init(.process, .process), .init(.fromHandler, .boolean), .integer(.uid)], "kill(2): sends a signal to a process, or with a negative pid to every process of the group -pid.")
        case .sigqueue:
            call(f, sending + [.init(.value, .object), .init(.process, .process), .integer(.uid),
                               .string(.buffer, .optional("a pointer: mmap (made after fork) or static (there before fork)"))], moves: .sends,
                 "sigqueue(3): sends a signal with a value (an int, or a pointer to this process's buffer).")
        case .sigprocmask:
            call(f, [.string(.how), .init(.set, .signals), .init(.oldset, .signals, .nullable("it has not returned"))],
                 "sigprocmask(2): blocks or unblocks signals; a blocked signal stays pending.")
        case .sigpending: call(f, [.init(.set, .signals)], "sigpending(2): the signals blocked and pending.")
        case .ppoll:
            call(f, [.init(.fds, .array, .nullable("always: no descriptors")), .integer(.nfds), .integer(.timeoutMs), .init(.sigmask, .signals),
                     .integer(.handled), .integer(.untilHandled)], blocks: true,
                 "ppoll(2) with no descriptors: sleeps, with sigmask, until handlers have run until_handled times or the timeout.")
        case .fault:
            call(f, [.string(.kind), .string(.instruction), .address(.address, .optional("kind is segv")), .integer(.rlimitCore)],
                 "A real fault: a store to NULL (SIGSEGV) or an integer division by zero (SIGFPE).")
        case .mmap:
            call(f, [.integer(.length), .flags(.prot), .flags(.flags)], "mmap(2) of a private buffer whose address sigqueue sends.")
        case .processVmReadv:
            call(f, sending.prefix(1) + [.address(.address), .integer(.count)], moves: .receives,
                 "process_vm_readv(2) on this process, at the address the last signal carried.")
        case .procStatOpen:
            call(f, [.string(.path), .flags(.flags), .init(.process, .process)], blocks: true, "open(2) of /proc/PID/stat, to read a process's state.")
        case .procStatRead:
            call(f, [.integer(.fd), .integer(.count), .string(.path), .init(.process, .process)], blocks: true, moves: .receives,
                 "read(2) of /proc/PID/stat: the state letter follows the command name.")
        }
    }
}
