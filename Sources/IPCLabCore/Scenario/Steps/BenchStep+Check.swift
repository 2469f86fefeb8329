/// The checks of a bench step against its scenario: the channels' kinds, and the step in the
/// other process that makes the other side of its phase.
extension BenchStep {
    public func check(in scenario: Scenario, process: Int, at path: JSONPath) throws(LabError) {
        func fail(_ key: String, _ why: String) -> LabError { LabError(.invalidScenario, why, path: path.key(key).description) }

        // The sync region: an anonymous shared mapping both processes inherit.
        guard let sync = scenario.channel(named: sync) else {
            let known = scenario.channels.map(\.name).joined(separator: ", ")
            throw fail("sync", "no channel named \"\(self.sync)\" (channels: \(known.isEmpty ? "none" : known))")
        }
        guard case .sharedMemory(let region) = sync.spec, region.type == .anonymous, region.mapping == .shared else {
            throw fail("sync", "must name an anonymous shared-memory channel with a shared mapping (the phase's barrier and ring); \"\(self.sync)\" is not")
        }
        guard region.size >= Bounds.syncBytes else {
            throw fail("sync", "\"\(self.sync)\" must be at least \(Bounds.syncBytes) bytes (a \(Bounds.controlBytes)-byte control block and a page of ring), not \(region.size)")
        }

        // The data channel, and the way back.
        if let kind = mechanism.channelKind {
            guard let name = channel else { throw fail("channel", "is required: \(mechanism.rawValue) needs \(kind)") }
            guard let c = scenario.channel(named: name), mechanism.accepts(c.spec) else {
                throw fail("channel", "\(mechanism.rawValue) needs \(kind); \"\(name)\" is not")
            }
            if case .messageQueue(.posix(_, _, let size, _)) = c.spec {
                if case .send(let t) = self, t.chunkBytes > size {
                    throw fail("chunk_bytes", "must be at most the queue's message_size (\(size)), not \(t.chunkBytes)")
                }
                if case .receive(let t) = self, t.chunkBytes > size {
                    throw fail("chunk_bytes", "must be at most the queue's message_size (\(size)), not \(t.chunkBytes)")
                }
                if case .ping = self, size < Bounds.messageBytes {
                    throw fail("channel", "the queue's message_size must hold a \(Bounds.messageBytes)-byte message, not \(size)")
                }
            }
        } else if channel != nil {
            throw fail("channel", "\(mechanism.rawValue) uses no channel of its own (it works in the sync region)")
        }
        if mechanism.needsReply && (bench == "latency") {
            guard let name = reply else { throw fail("reply", "is required: \(mechanism.rawValue) is one-way, the pongs need a second channel") }
            guard let c = scenario.channel(named: name), mechanism.accepts(c.spec) else {
                throw fail("reply", "\(mechanism.rawValue) needs \(mechanism.channelKind ?? "") for the way back; \"\(name)\" is not")
            }
            guard name != channel else { throw fail("reply", "must be another channel than \"channel\"") }
            if case .messageQueue(.posix(_, _, let size, _)) = c.spec, size < Bounds.messageBytes {
                throw fail("reply", "the queue's message_size must hold a \(Bounds.messageBytes)-byte message, not \(size)")
            }
        } else if reply != nil {
            throw fail("reply", "is only for a latency phase over a pipe or a POSIX queue")
        }

        // The other side: exactly one other process with bench steps on this sync region, whose
        // bench steps mirror this process's one for one (the phases meet at barriers, in order).
        func benchSteps(_ p: Int) -> [BenchStep] {
            scenario.processes[p].steps.compactMap { if case .bench(let b) = $0 { b } else { nil } }
        }
        let mine = benchSteps(process)
        if let other = mine.first(where: { $0.sync != self.sync }) {
            throw fail("sync", "a process's bench steps must all use one sync region (\"\(self.sync)\" and \"\(other.sync)\")")
        }
        let peers = scenario.processes.indices.filter { $0 != process && benchSteps($0).contains { $0.sync == self.sync } }
        guard peers.count == 1, let peer = peers.first else {
            throw fail("op", peers.isEmpty
                ? "\(op) needs a \(counterpart) step in another process (the other side of the phase)"
                : "only two processes may run bench steps on \"\(self.sync)\", not \(peers.count + 1)")
        }
        let theirs = benchSteps(peer)
        guard mine.count == theirs.count, zip(mine, theirs).allSatisfy({ $0.mirrored == $1.unplaced }) else {
            throw fail("op", "\(op) must meet a \(counterpart) with the same fields at the same place among \(scenario.processes[peer].name)'s bench steps")
        }
        if mechanism == .unixStream && process != 0 && peer != 0 {
            // A socketpair's sv[0] is the first process's; every other process holds sv[1].
            throw fail("mechanism", "unix_stream over a socketpair needs the first process as one side")
        }
    }
}
