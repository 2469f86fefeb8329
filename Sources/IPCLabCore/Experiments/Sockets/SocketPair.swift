/// `socket.socketpair` — socketpair(2) before fork: a connected pair, full duplex between parent
/// and child, one descriptor each.
public struct SocketPair: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "socket.socketpair",
        mechanism: "socket",
        title: "socketpair: full duplex between parent and child",
        claim: "socketpair makes two connected sockets at once; after fork the parent talks on one and the child on the other, and each sends and receives on its single descriptor — where a pipe would need two pipes.",
        seed: "002",
        parameters: [
            Parameter.choice("type", "The socketpair's type.", default: "stream", SocketChannel.PairType.allCases.map(\.rawValue)),
            Parameter("rounds", .integer, "How many times the parent sends and the child answers.", default: 1, range: 1...100),
            Parameter("parent_message", .string, "What the parent sends each round.", default: "ping from parent", count: 1...1024),
            Parameter("child_message", .string, "What the child answers each round.", default: "pong from child", count: 1...1024),
        ],
        observations: ["socket.socketpair.one_descriptor_each", "socket.socketpair.full_duplex"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let rounds = params.int("rounds") ?? 1
        let type = SocketChannel.PairType(rawValue: params.string("type") ?? "stream") ?? .stream
        let ping = params.string("parent_message") ?? "ping from parent"
        let pong = params.string("child_message") ?? "pong from child"
        let parent: [Step] = (0..<rounds).flatMap { _ in
            [Step.send(channel: "sv", data: .text(ping)), .recv(channel: "sv", size: pong.utf8.count)]
        }
        let child: [Step] = (0..<rounds).flatMap { _ in
            [Step.recv(channel: "sv", size: ping.utf8.count), .send(channel: "sv", data: .text(pong))]
        }
        return Scenario(
            channels: [.socketpair("sv", type: type)],
            processes: [
                ProcessSpec(name: "parent", steps: parent + [.wait(process: "child")]),
                ProcessSpec(name: "child", steps: child + [.exit(code: 0)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let pair = trace.calls(.sockets(.socketpair), on: "sv").first
        let sv: [Int64] = {
            if case .array(let items)? = pair?.arg(.sv) { return items.compactMap { if case .integer(let n) = $0 { n } else { nil } } }
            return []
        }()
        let parentCalls = trace.socketSends(on: "sv", by: "parent") + trace.socketReceives(on: "sv", by: "parent")
        let childCalls = trace.socketSends(on: "sv", by: "child") + trace.socketReceives(on: "sv", by: "child")
        let parentFDs = Set(parentCalls.compactMap(\.socketFD))
        let childFDs = Set(childCalls.compactMap(\.socketFD))
        let oneEach = pair?.result == 0 && sv.count == 2 && parentFDs == [sv[0]] && childFDs == [sv[1]]
        let descriptors = Observation(
            id: "socket.socketpair.one_descriptor_each",
            claim: "socketpair returns two connected descriptors before fork; the parent uses one, the child the other, for both directions.",
            holds: oneEach, evidence: ([pair].compactMap { $0 } + parentCalls.prefix(2) + childCalls.prefix(2)).seqs,
            detail: oneEach ? "socketpair gave [\(sv[0]), \(sv[1])]: the parent sent and received on \(sv[0]), the child on \(sv[1])"
                : "socketpair returned \(pair?.outcomeText ?? "nothing"); the parent used \(parentFDs.sorted()), the child \(childFDs.sorted())")

        let down = zip(trace.socketSends(on: "sv", by: "parent"), trace.socketReceives(on: "sv", by: "child"))
        let up = zip(trace.socketSends(on: "sv", by: "child"), trace.socketReceives(on: "sv", by: "parent"))
        let downOK = down.map { $0.0.movedText != nil && $0.0.movedText == $0.1.movedText }
        let upOK = up.map { $0.0.movedText != nil && $0.0.movedText == $0.1.movedText }
        let rounds = params.int("rounds") ?? 1
        let duplex = downOK.count == rounds && upOK.count == rounds && (downOK + upOK).allSatisfy { $0 }
        let full = Observation(
            id: "socket.socketpair.full_duplex",
            claim: "Messages travel both ways through the one pair: parent to child and child to parent.",
            holds: duplex, evidence: (parentCalls + childCalls).sorted { $0.seq < $1.seq }.seqs,
            detail: "\(downOK.filter { $0 }.count) of \(rounds) message(s) reached the child, \(upOK.filter { $0 }.count) of \(rounds) answer(s) reached the parent")
        return [descriptors, full]
    }
}
