/// Queries the checks are written with.
extension Trace {
    /// The calls that take data out of a channel: reads, receives, and loads from shared memory.
    static let receivingCalls: Set<String> = ["read", "recv", "recvfrom", "recvmsg", "msgrcv", "mq_receive", "load"]

    /// What `process` took out of `channel`, in order: the receiving calls that returned data.
    /// A byte stream's end of file (a read of 0 bytes) took nothing and is left out; a load or a
    /// message of 0 bytes is kept.
    public func received(by process: String, on channel: String) -> [TraceEvent] {
        events.filter { e in
            guard e.process == process, e.channel == channel, Self.receivingCalls.contains(e.call),
                  let result = e.result, e.returned, result >= 0 else { return false }
            return result > 0 || ["load", "msgrcv", "mq_receive"].contains(e.call)
        }
    }

    /// "the scenario has no process …" when it lacks `process`.
    func missing(process: String) -> String? {
        scenario.processIndex(named: process) == nil && self.process(process) == nil
            ? "the scenario has no process \"\(process)\" (it has \(scenario.processes.map { "\"\($0.name)\"" }.joined(separator: ", ")))"
            : nil
    }

    /// "the scenario has no channel …" when it lacks `channel`.
    func missing(channel: String) -> String? {
        scenario.channel(named: channel) == nil
            ? "the scenario has no channel \"\(channel)\"" + (scenario.channels.isEmpty ? "" : " (it has \(scenario.channels.map { "\"\($0.name)\"" }.joined(separator: ", ")))")
            : nil
    }

    func missing(_ match: CheckMatch) -> String? {
        match.process.flatMap { missing(process: $0) } ?? match.channel.flatMap { missing(channel: $0) }
    }

    /// When the run did not end ok and every process still alive at its end was blocked in a call
    /// that never returned (a sleep does not count: it ends by itself), those calls; else nil.
    /// A process that was killed at the end while not in a call was running: no deadlock.
    public var deadlockedAtEnd: [TraceEvent]? {
        guard run.outcome != .ok else { return nil }
        var blocked: [TraceEvent] = []
        for p in processes {
            let open = events.filter { $0.process == p.name && !$0.returned && $0.canBlock }
            if let call = open.last {
                if call.call == "nanosleep" { return nil }
                blocked.append(call)
                continue
            }
            // Not in a call at the end: either it had ended by itself, or it was running.
            switch p.exit {
            case .code?: continue
            case .signal(let name, _)? where name != "SIGKILL": continue
            default: return nil
            }
        }
        return blocked.isEmpty ? nil : blocked
    }
}
