import Glibc
import IPCLabCore
import IPCLabSandbox
import Testing

/// The signal presets, run for real with their defaults and with other parameters: what the
/// handlers recorded from inside themselves, what the kernel answered, and how processes ended.
@Suite("Signal presets", .serialized)
struct SignalRunTests {
    // MARK: Defaults

    @Test("signal.handshake: b's handler gets SIGUSR1 from a and answers SIGUSR2, which a's handler sees")
    func handshake() async throws {
        let trace = try await run("signal.handshake")
        expectWentWell(trace)
        let a = try #require(trace.process("a")).pid
        let b = try #require(trace.process("b")).pid
        let got = try #require(trace.deliveries(to: "b", of: .sigusr1).first, "\(describe(trace))")
        #expect(got.string(.siCode) == "SI_USER")
        #expect(got.int(.siPid) == Int64(a))
        #expect(got.string(.sender) == "a")
        let answer = try #require(trace.calls(.signals(.kill), by: "b").first)
        #expect(answer.arg(.fromHandler) == true)
        #expect(answer.result == 0)
        #expect(answer.int(.pid) == Int64(a))
        #expect(answer.step == 0, "made by the handler installed at b's step 0")
        let ack = try #require(trace.deliveries(to: "a", of: .sigusr2).first)
        #expect(ack.int(.siPid) == Int64(b))
        #expect(got.seq < answer.seq && answer.seq < ack.seq, "delivery, answer, acknowledgement: in that order")
    }

    @Test("signal.sigqueue: sival_int 42 arrives with SI_QUEUE, the sender's pid and uid")
    func sigqueue() async throws {
        let trace = try await run("signal.sigqueue")
        expectWentWell(trace)
        let got = try #require(trace.deliveries(to: "receiver").first, "\(describe(trace))")
        #expect(got.string(.signal) == "SIGRTMIN")
        #expect(got.string(.siCode) == "SI_QUEUE")
        #expect(got.sivalInt == 42)
        #expect(got.int(.siPid) == Int64(trace.process("sender")?.pid ?? -1))
        let send = try #require(trace.calls(.signals(.sigqueue), by: "sender").first)
        #expect(got.int(.siUid) == send.int(.uid))
        #expect(send.result == 0)
    }

    @Test("signal.pointer, before_fork false: the address arrives, but nothing is mapped there in the receiver")
    func pointerAfterFork() async throws {
        let trace = try await run("signal.pointer", params: ["before_fork": false])
        // valid_after_fork is false by design here (no buffer existed before fork); asserted below.
        expectWentWell(trace, scheduling: ["signal.pointer.valid_after_fork"])
        let mmap = try #require(trace.calls(.sharedMemory(.mmap), by: "sender").first, "\(describe(trace))")
        let got = try #require(trace.deliveries(to: "receiver").first)
        #expect(got.sivalPtr == "0x" + String(UInt64(mmap.result ?? 0), radix: 16), "the buffer's address is what arrived")
        let read = try #require(trace.calls(.sharedMemory(.processVmReadv), by: "receiver").first)
        #expect(read.errno == "EFAULT", "\(read.args)")
        #expect(trace.observations.map(\.holds) == [true, true, false], "\(trace.observations.map(\.detail))")
    }

    @Test("signal.pointer (defaults): a buffer there before fork is valid in the receiver and holds its own bytes")
    func pointerBeforeFork() async throws {
        let trace = try await run("signal.pointer", params: ["text": "the sender's", "receiver_text": "mine"])
        expectWentWell(trace)
        let send = try #require(trace.calls(.signals(.sigqueue), by: "sender").first, "\(describe(trace))")
        #expect(send.string(.buffer) == "static" && trace.calls(.sharedMemory(.mmap), by: "sender").isEmpty)
        let got = try #require(trace.deliveries(to: "receiver").first)
        let store = try #require(trace.calls(.sharedMemory(.store), by: "receiver").first)
        #expect(store.string(.address) == got.sivalPtr, "the receiver's copy is at the address the sender sent")
        let read = try #require(trace.calls(.sharedMemory(.processVmReadv), by: "receiver").first)
        #expect(read.errno == nil && read.cString == "mine", "\(read.args)")
        #expect(trace.observations.allSatisfy { $0.holds }, "\(trace.observations.map(\.detail))")
    }

