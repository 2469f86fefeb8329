import IPCLabCore
import Testing

/// Each check kind on synthetic traces: what passes, what fails, and what the message says.
@Suite("Grading checks")
struct GradingCheckTests {
    /// `parent` reads pipe `p` that `child` writes; `parent` waits for `child`.
    static func trace(outcome: Outcome = .ok, events: [TraceEvent], childExit: TraceProcess.Exit? = .code(0),
                      parentExit: TraceProcess.Exit? = .code(0)) -> Trace {
        Trace(run: RunInfo(id: "1", experiment: nil, startedAt: "x", durationNs: 50_000_000, outcome: outcome,
                           reason: outcome == .ok ? nil : "the wall-clock limit ran out", limits: RunLimits(),
                           sandbox: SandboxReport(namespaces: [], setup: []), eventsDropped: 0),
              scenario: Scenario(channels: [Channel.pipe("p")],
                                 processes: [ProcessSpec(name: "parent", steps: []), ProcessSpec(name: "child", steps: [])]),
              processes: [TraceProcess(name: "parent", pid: 2, parent: nil, exit: parentExit, userCPUNs: nil, systemCPUNs: nil),
                          TraceProcess(name: "child", pid: 3, parent: "parent", exit: childExit, userCPUNs: nil, systemCPUNs: nil)],
              events: events, objects: [])
    }

    static func event(_ seq: Int, _ process: String, _ call: String, t: Int64, end: Int64?, result: Int64?, data: String? = nil,
                      errno: String? = nil, canBlock: Bool = true) -> TraceEvent {
        TraceEvent(seq: seq, tNs: t * 1_000_000, endNs: end.map { $0 * 1_000_000 }, process: process, pid: process == "parent" ? 2 : 3,
                   step: nil, call: call, args: [("channel", .string("p"))], result: result, errno: errno, canBlock: canBlock,
                   payload: data.map { Payload(bytes: $0.utf8.count, preview: Array($0.utf8)) })
    }

    /// The child writes "item 1", "item 2"; the parent reads both, then end of file.
    static let good = trace(events: [
        event(1, "child", "write", t: 1, end: 2, result: 6, data: "item 1", canBlock: false),
        event(2, "parent", "read", t: 1, end: 3, result: 6, data: "item 1"),
        event(3, "child", "write", t: 4, end: 5, result: 6, data: "item 2", canBlock: false),
        event(4, "parent", "read", t: 4, end: 6, result: 6, data: "item 2"),
        event(5, "parent", "read", t: 7, end: 20, result: 0),
    ])

    static func check(_ text: String) throws -> Check {
        try Check.decode(try JSONValue.parse(Array(text.utf8)), at: JSONPath("checks[0]"), catalog: .standard)
    }

