/// The catalog observations a C program run's trace carries: each found by the shape of the
/// program's events (a program's processes are `pipe`, `pipe.1`…, its pipes `pipe1`…), bound to the
/// preset's roles and computed by the preset's own code (``ObservationBinding``), exactly as a check
/// of kind `observation` with those roles would compute it. An observation is carried only when its
/// shape is in the events; it then holds or not, with its evidence and why, as for a preset's run.
///
/// What the interposer cannot see limits what can be carried: plain loads and stores in shared
/// memory make no events, and queue depths and segment states are not snapshotted in programs, so
/// no shared-memory or queue-depth observation has a shape here; a socket connection is named only
/// where its two ends are certain (the sandbox's `ProgramConnections`).
/// Some shapes are the run's: a semaphore wait that found the value 0 happens only when the wait
/// came before the post.
public enum ProgramObservations {
    /// A preset's observations as found in a program's events: the roles (preset name → the
    /// trace's name), the parameters the rule reads, and which of the preset's observations apply.
    struct Match {
        var roles: [String: String]
        var params: [String: JSONValue] = [:]
        var observations: [String]
    }

    /// One preset's shape: nil when the events do not have it.
    struct Shape: Sendable {
        var preset: String
        /// Every observation the shape can give (a subset is carried, by ``match``).
        var observations: [String]
        var match: @Sendable (Trace) -> Match?
    }

    static let shapes: [Shape] = [pipeHello, pipeEOF, fifoMet, signalHandshake, queuePriority, semaphoreSlept, unixStream]

    /// How many candidates (channels, queues, semaphores, killers, connections) a shape tries, in the
    /// order they first appear: each try reads the whole trace, and a program (or a forged ring) can
    /// name hundreds of thousands of them. A shape found only past these is not carried.
    public static let maxCandidates = 16

    /// Every observation a program run can carry.
    public static var observable: [String] { shapes.flatMap(\.observations) }

    /// The observations whose shape `trace` (a program run's) has, computed by their presets.
    public static func observe(_ trace: Trace, catalog: Catalog = .standard) -> [Observation] {
        shapes.flatMap { shape -> [Observation] in
            guard let preset = catalog.preset(shape.preset), let m = shape.match(trace) else { return [] }
            let params = Parameters(values: Parameters.defaults(for: preset.experiment).values.merging(m.params) { $1 })
            return m.observations.compactMap { id in
                try? ObservationBinding(id: id, preset: preset, roles: m.roles, parameters: params).observation(on: trace, run: nil).get()
            }
        }
    }

    // MARK: - Shapes

    /// The channels of a kind (`pipe`, `fifo`) the events name, in the order they first appear.
    /// At most ``maxCandidates`` of them.
    static func channels(_ trace: Trace, prefix: String) -> [String] {
        distinct(trace.events.lazy.compactMap { e in e.channel.flatMap { $0.hasPrefix(prefix) ? $0 : nil } })
    }

    /// The first ``maxCandidates`` distinct values of `values`, in order (reading no further).
    static func distinct<S: Sequence>(_ values: S) -> [S.Element] where S.Element: Hashable {
        var seen: Set<S.Element> = [], out: [S.Element] = []
        for v in values where seen.insert(v).inserted {
            out.append(v)
            if out.count == maxCandidates { break }
        }
        return out
    }

    static func transfers(_ trace: Trace, _ call: PipeCall, on channel: String) -> [TraceEvent] {
        trace.calls(.pipes(call), on: channel)
    }

    /// pipe.hello: a child writes a pipe that its parent reads.
    static let pipeHello = Shape(preset: "pipe.hello", observations: ["pipe.hello.message_received", "pipe.hello.parent_waited"]) { trace in
        for pipe in channels(trace, prefix: "pipe") {
            let readers = Set(transfers(trace, .read, on: pipe).map(\.process))
            for w in transfers(trace, .write, on: pipe) where (w.result ?? 0) > 0 {
                guard let parent = trace.process(w.process)?.parent, readers.contains(parent) else { continue }
                return Match(roles: ["parent": parent, "child": w.process, "pfds": pipe],
                             observations: ["pipe.hello.message_received", "pipe.hello.parent_waited"])
            }
        }
        return nil
    }

    /// pipe.eof: a process reads a pipe another writes, until its last read returned 0 or never
    /// returned (one that stopped reading on its own shows nothing about end of file).
    static let pipeEOF = Shape(preset: "pipe.eof", observations: ["pipe.eof.read_returns_zero"]) { trace in
        for pipe in channels(trace, prefix: "pipe") {
            guard let last = transfers(trace, .read, on: pipe).last, !last.returned || last.result == 0,
                  let writer = transfers(trace, .write, on: pipe).first(where: { $0.process != last.process && ($0.result ?? 0) > 0 })
            else { continue }
            return Match(roles: ["reader": last.process, "writer": writer.process, "p": pipe], observations: ["pipe.eof.read_returns_zero"])
        }
        return nil
    }