    @Test("signal.permissions: another uid gets EPERM; the same uid with another gid is delivered")
    func permissions() async throws {
        let trace = try await run("signal.permissions")
        expectWentWell(trace)
        #expect(trace.calls(.signals(.setresuid)).count == 3 && trace.calls(.signals(.setresuid)).allSatisfy { $0.result == 0 }, "\(describe(trace))")
        let refused = try #require(trace.calls(.signals(.kill), by: "other_uid").first)
        #expect(refused.result == -1 && refused.errno == "EPERM")
        let allowed = try #require(trace.calls(.signals(.kill), by: "other_gid").first)
        #expect(allowed.result == 0)
        let got = trace.deliveries(to: "target", of: .sigusr1)
        #expect(got.count == 1 && got.first?.int(.siPid) == Int64(trace.process("other_gid")?.pid ?? -1))
        #expect(trace.observations.allSatisfy { $0.holds }, "\(trace.observations.map(\.detail))")
    }

    @Test("setresuid to an id the run's user namespace does not map fails with EINVAL")
    func unmappedUid() async throws {
        let scenario = #"{"processes": [{"name": "p", "steps": [{"op": "setresuid", "uid": 7}]}]}"#
        let trace = try await run(scenario: scenario, wallMs: 2000)
        let call = try #require(trace.calls(.signals(.setresuid), by: "p").first, "\(describe(trace))")
        #expect(call.result == -1 && call.errno == "EINVAL")
    }

    @Test("signal.coalescing: 10 SIGUSR1 while blocked are delivered once; 10 SIGRTMIN ten times, in order")
    func coalescing() async throws {
        let trace = try await run("signal.coalescing")
        expectWentWell(trace)
        #expect(trace.calls(.signals(.kill), by: "sender").filter { $0.result == 0 }.count == 10)
        #expect(trace.deliveries(to: "receiver", of: .sigusr1).count == 1, "\(describe(trace))")
        let rt = trace.deliveries(to: "receiver", of: .sigrtmin)
        #expect(rt.compactMap(\.sivalInt) == Array(1...10))
        let pending = try #require(trace.calls(.signals(.sigpending), by: "receiver").first)
        #expect(pending.arg(.set) == ["SIGUSR1", "SIGRTMIN"])
        // Every delivery happened inside the sigprocmask call that unblocked them.
        let unblock = try #require(trace.calls(.signals(.sigprocmask), by: "receiver").last)
        for d in trace.deliveries(to: "receiver") {
            #expect(d.tNs >= unblock.tNs && d.tNs <= (unblock.endNs ?? 0))
        }
    }

    @Test("signal.blocked: sigpending lists SIGUSR1 and it is delivered inside the unblocking sigprocmask")
    func blocked() async throws {
        let trace = try await run("signal.blocked")
        expectWentWell(trace)
        let pending = try #require(trace.calls(.signals(.sigpending), by: "receiver").first)
        #expect(pending.arg(.set) == ["SIGUSR1"])
        let got = try #require(trace.deliveries(to: "receiver").first)
        #expect(got.tNs > pending.tNs)
    }

    @Test("signal.dispositions: SIGTERM's default action kills the target; /proc saw it sleeping first")
    func dispositions() async throws {
        let trace = try await run("signal.dispositions")
        expectWentWell(trace, except: ["target"])
        #expect(trace.process("target")?.exit == .signal(name: "SIGTERM", coreDumped: false), "\(describe(trace))")
        #expect(["S", "R"].contains(trace.processStates(of: "target").first?.label("state")), "alive before the signal")
        #expect(trace.processStates(of: "target").last?.label("state") == "Z", "dead, not yet waited for, after it")
        let chld = try #require(trace.deliveries(to: "parent", of: .sigchld).first)
        #expect(chld.string(.siCode) == "CLD_KILLED")
        #expect(chld.string(.statusSignal) == "SIGTERM")
    }

