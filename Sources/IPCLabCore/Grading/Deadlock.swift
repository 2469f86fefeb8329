/// Why a run ended as a deadlock: `run.deadlock` `{"blocked": [{process, call, channel, since_ms}], "explanation"}`.
///
/// Built from the trace alone: the calls that never returned are the ones the run's init saw blocked
/// when it ended the run, and the processes that had ended are those with an exit status.
public struct Deadlock: Sendable, Equatable {
    public struct Blocked: Sendable, Equatable {
        public var process: String
        public var call: String
        public var channel: String?
        public var sinceMs: Double

        public init(process: String, call: String, channel: String?, sinceMs: Double) {
            self.process = process
            self.call = call
            self.channel = channel
            self.sinceMs = sinceMs
        }
    }

    public var blocked: [Blocked]
    public var explanation: String

    /// The deadlock the trace shows: its unfinished calls and who had already ended.
    public init(events: [TraceEvent], processes: [TraceProcess]) {
        let open = events.filter { !$0.returned && $0.call != "exit" }
        blocked = open.map { Blocked(process: $0.process, call: $0.call, channel: $0.channel, sinceMs: Double($0.tNs) / 1e6) }
        let waiting = Set(open.map(\.process))
        let ended = processes.filter { !waiting.contains($0.name) }.map(\.name)
        let who = open.map { e -> String in
            let on = e.channel.map { " \($0)" } ?? ""
            let what: String
            switch e.call {
            case "read" where e.channel != nil:
                // Who still holds a write end: processes still there that never closed theirs.
                let holders = processes.filter { p in
                    (waiting.contains(p.name) || p.exit == nil)
                        && !events.contains { $0.process == p.name && $0.is(.pipes(.close)) && $0.channel == e.channel && $0.string(.end) == "write" }
                }.map(\.name)
                what = "reads\(on): " + (holders == [e.process] ? "its only open write end is \(e.process)'s own"
                    : holders.isEmpty ? "no process left running can write to it"
                    : "its write ends are held by \(holders.joined(separator: ", ")), blocked too")
            case "read", "msgrcv", "mq_receive": what = "reads\(on): no process left running can write to it"
            case "write", "msgsnd", "mq_send": what = "writes\(on), which is full: no process left running reads it"
            case "open", "openat": what = "opens\(on): no process left running opens its other end"
            case "sem_wait", "semop": what = "waits on\(on): no process left running can post it"
            case "wait4", "waitpid": what = "waits for a child that is blocked too"
            default: what = "is blocked in \(e.call)\(on)"
            }
            return "\(e.process) \(what)"
        }
        explanation = "every live process is blocked for good: " + who.joined(separator: "; ")
            + (ended.isEmpty ? "" : " (\(ended.joined(separator: ", ")) had ended)")
    }

    public var json: JSONValue {
        .object([
            "blocked": .array(blocked.map { b in
                .object(["process": .string(b.process), "call": .string(b.call), "channel": b.channel.map { .string($0) } ?? .null,
                         "since_ms": .double((b.sinceMs * 1000).rounded() / 1000)])
            }),
            "explanation": .string(explanation),
        ])
    }
}
