/// A call the lab records, by family: `.pipes(.read)`, `.messageQueues(.msgrcv)`. Each family is
/// a table (`Call+<Family>.swift`) whose raw values are what the event ring records and whose
/// ``CallTable/spec`` says how a trace shows the call. Switching over a `Call` is exhaustive: a
/// call added to a table does not compile until the describer names its arguments.
public enum Call: Hashable, Sendable {
    case pipes(PipeCall)
    case fifos(FIFOCall)
    case sharedMemory(SharedMemoryCall)
    case semaphores(SemaphoreCall)
    case messageQueues(MessageQueueCall)
    case signals(SignalCall)
    case sockets(SocketCall)
    case process(ProcessCall)
    case sandbox(SandboxCall)
    case bench(BenchCall)

    /// The call's entry in its family's table.
    public var table: any CallTable {
        switch self {
        case .pipes(let c): c
        case .fifos(let c): c
        case .sharedMemory(let c): c
        case .semaphores(let c): c
        case .messageQueues(let c): c
        case .signals(let c): c
        case .sockets(let c): c
        case .process(let c): c
        case .sandbox(let c): c
        case .bench(let c): c
        }
    }

    /// What the ring records for this call (unique across families but for the sandbox's probes
    /// and the bench loops' calls, which are named by the step that made them).
    public var key: String { table.rawValue }

    /// How a trace shows the call (worked out once per call: traces and observations ask for it per event).
    public var spec: CallSpec { Self.specs[self] ?? table.spec }

    /// The name a trace shows in `call` (made once per call, not split out of its key per event).
    public var name: String { Self.names[self] ?? table.name }

    private static let specs: [Call: CallSpec] = Dictionary(all.map { ($0, $0.table.spec) }, uniquingKeysWith: { a, _ in a })
    private static let names: [Call: String] = Dictionary(all.map { ($0, $0.table.name) }, uniquingKeysWith: { a, _ in a })

    /// Every call of every family, in table order.
    public static let all: [Call] = PipeCall.allCases.map(Call.pipes) + FIFOCall.allCases.map(Call.fifos)
        + SharedMemoryCall.allCases.map(Call.sharedMemory) + SemaphoreCall.allCases.map(Call.semaphores)
        + MessageQueueCall.allCases.map(Call.messageQueues) + SignalCall.allCases.map(Call.signals)
        + SocketCall.allCases.map(Call.sockets) + ProcessCall.allCases.map(Call.process)
        + SandboxCall.allCases.map(Call.sandbox) + BenchCall.allCases.map(Call.bench)

    /// Calls by the key the ring records, for the families whose keys are unique (not the
    /// sandbox's probes and the bench loops', which are looked up in their own tables by step).
    private static let byKey: [String: Call] = Dictionary(
        all.filter { if case .sandbox = $0 { false } else if case .bench = $0 { false } else { true } }.map { ($0.key, $0) },
        uniquingKeysWith: { a, _ in a })

    /// The call a record's key names, outside sandbox and bench steps; nil for a key no table has.
    public init?(key: String) {
        guard let c = Self.byKey[key] else { return nil }
        self = c
    }
}

/// One family's table of calls: an enum whose raw values are the keys the ring records.
public protocol CallTable: CaseIterable, Hashable, Sendable, RawRepresentable where RawValue == String {
    var spec: CallSpec { get }
}

extension CallTable {
    /// The name a trace shows: the key without its family prefix (`sock.read` → `read`).
    public var name: String { rawValue.split(separator: ".").last.map(String.init) ?? rawValue }

    func call(_ family: CallFamily, _ arguments: [CallArgument], blocks: Bool = false, moves: ByteDirection? = nil,
              _ summary: String) -> CallSpec {
        CallSpec(name, key: rawValue, family: family, arguments, blocks: blocks, moves: moves, summary)
    }
}
