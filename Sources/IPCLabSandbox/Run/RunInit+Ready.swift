import CIPCLab
import Glibc
import IPCLabCore

/// The set-up a run's init does while it waits for its run: everything that depends on no run
/// (its namespaces' ids, mounts, hostname, stdio, loopback, signal dispositions), so that a run
/// handed to a ready init only does what depends on its plan (its limits, the lockdown, its
/// processes). It starts when the spawner says the id maps are written (``GoMessage/mapped``), which
/// it does as it hands the run before to another init: done as soon as the init is cloned, the set-up
/// competed with the server's answer to the previous run and gained nothing end to end (README,
/// Benchmarks). Nothing of any plan has reached the init yet; the lockdown (no_new_privs, dumpable
/// off, the seccomp filter) still comes last, after the run's limits, before any participant runs —
/// only the filter's long part is installed here, after the mounts (``SetupOperation/installBaseFilter()``).
extension RunInit {
    /// Where a ready init holds the tracer library open (programs bind it into their root).
    static let tracerFD: Int32 = 102

    /// Performs the run-independent set-up (the trace records it once the ring is mapped,
    /// ``recordEarly()``). A required operation that fails is remembered: the run then ends with
    /// outcome `error`, as if it had failed after the run arrived.
    static func prepareAhead(userNamespace: Bool, namespaces: Int32, networkNamespace: Bool, uid: UInt32) -> [SetupOperation.Done] {
        var done: [SetupOperation.Done] = []
        // An operation whose namespace the run lacks would change the host: it is left out.
        for op in userNamespace ? SetupOperation.withUserNamespace : SetupOperation.standard(userNamespace: false, dropTo: uid)
        where op.needs & namespaces == op.needs {
            done.append(op.performEarly())
            if done.last!.failedRequired { return done }
        }
        if networkNamespace { done.append(SetupOperation.loopbackUp.performEarly()) }
        // Every signal's default action, once here for every process of the run (a runner inherits
        // the spawner's ignored SIGPIPE across exec): 64 sigaction calls, not 64 per process.
        ipclab_reset_signal_dispositions()
        // Changing uid or gid (above) clears the parent-death signal: set it again.
        _ = ipclab_set_parent_death_signal(SIGKILL)
        // Last, once no mount but the run's own is left to do: the long part of the seccomp filter.
        SetupOperation.installBaseFilter()
        return done
    }

    /// The tracer library beside the binary, opened (read-only, as it must be readable) before the run's tmpfs covers /tmp,
    /// where a checkout (and so the tracer) may be.
    static func holdTracer() -> (fd: Int32, path: String) {
        let path = tracerLibrary
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (-1, path) }
        if fd == tracerFD { return (fd, path) }
        let held = ipclab_fcntl_int(fd, F_DUPFD_CLOEXEC, tracerFD)
        close(fd)
        return (held == tracerFD ? held : -1, path)
    }

    /// Records the set-up done ahead of time, in order, as the run's first set-up events (at the
    /// run's start: its clock starts when it arrives); ends the run if a required one failed.
    func recordEarly() {
        for op in early {
            Recorder.record(IPCLAB_REC_SETUP, op.name, step: nil, result: Int(op.result), errno: op.errno)
            if op.failedRequired { fail("sandbox set-up failed: \(op.name)", op.errno) }
        }
    }
}

extension SetupOperation {
    /// An operation done before its run's ring was at hand: what the trace will record.
    struct Done {
        var name: String
        var required: Bool
        var result: Int32
        var errno: Int32
        var failedRequired: Bool { required && result != 0 }
    }

    func performEarly() -> Done {
        let r = action()
        return Done(name: name, required: required, result: r, errno: r == 0 ? 0 : Glibc.errno)
    }
}
