/// `socket.nonblocking` — a recv that must not wait on an empty socket fails at once with EAGAIN;
/// a blocking recv waits for the peer's send.
public struct SocketNonblocking: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "socket.nonblocking",
        mechanism: "socket",
        title: "Blocking and non-blocking socket reads",
        claim: "A recv on a socket with nothing to read waits until the peer sends — unless it must not wait (MSG_DONTWAIT, or O_NONBLOCK on the socket), and then it fails at once with EAGAIN.",
        seed: "002",
        parameters: [
            Parameter("nonblocking", .boolean, "Whether the reader's first recv must not wait (MSG_DONTWAIT).", default: true),
            Parameter("writer_delay_ms", .integer, "How long the writer waits before sending.", default: 100, range: 0...2000),
            Parameter("message", .string, "What the writer sends.", default: "late data", count: 1...4096),
        ],
        observations: ["socket.nonblocking.eagain_when_empty", "socket.nonblocking.blocking_recv_waits"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let nonblocking = params.bool("nonblocking") ?? true
        // The writer sends once. After a first recv that must not wait, a second, blocking recv takes the
        // data; after a first recv that may wait (and so took the data), a second one would wait for ever:
        // the writer's end stays open in the reader, so no EOF comes.
        let firstRecv = Step.recv(channel: "sv", size: 4096, nonblocking: nonblocking)
        let reads = nonblocking ? [firstRecv, .recv(channel: "sv", size: 4096)] : [firstRecv]
        return Scenario(
            channels: [.socketpair("sv")],
            processes: [
                ProcessSpec(name: "reader", steps: reads + [.wait(process: "writer")]),
                ProcessSpec(name: "writer", steps: [
                    .sleep(ms: params.int("writer_delay_ms") ?? 100),
                    .send(channel: "sv", data: .text(params.string("message") ?? "late data")),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let recvs = trace.socketReceives(on: "sv", by: "reader")
        let send = trace.socketSends(on: "sv", by: "writer").first
        let first = recvs.first
        // Empty when it was asked: it returned before the writer's send began.
        let eagain = first?.errno == "EAGAIN" && (send.map { (first?.endNs ?? .max) < $0.tNs } ?? true)
        let blocking = recvs.first { $0.errno == nil && ($0.result ?? 0) > 0 }
        let waited = blocking != nil && send != nil && blocking!.blocked(until: send!)
        return [
            Observation(
                id: "socket.nonblocking.eagain_when_empty",
                claim: "A recv that must not wait, on a socket with nothing to read, fails at once with EAGAIN.",
                holds: eagain, evidence: [first].compactMap { $0?.seq },
                detail: eagain
                    ? "recv with MSG_DONTWAIT on the empty socket returned -1 EAGAIN after \(milliseconds((first?.endNs ?? 0) - (first?.tNs ?? 0))), before the writer sent"
                    : first?.errno == "EAGAIN" ? "recv got EAGAIN, but the trace does not show it returned before the writer's send began"
                    : "the first recv returned \(first?.outcomeText ?? "nothing") after \(milliseconds(first?.blockedNs ?? 0)): it was allowed to wait"),
            Observation(
                id: "socket.nonblocking.blocking_recv_waits",
                claim: "A blocking recv on a socket with nothing to read waits until the peer sends, then returns the data.",
                holds: waited, evidence: [blocking, send].compactMap { $0?.seq },
                detail: waited
                    ? "the blocking recv began before the writer's send and returned \(blocking!.result!) bytes \(blocking!.payload?.quotedText ?? "") only after it: it waited \(milliseconds(send!.tNs - blocking!.tNs))"
                    : blocking != nil && send != nil && blocking!.tNs >= send!.tNs
                    ? "the writer had already sent when the blocking recv began: the data was waiting, so this run does not show a recv waiting"
                    : "no blocking recv returned the writer's data"),
        ]
    }
}