    @Test("signal.sigint: the handler runs and calls exit(-1) as the seed's int_handler does: status 255")
    func sigint() async throws {
        let trace = try await run("signal.sigint")
        #expect(trace.run.outcome == .ok)
        #expect(trace.process("program")?.exit == .code(255), "\(describe(trace))")
        #expect(trace.calls(.signals(.sigaction), by: "program").first?.int(.exit) == 255)
        #expect(trace.observations.allSatisfy { $0.holds }, "\(trace.observations.map(\.detail))")
    }

    @Test("signal.sigint with a returning handler: nanosleep returns EINTR, and the program exits 0")
    func sigintReturning() async throws {
        let trace = try await run("signal.sigint", params: ["handler_returns": true])
        expectWentWell(trace)
        let sleep = try #require(trace.calls(.process(.nanosleep), by: "program").first)
        #expect(sleep.errno == "EINTR", "\(describe(trace))")
        #expect((sleep.blockedNs ?? .max) < 900_000_000, "cut short, not the full second")
        #expect(trace.observations.allSatisfy { $0.holds }, "\(trace.observations.map(\.detail))")
    }

    @Test("signal.sigchld: CLD_EXITED with status 7; the child is Z until wait4, then gone")
    func sigchld() async throws {
        let trace = try await run("signal.sigchld")
        expectWentWell(trace, except: ["child"])
        #expect(trace.process("child")?.exit == .code(7))
        let states = trace.processStates(of: "child")
        #expect(states.map { $0.label("state") ?? $0.label("errno") ?? "?" } == ["Z", "ENOENT"], "\(describe(trace))")
        let got = try #require(trace.deliveries(to: "parent").first)
        #expect(got.int(.siStatus) == 7)
        #expect(got.int(.siPid) == Int64(trace.process("child")?.pid ?? -1))
    }

    @Test("signal.fault: SIGSEGV and SIGFPE kill the children; the fault calls never return")
    func fault() async throws {
        let trace = try await run("signal.fault")
        expectWentWell(trace, except: ["segv", "fpe"])
        guard case .signal("SIGSEGV", _)? = trace.process("segv")?.exit else {
            Issue.record("segv \(trace.ending(of: "segv")): \(describe(trace))")
            return
        }
        guard case .signal("SIGFPE", _)? = trace.process("fpe")?.exit else {
            Issue.record("fpe \(trace.ending(of: "fpe"))")
            return
        }
        #expect(trace.calls(.signals(.fault)).allSatisfy { !$0.returned })
    }

    @Test("signal.stop_cont: S, then T after SIGSTOP (CLD_STOPPED), then not T after SIGCONT (CLD_CONTINUED)")
    func stopCont() async throws {
        let trace = try await run("signal.stop_cont")
        expectWentWell(trace)
        let states = trace.processStates(of: "worker").compactMap { $0.label("state") }
        #expect(states.count == 3 && states[1] == "T" && states[2] != "T", "\(states): \(describe(trace))")
        let codes = trace.deliveries(to: "parent").compactMap { $0.string(.siCode) }
        #expect(codes.prefix(2) == ["CLD_STOPPED", "CLD_CONTINUED"], "then CLD_EXITED when it finishes: \(codes)")
    }

    // MARK: Other parameters

    @Test("handshake without b's handler: SIGUSR1 kills b, no answer; both observations say why")
    func handshakeWithoutHandler() async throws {
        let trace = try await run("signal.handshake", params: ["install_handler": false])
        #expect(trace.run.outcome == .ok)
        #expect(trace.process("b")?.exit == .signal(name: "SIGUSR1", coreDumped: false))
        #expect(trace.observations.map(\.holds) == [false, false])
        expectCited(trace)
        #expect(trace.observations[1].detail.contains("killed by SIGUSR1"), "\(trace.observations[1].detail)")
        // a waited for an answer until its timeout: ppoll returned 0.
        #expect(trace.calls(.signals(.ppoll), by: "a").last?.result == 0)
    }

