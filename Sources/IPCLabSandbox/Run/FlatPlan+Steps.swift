import CIPCLab
import IPCLabCore

/// Steps as ops of the flat plan: each field the Swift participant reads (Participant+Process.swift,
/// +Pipes.swift, +Stages.swift), where `ipclab_plan.h` says it goes.
extension FlatPlan.Writer {
    mutating func compile(_ step: Step, process: String, index: Int) throws(FlatPlan.Refusal) -> ipclab_plan_step {
        switch step {
        case .process(let s): return compile(s)
        case .pipe(let s): return compile(s)
        // signals, sandbox probes, measurements
        case .signal(let s): return compile(s)
        case .sandbox(let s): return compile(s)
        case .bench(let s): return try compile(s, process: process, index: index)

        // shared memory and semaphores
        case .sharedMemory(let s): return try compile(s, process: process, index: index)
        case .semaphore(let s): return try compile(s, process: process, index: index)

        // send, message queues and sockets
        case .send(let s): return compile(s)
        case .messageQueue(let s): return compile(s)
        case .socket(let s): return compile(s)
        }
    }

    /// A step with nothing set: no channel, process or end (-1), no signal, numbers and text empty.
    static func op(_ op: ipclab_plan_op) -> ipclab_plan_step {
        var s = ipclab_plan_step()
        s.op = UInt16(op.rawValue)
        s.channel = -1
        s.process = -1
        s.process2 = -1
        s.end = -1
        return s
    }

    private mutating func compile(_ step: ProcessStep) -> ipclab_plan_step {
        switch step {
        case .sleep(let ms):
            return Self.op(IPCLAB_OP_SLEEP, ms)
        case .wait(let process):
            var s = Self.op(IPCLAB_OP_WAIT)
            // The first process of that name, as `scenario.processIndex(named:)`; -1 when none (wait4(-1)).
            s.process = Int16(scenario.processIndex(named: process) ?? -1)
            return s
        case .exit(let code):
            return Self.op(IPCLAB_OP_EXIT, code)
        case .spin(let ms):
            return Self.op(IPCLAB_OP_SPIN, ms)
        case .allocate(let bytes):
            return Self.op(IPCLAB_OP_ALLOCATE, bytes)
        case let .forkChildren(count, sleepMs):
            return Self.op(IPCLAB_OP_FORK_CHILDREN, count, sleepMs)
        case .openFiles(let count):
            return Self.op(IPCLAB_OP_OPEN_FILES, count)
        case let .writeFile(name, bytes):
            var s = Self.op(IPCLAB_OP_WRITE_FILE, bytes)
            s.text = pool.add(name)
            return s
        }
    }

    private mutating func compile(_ step: PipeStep) -> ipclab_plan_step {
        var s: ipclab_plan_step
        switch step {
        case let .write(_, data, count):
            switch data {
            case .text(let text):
                s = Self.op(IPCLAB_OP_WRITE, 0, count)
                s.text = pool.add(text)
            case .size(let n):
                // The runner makes the bytes ('a' + i % 26, PipeStep.Data.bytes): they are not carried.
                s = Self.op(IPCLAB_OP_WRITE, n, count)
                s.flags = UInt16(IPCLAB_PLAN_STEP_DATA_SIZE)
            }
        case let .read(_, size, count):
            s = Self.op(IPCLAB_OP_READ, size, count)
        case let .readAll(_, size):
            s = Self.op(IPCLAB_OP_READ_ALL, size)
        case let .fill(_, size):
            s = Self.op(IPCLAB_OP_FILL, size)
        case let .close(_, end):
            s = Self.op(IPCLAB_OP_CLOSE)
            s.end = Self.end(end)
        case let .fstat(_, end):
            s = Self.op(IPCLAB_OP_FSTAT)
            s.end = Self.end(end)
        case .mkfifo:
            s = Self.op(IPCLAB_OP_MKFIFO)
        case let .open(_, end, nonblocking):
            s = Self.op(IPCLAB_OP_OPEN)
            s.end = Self.end(end)
            if nonblocking { s.flags = UInt16(IPCLAB_PLAN_STEP_NONBLOCKING) }
        case let .setNonblocking(_, end, enabled):
            s = Self.op(IPCLAB_OP_SET_NONBLOCKING, enabled ? 1 : 0)
            s.end = Self.end(end)
        case let .setPipeSize(_, size):
            s = Self.op(IPCLAB_OP_SET_PIPE_SIZE, size)
        case .getPipeSize:
            s = Self.op(IPCLAB_OP_GET_PIPE_SIZE)
        case let .dup2(_, end, fd):
            s = Self.op(IPCLAB_OP_DUP2, fd)
            s.end = Self.end(end)
        case .stage(let program):
            s = Self.op(IPCLAB_OP_STAGE, Self.program(program), program.count ?? 0)
        }
        if let channel = step.channel { s.channel = channelIndex(channel) }
        return s
    }

    /// An op with its first numbers.
    private static func op(_ op: ipclab_plan_op, _ n0: Int, _ n1: Int = 0) -> ipclab_plan_step {
        var s = Self.op(op)
        s.n.0 = Int64(n0)
        s.n.1 = Int64(n1)
        return s
    }

    static func end(_ end: PipeEnd) -> Int16 {
        Int16(end == .read ? IPCLAB_PLAN_END_READ.rawValue : IPCLAB_PLAN_END_WRITE.rawValue)
    }

    /// A stage's program number (`n[0]`): 0 random, 1 alnum, 2 take.
    static func program(_ p: PipeStep.Program) -> Int {
        switch p {
        case .random: 0
        case .alnum: 1
        case .take: 2
        }
    }
}
