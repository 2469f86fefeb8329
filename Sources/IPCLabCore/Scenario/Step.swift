/// One thing a process does. Each family makes the system calls of one mechanism.
public enum Step: Sendable, Equatable {
    /// Process control: sleep, wait, exit.
    case process(ProcessStep)
    /// Pipes and FIFOs.
    case pipe(PipeStep)
    /// Shared memory.
    case sharedMemory(SharedMemoryStep)
    /// Semaphores.
    case semaphore(SemaphoreStep)
    /// Signals.
    case signal(SignalStep)
    /// `send` on a message queue or a socket.
    case send(SendStep)
    /// Message queues.
    case messageQueue(MessageQueueStep)
    /// Sockets.
    case socket(SocketStep)
    /// Probes of the sandbox: system calls no experiment needs.
    case sandbox(SandboxStep)
    /// Measurements: one side of a throughput or latency phase.
    case bench(BenchStep)

    /// The families, in the order their ops are listed in errors and documentation.
    static let families: [(ops: [String], decode: @Sendable (String, inout JSONObjectReader) throws(LabError) -> Step)] = [
        (ProcessStep.ops, { op, r throws(LabError) in .process(try ProcessStep.decode(op: op, &r)) }),
        (PipeStep.ops, { op, r throws(LabError) in .pipe(try PipeStep.decode(op: op, &r)) }),
        (SharedMemoryStep.ops, { op, r throws(LabError) in .sharedMemory(try SharedMemoryStep.decode(op: op, &r)) }),
        (SemaphoreStep.ops, { op, r throws(LabError) in .semaphore(try SemaphoreStep.decode(op: op, &r)) }),
        (SignalStep.ops, { op, r throws(LabError) in .signal(try SignalStep.decode(op: op, &r)) }),
        (SendStep.ops, { op, r throws(LabError) in .send(try SendStep.decode(op: op, &r)) }),
        (MessageQueueStep.ops, { op, r throws(LabError) in .messageQueue(try MessageQueueStep.decode(op: op, &r)) }),
        (SocketStep.ops, { op, r throws(LabError) in .socket(try SocketStep.decode(op: op, &r)) }),
        (SandboxStep.ops, { op, r throws(LabError) in .sandbox(try SandboxStep.decode(op: op, &r)) }),
        (BenchStep.ops, { op, r throws(LabError) in .bench(try BenchStep.decode(op: op, &r)) }),
    ]

    /// Every `op` of the language.
    public static var ops: [String] { families.flatMap(\.ops) }

    /// The family's step, for code that works across families.
    public var family: any StepFamily {
        switch self {
        case .process(let s): s
        case .pipe(let s): s
        case .sharedMemory(let s): s
        case .semaphore(let s): s
        case .signal(let s): s
        case .send(let s): s
        case .messageQueue(let s): s
        case .socket(let s): s
        case .sandbox(let s): s
        case .bench(let s): s
        }
    }

    /// The `op` word of this step in the scenario language.
    public var op: String { family.op }

    /// The channel the step uses, if any.
    public var channel: String? { family.channel }

    /// Reads one step object (`{"op": "write", …}`) strictly; inside a loop, with its indexes in `scope`.
    static func decode(_ value: JSONValue, at path: JSONPath, scope: LoopScope? = nil) throws(LabError) -> Step {
        var r = try JSONObjectReader(value, at: path, code: .invalidScenario)
        let op = try r.requiredString("op")
        r.scope = scope
        guard let family = families.first(where: { $0.ops.contains(op) }) else {
            throw r.fail("op", "unknown op \"\(op)\"; one of: \((ops + [StepList.loopOp]).joined(separator: ", "))")
        }
        let step = try family.decode(op, &r)
        try r.finish()
        return step
    }

    /// The step in the JSON language.
    public var json: JSONValue {
        var o = family.fields
        o["op"] = .string(op)
        return .object(o)
    }
}
