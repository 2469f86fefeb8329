import CIPCLab
import IPCLabCore

/// Measurement steps as ops of the flat plan: the fields Participant+Bench.swift puts in its
/// `ipclab_bench_spec` (the C side: participant_bench.c), over every mechanism. The data and reply
/// channels must be of the kind the mechanism moves data through (as BenchStep+Check.swift asks of a
/// scenario, and runner_plan.c's validator of a plan): a step built in code that names another kind
/// keeps the run on the Swift runner, which takes whatever channel has that name.
extension FlatPlan.Writer {
    func compile(_ step: BenchStep, process: String, index: Int) throws(FlatPlan.Refusal) -> ipclab_plan_step {
        let refused = FlatPlan.Refusal.step(process: process, index: index, op: step.op)
        let (mechanism, channel, reply, sync, cpu): (BenchMechanism, String?, String?, String, Int?)
        var s: ipclab_plan_step
        switch step {
        case .send(let t), .receive(let t):
            s = Self.op(step.initiates ? IPCLAB_OP_BENCH_SEND : IPCLAB_OP_BENCH_RECEIVE)
            s.n.0 = Int64(t.totalBytes)
            s.n.1 = Int64(t.chunkBytes)
            (mechanism, channel, reply, sync, cpu) = (t.mechanism, t.channel, nil, t.sync, t.cpu)
            guard BenchMechanism.throughput.contains(mechanism) else { throw refused }
        case .ping(let t), .pong(let t):
            s = Self.op(step.initiates ? IPCLAB_OP_BENCH_PING : IPCLAB_OP_BENCH_PONG)
            s.n.0 = Int64(t.roundTrips)
            (mechanism, channel, reply, sync, cpu) = (t.mechanism, t.channel, t.reply, t.sync, t.cpu)
        }
        // The sync region: the Swift participant takes the address of whatever channel has that name.
        s.channel = channelIndex(sync)
        guard case .sharedMemory? = spec(s.channel) else { throw refused }
        s.n.2 = Int64(mechanism.number)
        s.n.3 = Int64(cpu ?? -1)
        s.reserved.0 = -1
        s.reserved.1 = -1
        // A channel exactly where the mechanism has one (a reply: latency over a pipe or a queue), of its kind.
        let replies = step.bench == "latency" && (mechanism == .pipe || mechanism == .posixMQ)
        guard (channel != nil) == Self.carries(mechanism), (reply != nil) == replies else { throw refused }
        if let channel {
            s.reserved.0 = Int32(channelIndex(channel))
            guard Self.fits(spec(Int16(s.reserved.0)), mechanism, step) else { throw refused }
        }
        if let reply {
            s.reserved.1 = Int32(channelIndex(reply))
            guard s.reserved.1 != s.reserved.0, Self.fits(spec(Int16(s.reserved.1)), mechanism, step) else { throw refused }
        }
        return s
    }

    /// Whether the mechanism moves data through a channel of its own (the others work in the sync region).
    private static func carries(_ m: BenchMechanism) -> Bool {
        [.pipe, .unixStream, .tcp, .posixMQ].contains(m)
    }

    /// Whether `spec` is a channel `m` moves `step`'s data through: a pipe (or FIFO), a stream socketpair,
    /// a TCP socket, a POSIX queue whose messages hold a chunk (throughput) or a 64-byte message (latency).
    private static func fits(_ spec: ChannelSpec?, _ m: BenchMechanism, _ step: BenchStep) -> Bool {
        switch (m, spec) {
        case (.pipe, .pipe?), (.unixStream, .socket(.socketpair(.stream))?), (.tcp, .socket(.tcp)?): return true
        case (.posixMQ, .messageQueue(.posix(_, _, let size, _))?):
            if case .send(let t) = step { return t.chunkBytes <= size }
            if case .receive(let t) = step { return t.chunkBytes <= size }
            return size >= BenchStep.Bounds.messageBytes
        default: return false
        }
    }

    /// The spec of channel `i`; nil when there is none (channelIndex gives 0 for a name no channel has).
    private func spec(_ i: Int16) -> ChannelSpec? {
        scenario.channels.indices.contains(Int(i)) ? scenario.channels[Int(i)].spec : nil
    }
}