    /// fifo.unrelated's meeting: one process opens a FIFO to read, another to write, and writes it.
    static let fifoMet = Shape(preset: "fifo.unrelated", observations: ["fifo.unrelated.met_by_path"]) { trace in
        for fifo in channels(trace, prefix: "fifo") {
            let opens = trace.calls(.fifos(.open), on: fifo)
            guard let r = opens.first(where: { $0.string(.end) == "read" }),
                  let w = opens.first(where: { $0.string(.end) == "write" && $0.process != r.process }) else { continue }
            let wrote = trace.calls(.pipes(.write), by: w.process, on: fifo).filter { ($0.result ?? 0) > 0 }
            guard !wrote.isEmpty else { continue }
            // The rule compares what was read with its `message`: what the writer wrote, when every
            // write's bytes are in the trace; else only the count (longer than a preview, never compared).
            let previews = wrote.compactMap(\.payload)
            let whole = previews.count == wrote.count && previews.allSatisfy { !$0.truncated }
            let bytes = whole ? previews.flatMap(\.preview) : Array(repeating: UInt8(ascii: "?"), count: Int(wrote.bytesMoved))
            guard whole ? bytes.count <= 64 : bytes.count > 64, let text = String(validating: bytes, as: UTF8.self) else { continue }
            return Match(roles: ["reader": r.process, "writer": w.process, "f": fifo], params: ["message": .string(text)],
                         observations: ["fifo.unrelated.met_by_path"])
        }
        return nil
    }

    /// signal.handshake: a process kills another that installed (or inherited) a handler for the
    /// signal; the answer is the rule's only when the receiver sends it from inside its handler.
    static let signalHandshake = Shape(preset: "signal.handshake",
                                       observations: ["signal.handshake.b_received", "signal.handshake.a_acknowledged"]) { trace in
        let installs = trace.events.filter { ($0.call == "sigaction" || $0.call == "signal") && $0.string(.handler) == "handler" && $0.result == 0 }
        func ancestors(_ name: String) -> [String] {
            var out = [name]
            while let p = trace.process(out.last!)?.parent, !out.contains(p) { out.append(p) }
            return out
        }
        // The rule reads A's first kill: each process's first, of the first processes that kill.
        var killers: Set<String> = [], firstKills: [TraceEvent] = []
        for k in trace.calls(.signals(.kill)) where killers.insert(k.process).inserted {
            firstKills.append(k)
            if firstKills.count == maxCandidates { break }
        }
        for k in firstKills where k.result == 0 {
            // A signal the rule can name.
            guard let signal = k.string(.signal), Signal(parsing: signal) != nil,
                  let b = k.string(.process), b != k.process, trace.process(b) != nil else { continue }
            let line = ancestors(b)
            guard installs.contains(where: { $0.string(.signal) == signal && line.contains($0.process) && $0.tNs < k.tNs }) else { continue }
            var params: [String: JSONValue] = ["signal": .string(signal)]
            var ids = ["signal.handshake.b_received"]
            if let answer = trace.calls(.signals(.kill), by: b).first(where: { $0.arg(.fromHandler) == true }),
               answer.string(.process) == k.process, let ack = answer.string(.signal), Signal(parsing: ack) != nil {
                params["ack_signal"] = .string(ack)
                ids.append("signal.handshake.a_acknowledged")
            }
            return Match(roles: ["a": k.process, "b": b], params: params, observations: ids)
        }
        return nil
    }

    /// mq.posix's order: a POSIX queue (named by its name) that received messages of two or more
    /// priorities, and gave some back.
    static let queuePriority = Shape(preset: "mq.posix", observations: ["mq.posix.highest_priority_first"]) { trace in
        for q in distinct(trace.events.lazy.filter { $0.call == MessageQueueCall.mqSend.name }.compactMap(\.channel)) {
            let sends = trace.queueSends(on: q).filter { $0.result == 0 }
            guard Set(sends.compactMap(\.messageTag)).count >= 2, !trace.queueReceives(on: q).isEmpty else { continue }
            return Match(roles: ["q": q], observations: ["mq.posix.highest_priority_first"])
        }
        return nil
    }

    /// sem.mutex's sleeping: a process's wait on a named semaphore (named by its name) found it at 0,
    /// and another process posted it.
    static let semaphoreSlept = Shape(preset: "sem.mutex", observations: ["sem.mutex.waiters_slept"]) { trace in
        for s in distinct(trace.events.lazy.filter { $0.call.hasPrefix("sem_") }.compactMap(\.channel)) {
            let posters = Set(trace.semaphorePosts(on: s).filter { $0.result == 0 }.map(\.process))
            guard trace.semaphoreWaits(on: s).contains(where: { w in w.int(.valueBefore) == 0 && posters.contains { $0 != w.process } })
            else { continue }
            return Match(roles: ["mutex": s], observations: ["sem.mutex.waiters_slept"])
        }
        return nil
    }

    /// socket.unix_stream: a connection on a Unix-domain path (named `sock1`…) whose connecting side
    /// wrote bytes that the other side received. The client is the connecting process; the server,
    /// the other side's process that received on it. Two-way only when the server also wrote back.
    static let unixStream = Shape(preset: "socket.unix_stream",
                                  observations: ["socket.unix_stream.bytes_conserved", "socket.unix_stream.two_way"]) { trace in
        let connects = trace.events.lazy.filter { $0.call == "connect" && $0.result == 0 }
        for c in connects.prefix(maxCandidates) {
            guard case .string(let address)? = c.arg(.addr), address.hasPrefix("/"), let s = c.channel else { continue }
            let sent = trace.socketSends(on: s, by: c.process).filter { ($0.result ?? 0) > 0 }
            guard !sent.isEmpty, let server = trace.socketReceives(on: s).first(where: { $0.process != c.process })?.process else { continue }
            var ids = ["socket.unix_stream.bytes_conserved"]
            if trace.socketSends(on: s, by: server).contains(where: { ($0.result ?? 0) > 0 }) { ids.append("socket.unix_stream.two_way") }
            return Match(roles: ["client": c.process, "server": server, "s": s], observations: ids)
        }
        return nil
    }
}
