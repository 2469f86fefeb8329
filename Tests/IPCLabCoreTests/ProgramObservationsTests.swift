import IPCLabCore
import Testing

/// The catalog observations a C program's trace carries, found by the shape of its events and
/// computed by the presets' own rules: processes named as a program names them (`prog`, `prog.1`),
/// channels as a program's are (`pipe1`, `fifo2`, a queue's own name).
@Suite("Program observations")
struct ProgramObservationsTests {
    /// A program run's trace: one program `prog` and the children it forked.
    static func trace(_ events: [TraceEvent], children: Int = 1) -> Trace {
        let processes = [TraceProcess(name: "prog", pid: 10, parent: nil, exit: .code(0), userCPUNs: nil, systemCPUNs: nil)]
            + (0..<children).map { i in
                TraceProcess(name: "prog.\(i + 1)", pid: Int32(11 + i), parent: "prog", exit: .code(0), userCPUNs: nil, systemCPUNs: nil)
            }
        return Trace(run: RunInfo(id: "1", experiment: nil, startedAt: "x", durationNs: 50_000_000, outcome: .ok, reason: nil,
                                  limits: RunLimits(), sandbox: SandboxReport(namespaces: [], setup: []), eventsDropped: 0),
                     scenario: ProgramSpec.scenario(of: [ProgramSpec(name: "prog", source: "x")]),
                     processes: processes, events: events, objects: [])
    }

    static func e(_ seq: Int, _ process: String, _ call: String, _ args: [(String, JSONValue)], t: Int64, end: Int64? = nil,
                  result: Int64?, data: String? = nil) -> TraceEvent {
        TraceEvent(seq: seq, tNs: t * 1_000_000, endNs: (end ?? t) * 1_000_000 + 1000, process: process,
                   pid: process == "prog" ? 10 : Int32(10 + Int(process.split(separator: ".").last!)!), step: nil, call: call, args: args,
                   result: result, errno: nil, canBlock: true, payload: data.map { Payload(bytes: $0.utf8.count, preview: Array($0.utf8)) })
    }

    static func pipeCall(_ seq: Int, _ process: String, _ call: String, end: String, t: Int64, until: Int64? = nil,
                         result: Int64?, data: String? = nil) -> TraceEvent {
        e(seq, process, call, [("fd", 3), ("channel", "pipe1"), ("end", .string(end))], t: t, end: until, result: result, data: data)
    }

    /// The gallery's pipe program: the child writes, the parent reads to end of file, then waits.
    static func pipeProgram(parentClosesWriteEnd: Bool = true, waits: Bool = true) -> Trace {
        var events = [
            e(1, "prog", "pipe", [("fds", [3, 4]), ("channel", "pipe1")], t: 1, result: 0),
            e(2, "prog", "fork", [("child", "prog.1")], t: 2, result: 11),
            pipeCall(3, "prog.1", "close", end: "read", t: 3, result: 0),
            pipeCall(4, "prog.1", "write", end: "write", t: 4, result: 6, data: "hello\n"),
            pipeCall(5, "prog.1", "close", end: "write", t: 5, result: 0),
        ]
        if parentClosesWriteEnd { events.append(pipeCall(6, "prog", "close", end: "write", t: 6, result: 0)) }
        events.append(pipeCall(7, "prog", "read", end: "read", t: 7, result: 6, data: "hello\n"))
        // Without closing its own write end, the parent's second read never returns.
        events.append(parentClosesWriteEnd ? pipeCall(8, "prog", "read", end: "read", t: 8, result: 0)
                      : TraceEvent(seq: 8, tNs: 8_000_000, endNs: nil, process: "prog", pid: 10, step: nil, call: "read",
                                   args: [("fd", 3), ("channel", "pipe1"), ("end", "read")], result: nil, errno: nil, canBlock: true, payload: nil))
        if waits {
            events.append(e(9, "prog", "waitpid", [("pid", 11), ("process", "prog.1"), ("status", ["code": 0]), ("options", 0)], t: 9, result: 11))
        }
        return trace(events.enumerated().map { i, ev in var ev = ev; ev.seq = i + 1; return ev })
    }

    static func found(_ t: Trace) -> [String: Observation] {
        Dictionary(uniqueKeysWithValues: ProgramObservations.observe(t).map { ($0.id, $0) })
    }

