/// `socket.fd_passing` — SCM_RIGHTS: an open file descriptor travels over a Unix socket to
/// another process, which reads the file through it.
public struct SocketFDPassing: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "socket.fd_passing",
        mechanism: "socket",
        title: "Passing a file descriptor (SCM_RIGHTS)",
        claim: "Over a Unix-domain socket, sendmsg with an SCM_RIGHTS message hands an open file to another process: recvmsg installs a new descriptor in the receiver (numbered in the receiver's own table: its lowest free number) that refers to the same open file, and reading through it reads that file.",
        seed: "—",
        parameters: [
            Parameter("message", .string, "What the sender writes into the file before passing it.", default: "a note only the open file carries", count: 1...1024),
            Parameter("attach", .boolean, "Attach the descriptor. With false, sendmsg sends the byte alone and no descriptor arrives.", default: true),
            Parameter("close_after_send", .boolean, "The sender closes its own descriptor right after sendmsg: the file stays open through the one in flight.", default: true),
        ],
        observations: ["socket.fd_passing.descriptor_received", "socket.fd_passing.same_file"]
    )

    static let path = "/tmp/note.txt"

    public func scenario(_ params: Parameters) -> Scenario {
        Scenario(
            channels: [.socketpair("sv")],
            processes: [
                ProcessSpec(name: "sender", steps: [
                    .sendFD(channel: "sv", path: Self.path, data: params.string("message") ?? "", attach: params.bool("attach") ?? true,
                            close: params.bool("close_after_send") ?? true),
                    .wait(process: "receiver"),
                ]),
                ProcessSpec(name: "receiver", steps: [.recvFD(channel: "sv", size: 4096), .exit(code: 0)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let open = trace.calls(.sockets(.openat), by: "sender").first
        let sendmsg = trace.calls(.sockets(.sendmsg), by: "sender", on: "sv").first
        let recvmsg = trace.calls(.sockets(.recvmsg), by: "receiver", on: "sv").first
        func rights(_ e: TraceEvent?) -> [Int64] {
            if case .array(let items)? = e?.arg(.scmRights) { return items.compactMap { if case .integer(let n) = $0 { n } else { nil } } }
            return []
        }
        let passed = rights(sendmsg)
        let arrived = rights(recvmsg)
        let received = sendmsg?.result == 1 && recvmsg?.result == 1 && passed.count == 1 && arrived.count == 1
        let descriptor = Observation(
            id: "socket.fd_passing.descriptor_received",
            claim: "sendmsg with SCM_RIGHTS hands an open descriptor to the receiving process: recvmsg gives it one of its own.",
            holds: received, evidence: [open, sendmsg, recvmsg].compactMap { $0?.seq },
            detail: received
                ? "the sender's fd \(passed[0]) (\(Self.path)) went out with sendmsg; recvmsg installed it as fd \(arrived[0]) in the receiver, its own lowest free number" + (arrived[0] == passed[0] ? " (the same number only because both tables look alike)" : "")
                : "sendmsg carried \(passed.isEmpty ? "no descriptor" : "fd \(passed[0])"); recvmsg returned \(recvmsg?.outcomeText ?? "nothing") with \(arrived.isEmpty ? "no descriptor" : "fd \(arrived[0])")")

        let wrote = trace.calls(.sockets(.fileWrite), by: "sender").first { $0.string(.path) != nil }
        let read = trace.calls(.sockets(.fileRead), by: "receiver").first { $0.string(.path) != nil || $0.arg(.channel) == nil }
        let same = received && read?.movedText != nil && read?.movedText == wrote?.movedText
        let file = Observation(
            id: "socket.fd_passing.same_file",
            claim: "The received descriptor refers to the sender's open file: reading through it returns what the sender wrote there.",
            holds: same, evidence: [wrote, read].compactMap { $0?.seq },
            detail: same
                ? "the receiver read \(read!.result!) bytes \"\(read!.movedText!)\" through fd \(arrived[0]): what the sender wrote through fd \(passed[0])"
                    + (trace.calls(.sockets(.fileClose), by: "sender").isEmpty ? "" : ", which it had already closed")
                : "the receiver \(read.map { "read \($0.outcomeText)" } ?? "had no descriptor to read through")")
        return [descriptor, file]
    }
}
