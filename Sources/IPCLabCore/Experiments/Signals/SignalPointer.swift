/// `signal.pointer` — `sival_ptr` sent across processes is an address of the sender: the number
/// arrives, but in the receiver it names the receiver's own memory. A buffer made before fork (the
/// program's static buffer) is at that address in both, holding each process's own copy; one the sender
/// mapped after fork is not mapped in the receiver at all.
public struct SignalPointer: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.pointer",
        mechanism: "signal",
        title: "A pointer in a signal names the receiver's own memory",
        claim: "sigqueue can carry a pointer (si_value.sival_ptr), but a pointer is a virtual address of the sender: the number arrives intact, yet at that address the receiver finds its own memory — its own copy of a buffer that existed before fork, or nothing at all if the sender mapped the buffer after fork.",
        seed: "000",
        parameters: [
            .signal("signal", "The signal that carries the pointer.", default: .sigrtmin),
            Parameter("text", .string, "What the sender puts in its buffer before sending the buffer's address.",
                      default: "a secret in the sender's memory", count: SignalStep.Bounds.pointerText),
            Parameter("before_fork", .boolean, "The buffer is the program's static buffer, there before fork (every process has its own copy at the same address); with false the sender mmaps a fresh buffer after fork.",
                      default: true),
            Parameter("receiver_text", .string, "With before_fork: what the receiver puts in its own copy of the buffer before it reads at the received address (must differ from text).",
                      default: "the receiver's own bytes", count: SignalStep.Bounds.pointerText),
        ],
        observations: ["signal.pointer.address_arrives", "signal.pointer.meaningless_in_receiver", "signal.pointer.valid_after_fork"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        if params.bool("before_fork") ?? true, let own = params.string("receiver_text"), own == (params.string("text") ?? "a secret in the sender's memory") {
            throw LabError(.invalidParameter, "must differ from text: the run tells the receiver's bytes from the sender's by their content",
                           path: "params.receiver_text")
        }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        let sig = params.signal("signal")
        let text = params.string("text") ?? "a secret"
        let before = params.bool("before_fork") ?? true
        let own = params.string("receiver_text") ?? "the receiver's own bytes"
        return Scenario(
            channels: [ReadyPipe.channel],
            processes: [
                ProcessSpec(name: "sender", steps: [
                    ReadyPipe.await, .sigqueue("receiver", sig, value: before ? .staticPointer(text) : .pointer(text)), .wait(process: "receiver"),
                ]),
                ProcessSpec(name: "receiver", steps: [
                    .sigaction(sig, .handle, restart: true), ReadyPipe.signal, .waitSignals(count: 1, timeoutMs: 1000),
                    .readPointer(size: max(text.utf8.count, before ? own.utf8.count : 0) + 1, own: before ? own : nil),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let text = Array((params.string("text") ?? "").utf8) + [0]
        let send = trace.calls(.signals(.sigqueue), by: "sender").first
        let sent: String? = if case .object(let o)? = send?.arg(.value), case .string(let s)? = o["sival_ptr"] { s } else { nil }
        let got = trace.deliveries(to: "receiver", of: params.signal("signal")).first
        let arrives = sent != nil && send?.result == 0 && got?.sivalPtr == sent
        let read = trace.calls(.signals(.processVmReadv), by: "receiver").first
        // What the sender's buffer held, as its sigqueue recorded it (the text and its NUL).
        let held = send?.payload.map { ($0.bytes, $0.preview) } ?? (text.count, Array(text.prefix(Payload.previewLimit)))
        let same = read?.result == Int64(held.0) && read?.payload?.preview == held.1
        let meaningless = arrives && read?.returned == true && !same
        let what: String = switch (read?.result, read?.errno) {
        case (nil, _): "the receiver never read it"
        case (_, let e?): "reading \(text.count) bytes there in the receiver failed with \(e): nothing is mapped at that address in its address space"
        case (let n?, nil): "the receiver's own memory there holds \(n) bytes \(read?.payload?.quotedText ?? "")" + (same ? ", the sender's text — here the address happened to mean the same" : ", not the sender's text")
        }
        return [
            Observation(
                id: "signal.pointer.address_arrives",
                claim: "The pointer arrives as a number: the handler's si_value.sival_ptr is the address the sender sent.",
                holds: arrives, evidence: [send, got].compactMap { $0?.seq },
                detail: arrives
                    ? "the sender sent sival_ptr \(sent!) (its buffer holding \(send?.payload?.quotedText ?? "?")); the handler got \(got!.sivalPtr!)"
                    : "sent \(sent ?? "nothing") (\(send?.outcomeText ?? "no sigqueue")), received \(got?.sivalPtr ?? "nothing")"),
            Observation(
                id: "signal.pointer.meaningless_in_receiver",
                claim: "At that address the receiver does not find the sender's data: an address means something only in its own process.",
                holds: meaningless, evidence: [send, got, read].compactMap { $0?.seq },
                detail: "address \(got?.sivalPtr ?? "?"): " + what),
            validAfterFork(trace, send: send, got: got, read: read, arrives: arrives),
        ]
    }
}

extension SignalPointer {
    static let validClaim = "After fork the address is valid in the receiver too, for memory that existed before fork: the receiver has its own copy there, and reading at the received address returns the receiver's own bytes, not the sender's."

    /// The kernel's side of note 000: the receiver's read at the received address succeeds and returns what
    /// the receiver itself stored at that address in its copy of the static buffer.
    func validAfterFork(_ trace: Trace, send: TraceEvent?, got: TraceEvent?, read: TraceEvent?, arrives: Bool) -> Observation {
        let id = "signal.pointer.valid_after_fork"
        guard send?.string(.buffer) == "static" else {
            return Observation(id: id, claim: Self.validClaim, holds: false, evidence: [send, read].compactMap { $0?.seq },
                               detail: "the sender's buffer was mapped after fork (before_fork: false), so this run does not show a buffer that existed before fork; the receiver's read there "
                                   + (read.map { $0.errno.map { "failed with \($0)" } ?? "returned \($0.outcomeText)" } ?? "was not made"))
        }
        let store = trace.calls(.signals(.store), by: "receiver").first { $0.string(.buffer) == "static" }
        let at = got?.sivalPtr
        let own = store?.cString
        let found = read?.cString
        let holds = arrives && store?.string(.address) == at && read?.string(.address) == at && read?.errno == nil
            && (read?.result ?? 0) > 0 && own != nil && found == own && found != send?.cString
        return Observation(
            id: id, claim: Self.validClaim, holds: holds, evidence: [send, store, got, read].compactMap { $0?.seq },
            detail: "the sender put \(quoted(send?.cString)) in its copy of the static buffer and sent its address \(at ?? "?"); "
                + "the receiver had put \(quoted(own)) in its own copy at \(store?.string(.address) ?? "?"); reading at the received address "
                + (read.map { r in r.errno.map { "failed with \($0)" } ?? "returned \(r.result ?? 0) bytes: \(quoted(found))" } ?? "was not done")
                + (holds ? " — the receiver's own bytes" : ""))
    }
}