    @Test("a child writing a pipe its parent reads to end of file: pipe.hello's and pipe.eof's observations, holding")
    func pipeHolds() {
        let o = Self.found(Self.pipeProgram())
        #expect(Set(o.keys) == ["pipe.hello.message_received", "pipe.hello.parent_waited", "pipe.eof.read_returns_zero"])
        #expect(o.values.allSatisfy { $0.holds }, "\(o.values.map { $0.detail })")
        #expect(o["pipe.hello.parent_waited"]?.detail.hasPrefix("waitpid returned the child's pid 11") == true)
        #expect(o["pipe.eof.read_returns_zero"]?.evidence == [1, 5, 6, 8])
        #expect(o["pipe.eof.read_returns_zero"]?.detail.contains("roles: p = pipe1, reader = prog, writer = prog.1") == true)
        // The claim is the preset's own.
        #expect(o["pipe.eof.read_returns_zero"]?.claim == "read returns 0 (end of file) once every write end of the pipe is closed.")
    }

    @Test("the same shape where the behaviour did not happen: holds false, and says why")
    func pipeFails() {
        let o = Self.found(Self.pipeProgram(parentClosesWriteEnd: false, waits: false))
        let eof = o["pipe.eof.read_returns_zero"]
        #expect(eof?.holds == false && eof?.detail.contains("never closed its own write end") == true, "\(String(describing: eof))")
        #expect(o["pipe.hello.parent_waited"]?.holds == false)
        #expect(o["pipe.hello.message_received"]?.holds == true)
    }

    @Test("a reader that stops on its own shows nothing about end of file: pipe.eof is not carried")
    func noEOFShape() {
        var t = Self.pipeProgram()
        t.events.removeAll { $0.call == "read" && $0.result == 0 }
        #expect(Self.found(t)["pipe.eof.read_returns_zero"] == nil)
    }

    @Test("a program with no matching shape carries none")
    func nothing() {
        let t = Self.trace([
            Self.e(1, "prog", "shmget", [("key", "0x0"), ("size", 4096), ("channel", .null)], t: 1, result: 0),
            Self.e(2, "prog", "fork", [("child", "prog.1")], t: 2, result: 11),
            // A pipe only the parent uses: no writer in another process.
            Self.e(3, "prog", "pipe", [("fds", [3, 4]), ("channel", "pipe1")], t: 3, result: 0),
            Self.pipeCall(4, "prog", "write", end: "write", t: 4, result: 2, data: "hi"),
            Self.pipeCall(5, "prog", "read", end: "read", t: 5, result: 2, data: "hi"),
        ])
        #expect(ProgramObservations.observe(t).isEmpty)
    }

