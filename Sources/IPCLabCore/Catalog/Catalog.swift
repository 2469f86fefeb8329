/// Every preset the lab offers, by id.
public struct Catalog: Sendable {
    public let presets: [any Preset]

    public init(presets: [any Preset]) {
        self.presets = presets
    }

    /// The lab's catalog (see `CATALOG.md` in the course material).
    public static let standard = Catalog(presets: [
        PipeHello(), PipeByteStream(), PipeEOF(), PipeCapacity(), PipeSigpipe(), PipeNonblocking(), PipeDuplex(), PipePipeline(), FIFORendezvous(), FIFOUnrelated(), PipeInode(),
        ShmAnonymous(), ShmPrivate(), ShmSysV(), ShmPOSIX(), ShmRace(), ShmPointers(),
        SemMutex(), SemFruitPlate(), SemProducerConsumer(),
        SignalHandshake(), SignalSigqueue(), SignalPointer(), SignalCoalescing(), SignalBlocked(), SignalDispositions(), SignalSigint(), SignalSigchld(), SignalFault(), SignalStopCont(), SignalUnblockable(), SignalProcessGroup(), SignalPermissions(),
        MQSysV(), MQPosix(), MQFull(), MQSysVFull(), MQBoundaries(), MQNotify(),
        SocketTCP(), SocketUnixStream(), SocketUnixDgram(), SocketPair(), SocketUDP(), SocketBuffer(), SocketFDPassing(), SocketNonblocking(),
        SandboxDeniedCalls(),
        BenchThroughput(), BenchLatency(),
    ])

    public func preset(_ id: String) -> (any Preset)? {
        presets.first { $0.experiment.id == id }
    }

    public var experiments: [Experiment] { presets.map(\.experiment) }
}