    @Test("handshake with SIGRTMIN+1 and SIGUSR1 as the answer")
    func handshakeOtherSignals() async throws {
        let trace = try await run("signal.handshake", params: ["signal": "SIGRTMIN+1", "ack_signal": 10])
        expectWentWell(trace)
        #expect(trace.deliveries(to: "b").first?.string(.signal) == "SIGRTMIN+1")
        #expect(trace.deliveries(to: "a").first?.string(.signal) == "SIGUSR1")
    }

    @Test("sigqueue with kill instead: SI_USER and no value, so value_carried does not hold")
    func sigqueueWithKill() async throws {
        let trace = try await run("signal.sigqueue", params: ["send_with": "kill", "value": -9])
        #expect(trace.run.outcome == .ok)
        let got = try #require(trace.deliveries(to: "receiver").first)
        #expect(got.string(.siCode) == "SI_USER")
        #expect(got.arg(.siValue) == .null)
        #expect(trace.observations.map(\.holds) == [false, true], "\(trace.observations.map(\.detail))")
        expectCited(trace)
    }

    @Test("sigqueue with another value and a standard signal: still carried")
    func sigqueueOtherValue() async throws {
        let trace = try await run("signal.sigqueue", params: ["signal": "SIGUSR2", "value": -123456])
        expectWentWell(trace)
        #expect(trace.deliveries(to: "receiver").first?.sivalInt == -123456)
    }

    @Test("coalescing unblocked: every SIGUSR1 is delivered, so standard_merged reports false with evidence")
    func coalescingUnblocked() async throws {
        let trace = try await run("signal.coalescing", params: ["blocked": false, "count": 5])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(trace.deliveries(to: "receiver", of: .sigusr1).count == 5)
        let merged = try #require(trace.observations.first)
        #expect(merged.holds == false)
        #expect(!merged.evidence.isEmpty)
        #expect(merged.detail.contains("not blocked"), "\(merged.detail)")
        #expect(trace.observations[1].holds, "real-time signals still arrive once each, in order")
    }

    @Test("coalescing with SIGUSR2, SIGRTMIN+5 and 3 sends")
    func coalescingOtherSignals() async throws {
        let trace = try await run("signal.coalescing", params: ["signal": "SIGUSR2", "rt_signal": "SIGRTMIN+5", "count": 3])
        expectWentWell(trace)
        #expect(trace.deliveries(to: "receiver", of: .sigusr2).count == 1)
        #expect(trace.deliveries(to: "receiver", of: Signal(parsing: "SIGRTMIN+5")).compactMap(\.sivalInt) == [1, 2, 3])
    }

    @Test("blocked with block false: delivered at once, nothing pending; both observations false")
    func notBlocked() async throws {
        let trace = try await run("signal.blocked", params: ["block": false])
        #expect(trace.run.outcome == .ok)
        #expect(trace.calls(.signals(.sigpending), by: "receiver").first?.arg(.set) == [])
        #expect(trace.observations.map(\.holds) == [false, false], "\(trace.observations.map(\.detail))")
        expectCited(trace)
    }

    @Test("dispositions: SIGKILL cannot be ignored — sigaction says EINVAL and SIGKILL kills")
    func sigkillCannotBeIgnored() async throws {
        let trace = try await run("signal.dispositions", params: ["signal": "SIGKILL", "disposition": "ignore"])
        expectWentWell(trace, except: ["target"])
        let set = try #require(trace.calls(.signals(.sigaction), by: "target").first)
        #expect(set.result == -1 && set.errno == "EINVAL")
        #expect(trace.process("target")?.exit == .signal(name: "SIGKILL", coreDumped: false))
    }

    @Test("dispositions: SIGSTOP stops (T), SIGCONT continues, the target exits 0")
    func sigstopDefault() async throws {
        let trace = try await run("signal.dispositions", params: ["signal": "SIGSTOP"])
        expectWentWell(trace)
        #expect(trace.processStates(of: "target").compactMap { $0.label("state") }.contains("T"), "\(describe(trace))")
    }

