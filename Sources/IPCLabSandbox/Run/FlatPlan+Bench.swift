import CIPCLab
import IPCLabCore

/// Measurement steps as ops of the flat plan: the fields Participant+Bench.swift puts in its
/// `ipclab_bench_spec` (the C side: participant_bench.c). Only the mechanisms whose channels the C
/// runner has so far (pipe, shm_ring, signal, semaphore, with pipes or FIFOs for data and replies);
/// a socket or message-queue mechanism keeps the step, and so the run, on the Swift runner.
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
        case .ping(let t), .pong(let t):
            s = Self.op(step.initiates ? IPCLAB_OP_BENCH_PING : IPCLAB_OP_BENCH_PONG)
            s.n.0 = Int64(t.roundTrips)
            (mechanism, channel, reply, sync, cpu) = (t.mechanism, t.channel, t.reply, t.sync, t.cpu)
        }
        guard [.pipe, .shmRing, .signal, .semaphore].contains(mechanism) else { throw refused }
        // The sync region: the Swift participant takes the address of whatever channel has that name.
        s.channel = channelIndex(sync)
        guard case .sharedMemory? = spec(s.channel) else { throw refused }
        s.n.2 = Int64(mechanism.number)
        s.n.3 = Int64(cpu ?? -1)
        s.reserved.0 = -1
        s.reserved.1 = -1
        if let channel {
            s.reserved.0 = Int32(channelIndex(channel))
            guard case .pipe? = spec(Int16(s.reserved.0)) else { throw refused }
        }
        if let reply {
            s.reserved.1 = Int32(channelIndex(reply))
            guard mechanism == .pipe, case .pipe? = spec(Int16(s.reserved.1)) else { throw refused }
        }
        return s
    }

    /// The spec of channel `i`; nil when there is none (channelIndex gives 0 for a name no channel has).
    private func spec(_ i: Int16) -> ChannelSpec? {
        scenario.channels.indices.contains(Int(i)) ? scenario.channels[Int(i)].spec : nil
    }
}