    @Test("outcome: passes on the outcome asked for, and says what it was otherwise")
    func outcome() throws {
        let c = try Self.check(#"{"id": "o", "kind": "outcome", "is": "ok"}"#)
        #expect(c.evaluate(Self.good).passed)
        let r = c.evaluate(Self.trace(outcome: .timeout, events: []))
        #expect(!r.passed && r.points == 0 && r.maxPoints == 1)
        #expect(r.message.contains("ended timeout") && r.message.contains("expected ok"), "\(r.message)")
    }

    @Test("exit: a code or a signal; a missing process fails with a message")
    func exit() throws {
        #expect(try Self.check(#"{"id": "e", "kind": "exit", "process": "child", "code": 0}"#).evaluate(Self.good).passed)
        let killed = Self.trace(events: [], childExit: .signal(name: "SIGUSR1", coreDumped: false))
        let r = try Self.check(#"{"id": "e", "kind": "exit", "process": "child", "code": 0}"#).evaluate(killed)
        #expect(!r.passed && r.message == "child was killed by SIGUSR1 (expected exit code 0)", "\(r.message)")
        #expect(try Self.check(#"{"id": "e", "kind": "exit", "process": "child", "signal": "SIGUSR1"}"#).evaluate(killed).passed)
        let missing = try Self.check(#"{"id": "e", "kind": "exit", "process": "worker", "code": 0}"#).evaluate(Self.good)
        #expect(!missing.passed && missing.message.contains("no process \"worker\""), "\(missing.message)")
    }

    @Test("call: counts matches with every field of the match")
    func call() throws {
        let reads = try Self.check(#"{"id": "c", "kind": "call", "match": {"process": "parent", "call": "read", "channel": "p"}, "count": {"min": 3, "max": 3}}"#)
        let r = reads.evaluate(Self.good)
        #expect(r.passed && r.evidence == [2, 4, 5], "\(r.message)")
        let eof = try Self.check(#"{"id": "c", "kind": "call", "match": {"call": "read", "result": 0}}"#).evaluate(Self.good)
        #expect(eof.passed && eof.evidence == [5])
        let data = try Self.check(#"{"id": "c", "kind": "call", "match": {"call": "read", "data_contains": "item 2"}}"#).evaluate(Self.good)
        #expect(data.evidence == [4])
        let slow = try Self.check(#"{"id": "c", "kind": "call", "match": {"call": "read", "blocked_ms_at_least": 10}}"#).evaluate(Self.good)
        #expect(slow.evidence == [5])
        let tooMany = try Self.check(#"{"id": "c", "kind": "call", "match": {"call": "read"}, "count": {"max": 2}}"#).evaluate(Self.good)
        #expect(!tooMany.passed && tooMany.message.contains("3 calls matched read") && tooMany.message.contains("expected 1…2"), "\(tooMany.message)")
        let noChannel = try Self.check(#"{"id": "c", "kind": "call", "match": {"call": "read", "channel": "q"}}"#).evaluate(Self.good)
        #expect(!noChannel.passed && noChannel.message.contains("no channel \"q\""), "\(noChannel.message)")
    }

    @Test("no_call: passes when nothing matches, else names what did")
    func noCall() throws {
        #expect(try Self.check(#"{"id": "n", "kind": "no_call", "match": {"call": "read", "errno": "EPIPE"}}"#).evaluate(Self.good).passed)
        let r = try Self.check(#"{"id": "n", "kind": "no_call", "match": {"call": "write", "process": "child"}}"#).evaluate(Self.good)
        #expect(!r.passed && r.evidence == [1, 3] && r.message.contains("expected none"))
    }

    @Test("order: the first match returns before the other starts")
    func order() throws {
        let ok = try Self.check(#"{"id": "o", "kind": "order", "first": {"call": "write", "data_contains": "item 1"}, "then": {"call": "write", "data_contains": "item 2"}}"#)
        #expect(ok.evaluate(Self.good).passed)
        let bad = try Self.check(#"{"id": "o", "kind": "order", "first": {"call": "read", "result": 0}, "then": {"call": "write"}}"#).evaluate(Self.good)
        #expect(!bad.passed && bad.evidence == [5, 1] && bad.message.contains("before read"), "\(bad.message)")
        let none = try Self.check(#"{"id": "o", "kind": "order", "first": {"call": "kill"}, "then": {"call": "write"}}"#).evaluate(Self.good)
        #expect(!none.passed && none.message == "no kill call was made")
    }

    @Test("received: the C strings taken out, in order; end of file takes nothing")
    func received() throws {
        let ok = try Self.check(#"{"id": "r", "kind": "received", "process": "parent", "channel": "p", "data": ["item 1", "item 2"]}"#)
        let r = ok.evaluate(Self.good)
        #expect(r.passed && r.evidence == [2, 4], "\(r.message)")
        let wrong = try Self.check(#"{"id": "r", "kind": "received", "process": "parent", "channel": "p", "data": ["item 1", "item 3"], "hint": "look"}"#)
            .evaluate(Self.good)
        #expect(!wrong.passed && wrong.hint == "look")
        #expect(wrong.message == #"parent received "item 1", "item 2" from p; #2 was "item 2", expected "item 3""#, "\(wrong.message)")
        let short = try Self.check(#"{"id": "r", "kind": "received", "process": "parent", "channel": "p", "data": ["item 1", "item 2", "item 3"]}"#)
            .evaluate(Self.good)
        #expect(!short.passed && short.message.contains("1 missing after 2"), "\(short.message)")
    }

    @Test("no_deadlock: fails only when every live process was blocked at the end")
    func noDeadlock() throws {
        let c = try Self.check(#"{"id": "d", "kind": "no_deadlock"}"#)
        #expect(c.evaluate(Self.good).passed)
        let stuck = Self.trace(outcome: .timeout, events: [
            Self.event(1, "child", "write", t: 1, end: 2, result: 6, data: "item 1", canBlock: false),
            Self.event(2, "parent", "read", t: 1, end: 3, result: 6, data: "item 1"),
            Self.event(3, "parent", "read", t: 4, end: nil, result: nil),
        ], parentExit: .signal(name: "SIGKILL", coreDumped: false))
        let r = c.evaluate(stuck)
        #expect(!r.passed && r.evidence == [3] && r.message.contains("parent in read on p"), "\(r.message)")
        // A process killed at the end while not in a call was running: not a deadlock.
        let busy = Self.trace(outcome: .timeout, events: [Self.event(1, "parent", "read", t: 4, end: nil, result: nil)],
                              childExit: .signal(name: "SIGKILL", coreDumped: false), parentExit: .signal(name: "SIGKILL", coreDumped: false))
        #expect(c.evaluate(busy).passed)
        // A sleep ends by itself.
        let sleeping = Self.trace(outcome: .timeout, events: [Self.event(1, "parent", "nanosleep", t: 4, end: nil, result: nil)])
        #expect(c.evaluate(sleeping).passed)
    }

    @Test("a deadlock says who waits for what, and no_deadlock fails on it")
    func deadlock() throws {
        let events = [
            Self.event(1, "child", "write", t: 1, end: 2, result: 6, data: "item 1", canBlock: false),
            Self.event(2, "parent", "read", t: 1, end: 3, result: 6, data: "item 1"),
            Self.event(3, "parent", "read", t: 4, end: nil, result: nil),
        ]
        var t = Self.trace(outcome: .deadlock, events: events, parentExit: .signal(name: "SIGKILL", coreDumped: false))
        let found = Deadlock(events: t.events, processes: t.processes)
        #expect(found.blocked == [Deadlock.Blocked(process: "parent", call: "read", channel: "p", sinceMs: 4)])
        #expect(found.explanation == "every live process is blocked for good: parent reads p: its only open write end is parent's own (child had ended)",
                "\(found.explanation)")
        t.run.deadlock = found
        let r = try Self.check(#"{"id": "d", "kind": "no_deadlock"}"#).evaluate(t)
        #expect(!r.passed && r.evidence == [3] && r.message.hasPrefix("the run ended in a deadlock: "), "\(r.message)")
        // The parent closed its own write end: then the child's is the one that stays open.
        let closed = [TraceEvent(seq: 1, tNs: 0, endNs: 1, process: "parent", pid: 2, step: 0, call: "close",
                                 args: [("channel", .string("p")), ("end", .string("write"))], result: 0, errno: nil,
                                 canBlock: false, payload: nil),
                      Self.event(2, "parent", "read", t: 4, end: nil, result: nil),
                      Self.event(3, "child", "sem_wait", t: 4, end: nil, result: nil)]
        let both = Deadlock(events: closed, processes: Self.trace(events: [], childExit: nil, parentExit: nil).processes)
        #expect(both.explanation.contains("parent reads p: its write ends are held by child, blocked too"), "\(both.explanation)")
        #expect(both.explanation.contains("child waits on p: no process left running can post it"), "\(both.explanation)")
    }

    @Test("observation: a role bound to a name the scenario lacks fails and says so")
    func observationMissingRole() throws {
        let c = try Self.check(#"{"id": "pipe.eof.read_returns_zero", "kind": "observation", "roles": {"reader": "parent", "writer": "producer"}}"#)
        let r = c.evaluate(Self.good)
        #expect(!r.passed && r.message.contains("no process \"producer\" (bound to the role writer)"), "\(r.message)")
    }

    @Test("a malformed check is an error at its path")
    func malformed() throws {
        func list(_ text: String) throws -> [Check] {
            try Check.decodeList(try JSONValue.parse(Array(text.utf8)), at: JSONPath().key("checks"), catalog: .standard)
        }
        expectLabError(.invalidRequest, path: "checks[1].match.call") {
            try list(#"[{"id": "a", "kind": "no_deadlock"}, {"id": "b", "kind": "call", "match": {"process": "x"}}]"#)
        }
        expectLabError(.invalidRequest, path: "checks[1].id", message: "used twice") {
            try list(#"[{"id": "a", "kind": "no_deadlock"}, {"id": "a", "kind": "no_deadlock"}]"#)
        }
        expectLabError(.invalidRequest, path: "checks[0].kind") { try list(#"[{"id": "a", "kind": "maybe"}]"#) }
        expectLabError(.invalidRequest, path: "checks[0].id", message: "no catalog observation") {
            try list(#"[{"id": "nope", "kind": "observation"}]"#)
        }
        expectLabError(.invalidRequest, path: "checks[0].roles.producer", message: "no role") {
            try list(#"[{"id": "pipe.eof.read_returns_zero", "kind": "observation", "roles": {"producer": "p"}}]"#)
        }
        expectLabError(.invalidParameter, path: "checks[0].params.items") {
            try list(#"[{"id": "sem.producer_consumer.all_in_order", "kind": "observation", "params": {"items": 0}}]"#)
        }
        expectLabError(.unknownField, path: "checks[0].count") { try list(#"[{"id": "a", "kind": "no_deadlock", "count": 1}]"#) }
        expectLabError(.invalidRequest, path: "checks[0].code") { try list(#"[{"id": "a", "kind": "exit", "process": "p"}]"#) }
    }

    @Test("a trace with checks carries checks, score and max_score")
    func traceJSON() throws {
        var t = Self.good
        t.checks = [try Self.check(#"{"id": "o", "kind": "outcome", "is": "ok", "points": 2}"#).evaluate(t),
                    try Self.check(#"{"id": "x", "kind": "outcome", "is": "timeout"}"#).evaluate(t)]
        guard case .object(let root) = try JSONValue.parse(t.json()) else { Issue.record("not an object"); return }
        #expect(root["score"] == .integer(2) && root["max_score"] == .integer(3))
        guard case .array(let checks)? = root["checks"], case .object(let first)? = checks.first else { Issue.record("no checks"); return }
        #expect(first["id"] == .string("o") && first["passed"] == .bool(true) && first["evidence"] == .array([]))
        let text = t.text()
        #expect(text.contains("# check ✓ o [2/2]: the run ended ok") && text.contains("# check ✗ x [0/1]") && text.hasSuffix("# score 2/3\n"),
                "\(text)")
    }
}
