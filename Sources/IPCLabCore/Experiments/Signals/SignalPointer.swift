/// `signal.pointer` — `sival_ptr` sent across processes is an address that means nothing in
/// the receiver: each process has its own virtual address space.
public struct SignalPointer: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "signal.pointer",
        mechanism: "signal",
        title: "A pointer in a signal means nothing to the receiver",
        claim: "sigqueue can carry a pointer (si_value.sival_ptr), but a pointer is a virtual address of the sender: the number arrives intact, yet at that address the receiver's own memory holds something else, or nothing at all.",
        seed: "000",
        parameters: [
            .signal("signal", "The signal that carries the pointer.", default: .sigrtmin),
            Parameter("text", .string, "What the sender puts in its buffer before sending the buffer's address.",
                      default: "a secret in the sender's memory", count: SignalStep.Bounds.pointerText),
        ],
        observations: ["signal.pointer.address_arrives", "signal.pointer.meaningless_in_receiver"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let sig = params.signal("signal")
        let text = params.string("text") ?? "a secret"
        return Scenario(
            channels: [ReadyPipe.channel],
            processes: [
                ProcessSpec(name: "sender", steps: [
                    ReadyPipe.await, .sigqueue("receiver", sig, value: .pointer(text)), .wait(process: "receiver"),
                ]),
                ProcessSpec(name: "receiver", steps: [
                    .sigaction(sig, .handle, restart: true), ReadyPipe.signal, .waitSignals(count: 1, timeoutMs: 1000),
                    .readPointer(size: text.utf8.count + 1),
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
        ]
    }
}