    @Test("a kill into a handler the receiver inherited: signal.handshake.b_received; the answer only from a handler")
    func signals() {
        func kill(_ seq: Int, _ from: String, _ to: String, _ pid: Int64, _ signal: String, t: Int64, fromHandler: Bool) -> TraceEvent {
            Self.e(seq, from, "kill", [("pid", .integer(pid)), ("signal", .string(signal)), ("process", .string(to)), ("from_handler", .bool(fromHandler))],
              t: t, result: 0)
        }
        func deliver(_ seq: Int, _ to: String, _ signal: String, from pid: Int64, t: Int64) -> TraceEvent {
            Self.e(seq, to, "deliver", [("signal", .string(signal)), ("si_pid", .integer(pid)), ("handled", 1)], t: t, result: 0)
        }
        let install = [Self.e(1, "prog", "sigaction", [("signal", "SIGUSR1"), ("handler", "handler")], t: 1, result: 0),
                       Self.e(2, "prog", "sigaction", [("signal", "SIGUSR2"), ("handler", "handler")], t: 2, result: 0),
                       Self.e(3, "prog", "fork", [("child", "prog.1")], t: 3, result: 11)]
        let fromMain = Self.found(Self.trace(install + [kill(4, "prog", "prog.1", 11, "SIGUSR1", t: 4, fromHandler: false),
                                                        deliver(5, "prog.1", "SIGUSR1", from: 10, t: 5),
                                                        kill(6, "prog.1", "prog", 10, "SIGUSR2", t: 6, fromHandler: false),
                                                        deliver(7, "prog", "SIGUSR2", from: 11, t: 7)]))
        #expect(Set(fromMain.keys) == ["signal.handshake.b_received"])
        #expect(fromMain["signal.handshake.b_received"]?.holds == true && fromMain["signal.handshake.b_received"]?.evidence == [4, 5])
        let fromHandler = Self.found(Self.trace(install + [kill(4, "prog", "prog.1", 11, "SIGUSR1", t: 4, fromHandler: false),
                                                           deliver(5, "prog.1", "SIGUSR1", from: 10, t: 5),
                                                           kill(6, "prog.1", "prog", 10, "SIGUSR2", t: 6, fromHandler: true),
                                                           deliver(7, "prog", "SIGUSR2", from: 11, t: 7)]))
        #expect(fromHandler["signal.handshake.a_acknowledged"]?.holds == true)
        // Delivered from someone else: the shape is there, the claim (siginfo names the sender) is not.
        let forged = Self.found(Self.trace(install + [kill(4, "prog", "prog.1", 11, "SIGUSR1", t: 4, fromHandler: false),
                                                      deliver(5, "prog.1", "SIGUSR1", from: 99, t: 5)]))
        #expect(forged["signal.handshake.b_received"]?.holds == false)
        // No handler for the signal anywhere in the receiver's line: no shape.
        let noHandler = Self.found(Self.trace([Self.e(1, "prog", "fork", [("child", "prog.1")], t: 1, result: 11),
                                               kill(2, "prog", "prog.1", 11, "SIGTERM", t: 2, fromHandler: false)]))
        #expect(noHandler.isEmpty)
    }

    @Test("a queue given messages of several priorities: mq.posix.highest_priority_first, holding or not as received")
    func queue() {
        func send(_ seq: Int, _ text: String, _ prio: Int64) -> TraceEvent {
            Self.e(seq, "prog.1", "mq_send", [("mqdes", 3), ("msg_len", .integer(Int64(text.utf8.count))), ("msg_prio", .integer(prio)), ("channel", "/q")],
              t: Int64(seq), result: 0, data: text)
        }
        func receive(_ seq: Int, _ text: String, _ prio: Int64) -> TraceEvent {
            Self.e(seq, "prog", "mq_receive", [("mqdes", 3), ("msg_len", 64), ("channel", "/q"), ("msg_prio", .integer(prio))],
              t: Int64(seq), result: Int64(text.utf8.count), data: text)
        }
        let sends = [send(1, "low", 1), send(2, "high", 9), send(3, "mid", 5)]
        let right = Self.found(Self.trace(sends + [receive(4, "high", 9), receive(5, "mid", 5), receive(6, "low", 1)]))
        #expect(right["mq.posix.highest_priority_first"]?.holds == true)
        #expect(right["mq.posix.highest_priority_first"]?.evidence == [1, 2, 3, 4, 5, 6])
        let wrong = Self.found(Self.trace(sends + [receive(4, "low", 1), receive(5, "high", 9), receive(6, "mid", 5)]))
        #expect(wrong["mq.posix.highest_priority_first"]?.holds == false)
        // One priority only: nothing to order, no shape.
        #expect(Self.found(Self.trace([send(1, "a", 0), send(2, "b", 0), receive(3, "a", 0)])).isEmpty)
    }