    @Test("dispositions: SIGTERM ignored or handled does not kill", arguments: ["ignore", "handle"])
    func sigtermIgnoredOrHandled(_ disposition: String) async throws {
        let trace = try await run("signal.dispositions", params: ["signal": "SIGTERM", "disposition": .string(disposition)])
        expectWentWell(trace)
        #expect(trace.deliveries(to: "target").count == (disposition == "handle" ? 1 : 0))
    }

    @Test("dispositions: SIGQUIT's default action is Core; core_dumped is what the kernel said")
    func sigquitCore() async throws {
        let trace = try await run("signal.dispositions", params: ["signal": "SIGQUIT"])
        expectWentWell(trace, except: ["target"])
        guard case .signal("SIGQUIT", _)? = trace.process("target")?.exit else {
            Issue.record("target \(trace.ending(of: "target"))")
            return
        }
    }

    @Test("sigint without a handler: SIGINT terminates the program")
    func sigintWithoutHandler() async throws {
        let trace = try await run("signal.sigint", params: ["handler": false, "sleep_ms": 2000])
        #expect(trace.run.outcome == .ok)
        #expect(trace.process("program")?.exit == .signal(name: "SIGINT", coreDumped: false))
        #expect(trace.observations.map(\.holds) == [false, false])
        expectCited(trace)
        #expect(trace.calls(.process(.nanosleep), by: "program").first?.returned == false)
    }

    @Test("sigchld ignored: no zombie — /proc says ENOENT at once and wait4 fails with ECHILD")
    func sigchldIgnored() async throws {
        let trace = try await run("signal.sigchld", params: ["disposition": "ignore", "exit_code": 3])
        #expect(trace.run.outcome == .ok)
        #expect(trace.processStates(of: "child").first?.label("errno") == "ENOENT", "\(describe(trace))")
        #expect(trace.calls(.process(.wait4), by: "parent").first?.errno == "ECHILD")
        #expect(trace.observations.map(\.holds) == [false, false])
        expectCited(trace)
    }

    @Test("sigchld default: no handler runs, but the zombie stays until wait4")
    func sigchldDefault() async throws {
        let trace = try await run("signal.sigchld", params: ["disposition": "default", "exit_code": 0])
        #expect(trace.run.outcome == .ok)
        #expect(trace.observations.map(\.holds) == [false, true], "\(trace.observations.map(\.detail))")
        expectCited(trace)
    }

    @Test("fault with handlers: SEGV_MAPERR at 0x0 and FPE_INTDIV, and both children live on")
    func faultHandled() async throws {
        let trace = try await run("signal.fault", params: ["handle": true])
        expectWentWell(trace)
        let segv = try #require(trace.deliveries(to: "segv").first, "\(describe(trace))")
        #expect(segv.string(.siCode) == "SEGV_MAPERR")
        #expect(segv.string(.siAddr) == "0x0")
        let fpe = try #require(trace.deliveries(to: "fpe").first)
        #expect(fpe.string(.siCode) == "FPE_INTDIV")
        #expect(trace.calls(.signals(.fault)).map(\.result) == [11, 8] || trace.calls(.signals(.fault)).map(\.result) == [8, 11])
    }

    @Test("stop_cont with SIGTSTP: the kernel's answer decides, and the observation reports it")
    func stopWithTstp() async throws {
        let trace = try await run("signal.stop_cont", params: ["stop_signal": "SIGTSTP", "hold_ms": 10])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        let stopped = try #require(trace.observations.first)
        let tSeen = trace.processStates(of: "worker").contains { $0.label("state") == "T" }
        #expect(stopped.holds == tSeen, "\(stopped.detail)")
    }

    @Test("stop_cont with SIGUSR1: the worker is killed, not stopped; both observations false")
    func stopWithUsr1() async throws {
        let trace = try await run("signal.stop_cont", params: ["stop_signal": "SIGUSR1"])
        #expect(trace.process("worker")?.exit == .signal(name: "SIGUSR1", coreDumped: false))
        #expect(trace.observations.map(\.holds) == [false, false])
        expectCited(trace)
    }

