import CIPCLab
import IPCLabCore

/// Signal steps and sandbox probes as ops of the flat plan: each field Participant+Signals.swift and
/// +Sandbox.swift read, where `ipclab_plan.h` says it goes (the C side: participant_signals.c).
extension FlatPlan.Writer {
    mutating func compile(_ step: SignalStep) -> ipclab_plan_step {
        switch step {
        case let .sigaction(signal, action, reply, restart, exit):
            var s = Self.signalOp(IPCLAB_OP_SIGACTION, signal)
            s.n.0 = Int64(Self.disposition(action).rawValue)
            if let reply {
                s.n.1 = Int64(reply.signal.number)
                s.process = targetIndex(reply.process)
            }
            s.n.2 = Int64(exit ?? -1)
            if restart { s.flags = UInt16(IPCLAB_PLAN_STEP_RESTART) }
            return s
        case let .kill(process, signal, count):
            var s = Self.signalOp(IPCLAB_OP_KILL, signal)
            s.process = targetIndex(process)
            s.n.0 = Int64(count)
            return s
        case let .sigqueue(process, signal, value, count):
            var s = Self.signalOp(IPCLAB_OP_SIGQUEUE, signal)
            s.process = targetIndex(process)
            s.n.0 = Int64(count)
            switch value {
            case .int(let v):
                s.n.1 = Int64(IPCLAB_PLAN_SIGVAL_INT.rawValue)
                s.n.2 = Int64(v)
            case .pointer(let text):
                s.n.1 = Int64(IPCLAB_PLAN_SIGVAL_POINTER.rawValue)
                s.text = pool.add(text)
            case .staticPointer(let text):
                s.n.1 = Int64(IPCLAB_PLAN_SIGVAL_STATIC.rawValue)
                s.text = pool.add(text)
            }
            return s
        case let .sigprocmask(how, signals):
            var s = Self.op(IPCLAB_OP_SIGPROCMASK)
            s.n.0 = Self.maskHow(how)
            // Bit (signal - 1), as the Swift participant's set.
            s.n.1 = Int64(bitPattern: signals.reduce(UInt64(0)) { $0 | (1 << UInt64($1.number - 1)) })
            return s
        case .sigpending:
            return Self.op(IPCLAB_OP_SIGPENDING)
        case let .waitSignals(count, timeoutMs):
            var s = Self.op(IPCLAB_OP_WAIT_SIGNALS)
            s.n.0 = Int64(count)
            s.n.1 = Int64(timeoutMs)
            return s
        case let .readPointer(size, own):
            var s = Self.op(IPCLAB_OP_READ_POINTER)
            s.n.0 = Int64(size)
            if let own { s.text = pool.add(own) }
            return s
        case .fault(let kind):
            var s = Self.op(IPCLAB_OP_FAULT)
            s.n.0 = Int64(kind == .segv ? IPCLAB_FAULT_SEGV.rawValue : IPCLAB_FAULT_FPE.rawValue)
            return s
        case .procStat(let process):
            var s = Self.op(IPCLAB_OP_PROC_STAT)
            s.process = targetIndex(process)
            return s
        case let .setpgid(process, group):
            var s = Self.op(IPCLAB_OP_SETPGID)
            s.process = targetIndex(process)
            s.process2 = targetIndex(group)
            return s
        case let .killGroup(group, signal):
            var s = Self.signalOp(IPCLAB_OP_KILL_GROUP, signal)
            s.process2 = targetIndex(group)
            return s
        case .setresgid(let gid):
            var s = Self.op(IPCLAB_OP_SETRESGID)
            s.n.0 = Int64(gid)
            return s
        case .setresuid(let uid):
            var s = Self.op(IPCLAB_OP_SETRESUID)
            s.n.0 = Int64(uid)
            return s
        }
    }

    mutating func compile(_ step: SandboxStep) -> ipclab_plan_step {
        switch step {
        case .trySyscall(let call):
            // The name, not an index: the record's key is the step's text, as in Swift.
            var s = Self.op(IPCLAB_OP_TRY_SYSCALL)
            s.text = pool.add(call)
            return s
        }
    }

    /// The first process of that name, as `scenario.processIndex(named:)`; -1 when none (a pid of -1: refused).
    func targetIndex(_ name: String) -> Int16 {
        Int16(scenario.processIndex(named: name) ?? -1)
    }

    private static func signalOp(_ op: ipclab_plan_op, _ signal: Signal) -> ipclab_plan_step {
        var s = Self.op(op)
        s.sig = Int32(signal.number)
        return s
    }

    static func disposition(_ action: SignalStep.Action) -> ipclab_disposition {
        switch action {
        case .default: IPCLAB_DISPOSITION_DEFAULT
        case .ignore: IPCLAB_DISPOSITION_IGNORE
        case .handle: IPCLAB_DISPOSITION_HANDLE
        }
    }

    /// sigprocmask's `how` as ipclab_sigprocmask_bits takes it: 0 block, 1 unblock, 2 setmask.
    static func maskHow(_ how: SignalStep.MaskHow) -> Int64 {
        switch how {
        case .block: 0
        case .unblock: 1
        case .setmask: 2
        }
    }
}