    @Test("a wait on a named semaphore that found 0 until another process posted: sem.mutex.waiters_slept")
    func semaphore() {
        func sem(_ seq: Int, _ process: String, _ call: String, before: Int64, t: Int64, end: Int64) -> TraceEvent {
            Self.e(seq, process, call, [("sem", "0x7f00"), ("value_before", .integer(before)), ("channel", "/ready")], t: t, end: end, result: 0)
        }
        let slept = Self.found(Self.trace([sem(1, "prog", "sem_wait", before: 0, t: 1, end: 5), sem(2, "prog.1", "sem_post", before: 0, t: 4, end: 4)]))
        #expect(slept["sem.mutex.waiters_slept"]?.holds == true && slept["sem.mutex.waiters_slept"]?.evidence == [1, 2])
        // The rule names no process roles: the detail names the program's own processes.
        #expect(slept["sem.mutex.waiters_slept"]?.detail.hasPrefix("prog waited 4.") == true && slept["sem.mutex.waiters_slept"]?.detail.contains("until prog.1 posted (roles: mutex = /ready)") == true,
                "\(String(describing: slept["sem.mutex.waiters_slept"]?.detail))")
        // The post came first (the wait found 1): no shape, nothing carried.
        #expect(Self.found(Self.trace([sem(1, "prog.1", "sem_post", before: 0, t: 1, end: 1), sem(2, "prog", "sem_wait", before: 1, t: 2, end: 2)])).isEmpty)
        // Found 0, but returned before the other's post began: the shape, not the behaviour.
        let early = Self.found(Self.trace([sem(1, "prog", "sem_wait", before: 0, t: 1, end: 2), sem(2, "prog.1", "sem_post", before: 1, t: 3, end: 3)]))
        #expect(early["sem.mutex.waiters_slept"]?.holds == false)
    }

    @Test("a Unix-domain connection whose client wrote what the server read: bytes_conserved; two_way when the server answered")
    func unixStream() {
        func io(_ seq: Int, _ process: String, _ call: String, _ text: String) -> TraceEvent {
            Self.e(seq, process, call, [("fd", 3), ("count", 64), ("channel", "sock1")], t: Int64(seq), result: Int64(text.utf8.count), data: text)
        }
        let connect = Self.e(1, "prog.1", "connect", [("sockfd", 3), ("addr", "/tmp/s"), ("channel", "sock1")], t: 1, result: 0)
        let both = Self.found(Self.trace([connect, io(2, "prog.1", "write", "ping"), io(3, "prog", "read", "ping"),
                                          io(4, "prog", "write", "pong"), io(5, "prog.1", "read", "pong")]))
        #expect(Set(both.keys) == ["socket.unix_stream.bytes_conserved", "socket.unix_stream.two_way"])
        #expect(both.values.allSatisfy { $0.holds }, "\(both.values.map { $0.detail })")
        #expect(both["socket.unix_stream.bytes_conserved"]?.detail.contains("roles: client = prog.1, s = sock1, server = prog") == true)
        // Bytes lost on the way (the server read fewer): the shape is there, the claim is not.
        let lost = Self.found(Self.trace([connect, io(2, "prog.1", "write", "ping"), io(3, "prog", "read", "pi")]))
        #expect(Set(lost.keys) == ["socket.unix_stream.bytes_conserved"] && lost["socket.unix_stream.bytes_conserved"]?.holds == false)
        // A connection the trace could not name (channel null): no shape.
        var unnamed = Self.trace([connect, io(2, "prog.1", "write", "ping"), io(3, "prog", "read", "ping")])
        unnamed = unnamed.renamed(["sock1": "x"])
        unnamed.events = unnamed.events.map { e in var e = e; e.args = e.args.map { $0.0 == "channel" ? ($0.0, .null) : $0 }; return e }
        #expect(Self.found(unnamed).isEmpty)
    }

    @Test("a shape is looked for among the first maxCandidates pipes only: a program (or a forged ring) with thousands costs the server no more")
    func boundedCandidates() {
        func withDecoys(_ n: Int) -> Trace {
            var t = Self.pipeProgram()
            // Reads of pipes nobody writes: no shape, but candidates, appearing before the program's pipe.
            let decoys = (0..<n).map { i in Self.e(i + 1, "prog", "read", [("fd", 9), ("channel", .string("pipe\(100 + i)")), ("end", "read")],
                                                   t: 0, result: 0) }
            t.events = decoys + t.events.map { e in var e = e; e.seq += n; return e }
            return t
        }
        let within = Self.found(withDecoys(ProgramObservations.maxCandidates - 1))
        #expect(within["pipe.hello.message_received"]?.holds == true, "\(within.keys)")
        #expect(Self.found(withDecoys(ProgramObservations.maxCandidates)).isEmpty)
    }

    @Test("the gallery lists only observations a program run can carry")
    func galleryListsCarriable() {
        let observable = Set(ProgramObservations.observable)
        for entry in ProgramGallery.standardEntries {
            for o in entry.observations { #expect(observable.contains(o), "\(entry.id): \(o)") }
        }
    }
}
