/// `pipe.hello` — the course's `pipe.c`: the child writes a message into a pipe and
/// the parent reads it; each closes the end it does not use; the parent waits.
public struct PipeHello: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "pipe.hello",
        mechanism: "pipe",
        title: "Hello through a pipe",
        claim: "A pipe carries bytes from the process that writes its write end to the process that reads its read end; after fork, each process closes the end it does not use.",
        seed: "004",
        parameters: [
            Parameter("message", .string, "What the child writes (a NUL is added, as the C example writes 6 bytes for \"Hello\").",
                      default: "Hello", count: 1...4096),
        ],
        observations: ["pipe.hello.message_received", "pipe.hello.unused_ends_closed", "pipe.hello.parent_waited"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let message = (params.string("message") ?? "Hello") + "\u{0}"
        return Scenario(
            channels: [.pipe("pfds")],
            processes: [
                ProcessSpec(name: "parent", steps: [
                    .close(channel: "pfds", end: .write),
                    .read(channel: "pfds", size: message.utf8.count, repeat: 1),
                    .wait(process: "child"),
                ]),
                ProcessSpec(name: "child", steps: [
                    .close(channel: "pfds", end: .read),
                    .write(channel: "pfds", data: .text(message), repeat: 1),
                    .exit(code: 0),
                ]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let writes = trace.calls(.pipes(.write), by: "child", on: "pfds")
        let reads = trace.calls(.pipes(.read), by: "parent", on: "pfds")
        let sent = writes.first?.payload
        let got = reads.first?.payload
        let received = sent != nil && sent?.bytes == got?.bytes && sent?.preview == got?.preview
        let closes = trace.calls(.pipes(.close), on: "pfds")
        // Each closed the end it does not use: the parent the write end, the child the read end.
        let closedOK = closes.count == 2 && closes.allSatisfy { $0.result == 0 }
            && closes.contains { $0.process == "parent" && $0.string(.end) == "write" }
            && closes.contains { $0.process == "child" && $0.string(.end) == "read" }
        // A C program's parent waits with waitpid (or wait) as often as with wait4.
        let waits = (trace.calls(.process(.wait4), by: "parent") + trace.calls(.process(.waitpid), by: "parent")).sorted { $0.seq < $1.seq }
        let childPid = trace.process("child")?.pid
        let waited = waits.contains { $0.result == Int64(childPid ?? -2) }
        return [
            Observation(
                id: "pipe.hello.message_received",
                claim: "The bytes the child wrote into the pipe are the bytes the parent read from it.",
                holds: received, evidence: (Array(writes.prefix(1)) + Array(reads.prefix(1))).seqs,
                detail: received
                    ? "child wrote \(sent!.bytes) bytes \(sent!.quotedText); parent read the same \(got!.bytes) bytes"
                    : "child wrote \(writes.first?.result.map(String.init) ?? "nothing"); parent read \(reads.first?.result.map(String.init) ?? "nothing")"),
            Observation(
                id: "pipe.hello.unused_ends_closed",
                claim: "After fork each process closes the pipe end it does not use: the parent its write end, the child its read end.",
                holds: closedOK, evidence: closes.seqs,
                detail: closes.map { "\($0.process) closed the \($0.arg(.end)?.compactText ?? "?") end: \($0.result.map(String.init) ?? "?")" }
                    .joined(separator: "; ")),
            Observation(
                id: "pipe.hello.parent_waited",
                claim: "The parent waits for its child and collects its exit status.",
                holds: waited, evidence: waits.seqs,
                detail: waited ? "\(waits.first { $0.result == Int64(childPid!) }!.call) returned the child's pid \(childPid!)" : "the parent did not collect the child"),
        ]
    }
}

extension Payload {
    /// The preview quoted for a sentence.
    public var quotedText: String { quoted }
}
