/// `socket.buffer` — a socket's send buffer is bounded: it fills, and send then blocks (or fails
/// with EAGAIN) until the peer reads.
public struct SocketBuffer: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "socket.buffer",
        mechanism: "socket",
        title: "A socket's send buffer fills",
        claim: "Bytes sent wait in the kernel's socket buffers until the peer reads them. The send buffer is bounded (SO_SNDBUF, which the kernel doubles for its bookkeeping): once it is full, send blocks until the peer reads — or, non-blocking, fails at once with EAGAIN.",
        seed: "002",
        parameters: [
            Parameter("sndbuf", .integer, "The SO_SNDBUF the writer asks for (the kernel doubles it; getsockopt shows what it set).",
                      default: 16_384, range: 4096...1_048_576),
            Parameter("chunk_size", .integer, "Bytes per send while filling.", default: 4096, range: 1...65_536),
            Parameter("nonblocking", .boolean, "Stop at the first EAGAIN instead of making one more, blocking, send.", default: false),
            Parameter("reader_delay_ms", .integer, "How long the reader sleeps before reading: the blocked send waits about this long.",
                      default: 100, range: 0...1000),
        ],
        observations: ["socket.buffer.fills", "socket.buffer.full_send_waits", "socket.buffer.reader_drains"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        Scenario(
            channels: [.socketpair("sv")],
            processes: [
                ProcessSpec(name: "writer", steps: [
                    .setsockopt(channel: "sv", .sendBuffer, value: params.int("sndbuf") ?? 16_384),
                    .getsockopt(channel: "sv", .sendBuffer),
                    .sendUntilFull(channel: "sv", size: params.int("chunk_size") ?? 4096, nonblocking: params.bool("nonblocking") ?? false),
                    .shutdown(channel: "sv", .write),
                    .wait(process: "reader"),
                ]),
                ProcessSpec(name: "reader", steps: [
                    .sleep(ms: params.int("reader_delay_ms") ?? 100),
                    .recv(channel: "sv", size: 65_536, untilEOF: true),
                    .exit(code: 0),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let nonblocking = params.bool("nonblocking") ?? false
        let asked = Int64(params.int("sndbuf") ?? 16_384)
        let got = trace.calls(.sockets(.getsockopt), by: "writer", on: "sv").first?.int(.optval)
        let sends = trace.calls(.sockets(.send), by: "writer", on: "sv")
        let dontwait = sends.filter { $0.string(.flags) == "MSG_DONTWAIT" }
        let eagain = dontwait.first { $0.errno == "EAGAIN" }
        let accepted = dontwait.filter { ($0.result ?? 0) > 0 }.bytesMoved
        let queued = trace.objects.filter { $0.kind == "socket" && $0.object == "sv" }.compactMap { $0.value("send_queue") }.max() ?? 0
        let fills = Observation(
            id: "socket.buffer.fills",
            claim: "The send buffer is bounded: sends that must not wait fail with EAGAIN once it is full.",
            holds: eagain != nil && accepted > 0,
            evidence: (trace.calls(.sockets(.setsockopt), by: "writer", on: "sv") + trace.calls(.sockets(.getsockopt), by: "writer", on: "sv") + [eagain].compactMap { $0 }).seqs,
            detail: eagain != nil
                ? "setsockopt asked SO_SNDBUF \(asked), getsockopt reports \(got.map(String.init) ?? "?"); \(accepted) bytes were accepted, then send with MSG_DONTWAIT failed with EAGAIN (SIOCOUTQ showed up to \(queued) bytes charged to the buffer)"
                : "no send failed with EAGAIN after \(accepted) bytes")

        let blocking = sends.filter { $0.string(.flags) == "0" }.last
        let waits: Observation
        if nonblocking {
            waits = Observation(
                id: "socket.buffer.full_send_waits", claim: Self.waitClaim, holds: eagain != nil && blocking == nil,
                evidence: eagain.map { [$0.seq] } ?? [],
                detail: eagain != nil ? "non-blocking, the send into the full buffer failed at once with EAGAIN; the writer stopped there" : "no send failed with EAGAIN")
        } else {
            // The blocking send waited only if it followed the EAGAIN with no recv done in between (the buffer
            // still full) and was still in the kernel when the recv that made room began.
            let reads = trace.socketReceives(on: "sv", by: "reader")
            let follows = blocking.flatMap { b in eagain.map { b.tNs > $0.tNs } } ?? false
            // Spelled without `Optional.map { … } ?? 0`: that form crashes swift 6.3.1's optimizer
            // (CopyPropagation) in release builds.
            var drainedBefore = 0
            if let b = blocking { drainedBefore = reads.filter { ($0.endNs ?? .max) <= b.tNs && ($0.result ?? 0) > 0 }.count }
            let release = blocking.flatMap { b in reads.first { ($0.endNs ?? .max) > b.tNs && ($0.result ?? 0) > 0 } }
            let verdict = blocking.map {
                WaitVerdict.judge($0, release: release, full: follows && drainedBefore == 0,
                                  state: follows ? "the reader had already received \(drainedBefore) time(s) since the EAGAIN" : "it did not follow an EAGAIN")
            }
            let ok = verdict?.holds == true && (blocking?.result ?? 0) > 0
            let detail: String
            switch verdict {
            case .waited(let ns)? where ok:
                detail = "after EAGAIN, the blocking send into the full buffer waited \(milliseconds(ns)) and returned \(blocking?.result ?? 0) only after the reader's recv began"
            case .didNotWait(true)?:
                detail = "the reader's recv had begun before the blocking send did: the buffer had room again, so this run does not show a send waiting"
            case .didNotWait(false)?:
                detail = "the blocking send returned \(blocking?.outcomeText ?? "?") before the reader's recv began: it did not wait"
            case .notFull(let why)?:
                detail = "the buffer was not full when the blocking send began: " + why
            default:
                detail = "the blocking send returned \(blocking?.outcomeText ?? "nothing")"
            }
            waits = Observation(
                id: "socket.buffer.full_send_waits", claim: Self.waitClaim, holds: ok,
                evidence: [eagain, blocking, release].compactMap { $0?.seq }, detail: detail)
        }

        let sent = sends.filter { ($0.result ?? 0) > 0 }.bytesMoved
        let reads = trace.socketReceives(on: "sv", by: "reader")
        let read = reads.bytesMoved
        let drains = Observation(
            id: "socket.buffer.reader_drains",
            claim: "The reader receives every byte the writer's sends were accepted with.",
            holds: sent > 0 && sent == read, evidence: reads.seqs,
            detail: "\(sent) bytes sent, \(read) bytes received in \(reads.filter { ($0.result ?? 0) > 0 }.count) recv(s)")
        return [fills, waits, drains]
    }

    static let waitClaim = "A send into the full buffer waits until the peer reads; without waiting it fails at once with EAGAIN."
}