    // MARK: Signals stay inside the run

    @Test("signals reach only the run's own processes: every kill targets a pid of this run, and a host process survives")
    func signalsStayInTheRun() async throws {
        // A host process whose pid a scenario could not name even if it knew it.
        let canary = try HostCanary()
        defer { canary.stop() }
        let text = #"""
        {"processes": [
          {"name": "first", "steps": [{"op": "kill", "process": "second", "signal": "SIGKILL"},
                                       {"op": "wait", "process": "second"},
                                       {"op": "kill", "process": "second", "signal": "SIGKILL"},
                                       {"op": "kill", "process": "first", "signal": "SIGKILL"}]},
          {"name": "second", "steps": [{"op": "sleep", "ms": 2000}]}]}
        """#
        let trace = try await run(scenario: text, wallMs: 3000)
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        let pids = Set(trace.processes.map(\.pid))
        let kills = trace.calls(.signals(.kill))
        #expect(kills.count == 3)
        #expect(kills.allSatisfy { pids.contains(Int32($0.int(.pid) ?? -1)) }, "every target is a pid of the run's own namespace")
        #expect(pids.allSatisfy { $0 > 1 && $0 < 100 }, "namespace pids: \(pids)")
        // The second kill targets a process that is gone: the run's PID namespace answers ESRCH.
        #expect(kills[1].errno == "ESRCH")
        #expect(trace.process("first")?.exit == .signal(name: "SIGKILL", coreDumped: false))
        #expect(canary.alive, "the host process is untouched")
    }
}

/// Like `expectWentWell`, but `except` processes may end by a signal (it is what the preset shows).
func expectWentWell(_ trace: Trace, except: Set<String>, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(trace.run.outcome == .ok, "\(describe(trace))", sourceLocation: sourceLocation)
    #expect(trace.run.eventsDropped == 0, sourceLocation: sourceLocation)
    let expected = trace.run.experiment.flatMap { Catalog.standard.preset($0)?.experiment.observations }
    #expect(trace.observations.map(\.id) == expected, sourceLocation: sourceLocation)
    for o in trace.observations {
        #expect(o.holds, "\(o.id): \(o.detail)", sourceLocation: sourceLocation)
        #expect(!o.evidence.isEmpty, "\(o.id) cites no events", sourceLocation: sourceLocation)
        #expect(o.evidence.allSatisfy { (1...trace.events.count).contains($0) }, sourceLocation: sourceLocation)
    }
    for p in trace.processes where !except.contains(p.name) {
        #expect(p.exit == .code(0), "\(p.name) ended \(String(describing: p.exit))", sourceLocation: sourceLocation)
    }
}

/// Every observation is there and cites events of the trace, whether it holds or not.
func expectCited(_ trace: Trace, sourceLocation: SourceLocation = #_sourceLocation) {
    let expected = trace.run.experiment.flatMap { Catalog.standard.preset($0)?.experiment.observations }
    #expect(trace.observations.map(\.id) == expected, sourceLocation: sourceLocation)
    for o in trace.observations {
        #expect(!o.evidence.isEmpty, "\(o.id) cites no events: \(o.detail)", sourceLocation: sourceLocation)
        #expect(o.evidence.allSatisfy { (1...trace.events.count).contains($0) }, sourceLocation: sourceLocation)
    }
}

/// A `sleep` process on the host, to check that nothing a run does reaches it.
final class HostCanary: @unchecked Sendable {
    let pid: pid_t

    init() throws {
        var pid: pid_t = 0
        let args = ["/bin/sleep", "30"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        let r = posix_spawn(&pid, "/bin/sleep", nil, nil, &argv, environ)
        guard r == 0 else { throw SpawnFailed(code: r) }
        self.pid = pid
    }

    var alive: Bool { kill(pid, 0) == 0 }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    struct SpawnFailed: Error { var code: Int32 }
}
