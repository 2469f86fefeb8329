import CIPCLab
import Foundation
import Glibc
import IPCLabCore
import Synchronization
import Testing
@testable import IPCLabSandbox

/// A run is over when its init says done (every other process reaped, the outcome in the ring), not
/// when the init is reaped: the server reads the trace while the init is torn down. What the init
/// held (its uid, its cgroup slot, its network namespace) stays taken until it is reaped.
@Suite("Run done", .serialized)
struct RunDoneTests {
    /// The spawner's state with one run in flight, as ``Spawner/State/start(_:ringFD:doneFD:finishFD:)``
    /// leaves it, for a made-up init pid (no process: nothing here signals or waits for it), or for a
    /// real process standing in for an init.
    private struct InFlightRun {
        var state: Spawner.State
        let pid: pid_t
        let uid: UInt32
        /// The server's end of the completion pipe, and the init's end of its control socket.
        let serverEnd: Int32
        let initEnd: Int32
        let ring: EventRing

        init(pid: pid_t = 999_999_999) throws {
            self.pid = pid
            state = Spawner.State(uids: RunUidPool(base: 1_000_000, count: 30),
                                  image: SlotForker.Image(executable: "/nonexistent", reexecEvery: 1))
            var pipe: [Int32] = [-1, -1]
            var pair: [Int32] = [-1, -1]
            try #require(ipclab_pipe2(&pipe, O_CLOEXEC) == 0)
            try #require(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
            ring = try EventRing(capacity: 16, planCapacity: 64)
            let taken = state.uids.take()
            uid = try #require(taken)
            state.uids.assign(uid, to: pid)
            state.inFlight[pid] = .init(ringFD: dup(ring.fd), doneFD: pipe[1], control: pair[0],
                                        attachment: CgroupPool.Attachment(pidsErrno: ENOENT, memoryErrno: ENOENT, ns: 0))
            serverEnd = pipe[0]
            initEnd = pair[1]
        }

        /// A finish eventfd for the run, as ``Spawner/State/start(_:ringFD:doneFD:finishFD:)`` keeps one for
        /// a C runner's init: the spawner's copy in the run, the server's answered (the caller closes it).
        mutating func finishEventfd() throws -> Int32 {
            let finish = ipclab_eventfd()
            try #require(finish >= 0)
            state.inFlight[pid]?.finish = dup(finish)
            return finish
        }

        func say(_ go: Int32) {
            var message = GoMessage(go: go)
            _ = withUnsafeBytes(of: &message) { send(initEnd, $0.baseAddress, $0.count, 0) }
        }

        /// What the server reads before end of file, if the spawner closed the only write end; nil while it is open.
        /// Waits up to `waitMs` for the end of file: a test running beside this one may fork (a runner, a
        /// run) while the pipe is open, and its child holds a copy until it execs (the pipe is close-on-exec).
        func serverReads(waitMs: Int32) -> [UInt8]? {
            var bytes: [UInt8] = []
            while true {
                var fd = pollfd(fd: serverEnd, events: Int16(POLLIN), revents: 0)
                guard poll(&fd, 1, waitMs) == 1 else { return nil }
                var buffer = [UInt8](repeating: 0, count: 64)
                let n = read(serverEnd, &buffer, buffer.count)
                if n <= 0 { return bytes }
                bytes += buffer[0..<n]
            }
        }

        /// Whether the server sees the run end (without waiting: for runs that must not have ended).
        var serverSeesEnd: Bool { serverReads(waitMs: 0) != nil }

        mutating func close() {
            Glibc.close(serverEnd)
            Glibc.close(initEnd)
            state.cgroups.removeAll()
        }
    }

    @Test("the init's done ends the run at once: end of file for the server, the evidence collected, the uid still the run's")
    func doneEndsTheRun() throws {
        var run = try InFlightRun()
        defer { run.close() }
        #expect(!run.serverSeesEnd)
        run.say(GoMessage.done)
        run.state.hear(from: run.pid)
        // The end marker, then end of file: without the marker, the server takes the spawner for dead.
        #expect(run.serverReads(waitMs: 2000) == RunEnded.marker, "the server must be told the run is over at its init's done")
        #expect(run.state.inFlight[run.pid] == nil)
        #expect(run.ring.readHeader().evidence.cgroups & Int32(IPCLAB_CGROUP_COLLECTED) == 0,
                "no slot of the pool holds this made-up init: nothing to collect, and nothing claimed")
        // The init still lives (it is torn down): another run must not get its uid before it is reaped.
        #expect(run.state.uids.uid(of: run.pid) == run.uid)
        #expect(run.state.listening.isEmpty)
    }

    @Test("an init that hangs up without done leaves the run in flight: it ends when the init is reaped, as before")
    func hangUpWithoutDone() throws {
        var run = try InFlightRun()
        defer { run.close() }
        close(run.initEnd)
        run.state.hear(from: run.pid)
        #expect(!run.serverSeesEnd, "a dead init's hang-up is no done: the spawner waits for its reap and its counters")
        #expect(run.state.inFlight[run.pid] != nil)
        #expect(run.state.listening.isEmpty, "a hung-up socket must leave the poll set, or the spawner would spin on it")
        #expect(run.state.uids.uid(of: run.pid) == run.uid)
    }

    /// A `/bin/sh -c script` standing in for a run's init; with `stdin`, a pipe's read end as its standard
    /// input (the write end closed in it).
    private static func standIn(_ script: String, stdin: [Int32]? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin[0], 0)
            posix_spawn_file_actions_addclose(&actions, stdin[1])
        }
        let words: [String] = ["/bin/sh", "-c", script]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        try #require(posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ) == 0)
        return pid
    }

    @Test("a done said while a process of the run lives is no done: the run ends at the init's reap (the kernel's list of its children decides)")
    func doneWithChildrenLeft() throws {
        // A stand-in init with a child of its own, as a run's init with a participant still running.
        let pid = try Self.standIn("sleep 30 & wait")
        defer {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        // Until the shell has forked its child, the kernel lists none.
        for _ in 0..<500 where !Spawner.State.hasChildren(pid) { usleep(10_000) }
        try #require(Spawner.State.hasChildren(pid), "the stand-in init must have a child for this test to mean anything")
        var run = try InFlightRun(pid: pid)
        defer { run.close() }
        run.say(GoMessage.done)
        run.state.hear(from: run.pid)
        #expect(!run.serverSeesEnd, "a done the kernel contradicts must not end the run")
        #expect(run.state.inFlight[run.pid] != nil)
        #expect(run.state.listening.isEmpty, "nothing more is taken from that init's socket")
    }

    @Test("with the init in its slot's pids cgroup the cgroup decides: a process of the run left in it is no done; alone, the init's done ends the run",
          arguments: [true, false])
    func doneDecidedByTheSlot(childLeft: Bool) throws {
        // A stand-in init that starts (or not) its child only once it is in the slot, so the child is born there.
        var lines: [Int32] = [-1, -1]
        try #require(pipe(&lines) == 0)
        let pid = try Self.standIn(childLeft ? "read x; sleep 30 & wait" : "read x; exec sleep 30", stdin: lines)
        Glibc.close(lines[0])
        var run = try InFlightRun(pid: pid)
        defer {
            let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            for child in children.split(separator: " ").compactMap({ pid_t($0) }) { Glibc.kill(child, SIGKILL) }
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            usleep(50_000) // the child's exit, before its slot is removed
            run.close()
        }
        let claim = run.state.cgroups.claim()
        try #require(claim.slotPidsProcs >= 0, "needs a pids hierarchy the spawner can use (\(claim.pidsErrno))")
        try #require(ipclab_cgroup_write(claim.slotPidsProcs, Int64(pid)) == 0)
        // The slot's forker (if it started) is left out: only the stand-in and what it starts are in the slot.
        run.state.cgroups.bind(claim, to: pid, forkerLost: true)
        run.state.inFlight[pid]?.attachment = CgroupPool.Attachment(pidsErrno: 0, memoryErrno: ENOENT, ns: 0)
        _ = Glibc.write(lines[1], "go\n", 3)
        Glibc.close(lines[1])
        if childLeft {
            for _ in 0..<500 where !Spawner.State.hasChildren(pid) { usleep(10_000) }
            try #require(Spawner.State.hasChildren(pid), "the stand-in's child must exist for this test to mean anything")
        } else {
            for _ in 0..<500 where (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) != "sleep\n" { usleep(10_000) }
        }
        #expect(run.state.cgroups.initAlone(pid: pid, attachment: CgroupPool.Attachment(pidsErrno: 0, memoryErrno: ENOENT, ns: 0)) == !childLeft)
        run.say(GoMessage.done)
        run.state.hear(from: pid)
        if childLeft {
            #expect(!run.serverSeesEnd, "a done while a process of the run lives in its slot must not end the run")
            #expect(run.state.inFlight[pid] != nil)
        } else {
            #expect(run.serverReads(waitMs: 2000) != nil, "the init alone in its slot: its done ends the run")
            #expect(run.state.inFlight[pid] == nil)
        }
    }

    @Test("with a finish eventfd the spawner waits on it, not the socket; it takes one unit of two, reads the done said before, and leaves the server its unit")
    func finishEventfd() throws {
        var run = try InFlightRun()
        defer { run.close() }
        let finish = try run.finishEventfd()
        defer { close(finish) }
        #expect(run.state.listening.map(\.fd) == [run.state.inFlight[run.pid]!.finish], "the eventfd, not the control socket")
        run.say(GoMessage.done)
        var both: UInt64 = 2
        _ = write(finish, &both, 8)
        run.state.hear(from: run.pid)
        #expect(run.serverReads(waitMs: 2000) == RunEnded.marker, "the done said before the finish ends the run")
        var unit: UInt64 = 0
        #expect(read(finish, &unit, 8) == 8 && unit == 1, "the server's unit is left")
        #expect(read(finish, &unit, 8) == -1 && errno == EAGAIN, "the spawner took one unit, no more")
    }

    @Test("a finish said without a done, or many times over, leaves the run in flight and the spawner on the control socket")
    func finishWithoutDone() throws {
        var run = try InFlightRun()
        defer { run.close() }
        let finish = try run.finishEventfd()
        defer { close(finish) }
        var many: UInt64 = 1000
        _ = write(finish, &many, 8)
        run.state.hear(from: run.pid)
        #expect(!run.serverSeesEnd, "no done, no end")
        let control = try #require(run.state.inFlight[run.pid]?.control)
        #expect(run.state.inFlight[run.pid]?.finish == -1, "an eventfd that stays readable must not keep the spawner busy")
        #expect(run.state.listening.map(\.fd) == [control])
        run.say(GoMessage.done)
        run.state.hear(from: run.pid)
        #expect(run.serverReads(waitMs: 2000) == RunEnded.marker, "the done, when it comes, still ends the run")
    }

    @Test("a run ended at its init's reap says so: the reap marker, which no reading ahead is answered on")
    func endedAtReap() throws {
        var run = try InFlightRun()
        defer { run.close() }
        run.state.end(pid: run.pid, done: false)
        #expect(run.serverReads(waitMs: 2000) == RunEnded.reapedMarker)
        #expect(RunEnded.isMarker(RunEnded.reapedMarker) && RunEnded.reapedMarker != RunEnded.marker)
    }

    @Test("any other message is no done")
    func otherMessages() throws {
        var run = try InFlightRun()
        defer { run.close() }
        run.say(1)
        run.state.hear(from: run.pid)
        #expect(!run.serverSeesEnd)
        #expect(run.state.inFlight[run.pid] != nil)
    }

    @Test("no process of a run holds the completion pipe or the init's control socket; the init holds the socket only")
    func runHoldsNoChannel() async throws {
        let scenario = #"""
        {"processes": [
          {"name": "holder_a", "steps": [{"op": "sleep", "ms": 600}, {"op": "wait", "process": "holder_b"}]},
          {"name": "holder_b", "steps": [{"op": "sleep", "ms": 600}]}]}
        """#
        let seen = Mutex<[String: [String]]>([:])
        let (trace, pids) = try await runWatching(scenario: scenario, wallMs: 5000, names: ["holder_a", "holder_b"]) { pid, name in
            usleep(50_000) // past the participant's start
            let own = descriptors(of: pid)
            seen.withLock { $0[name] = own }
            // The first process's parent is the run's init. A child of holder_a is named holder_a too until
            // it names itself (the scanner may see it then): its parent is no init.
            if name == "holder_a", let parent = procStatus(pid, "PPid")?.first.flatMap({ Int32($0) }),
               let parentName = try? String(contentsOfFile: "/proc/\(parent)/comm", encoding: .utf8),
               !["holder_a", "holder_b"].contains(parentName.trimmingCharacters(in: .newlines)) {
                seen.withLock { $0["init"] = descriptors(of: parent) }
            }
        }
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        try #require(pids.count == 2, "the processes were not seen on the host")
        let fds = seen.withLock { $0 }
        for name in ["holder_a", "holder_b"] {
            let own = try #require(fds[name])
            #expect(!own.contains { $0.hasPrefix("99 ") || $0.hasPrefix("100 ") }, "\(name): \(own)")
            #expect(!own.contains { $0.contains("socket:") || $0.contains("pipe:") }, "\(name) holds a channel it was not given: \(own)")
        }
        let initFDs = try #require(fds["init"])
        #expect(initFDs.filter { $0.contains("socket:") }.map { $0.split(separator: " ").first } == ["99"], "\(initFDs)")
        #expect(!initFDs.contains { $0.contains("pipe:") }, "the completion pipe is the spawner's alone: \(initFDs)")
    }

    @Test("a run of many processes answered at its init's done has every exit and its outcome")
    func completeAtDone() async throws {
        let children = (1...6).map { #"{"name": "c\#($0)", "steps": [{"op": "exit", "code": \#($0)}]}"# }
        let waits = (1...6).map { #"{"op": "wait", "process": "c\#($0)"}"# }
        let scenario = #"{"processes": [{"name": "p", "steps": [\#(waits.joined(separator: ", "))]}, \#(children.joined(separator: ", "))]}"#
        for _ in 0..<5 {
            let trace = try await run(scenario: scenario, wallMs: 5000)
            #expect(trace.run.outcome == .ok, "\(describe(trace))")
            for i in 1...6 { #expect(trace.process("c\(i)")?.exit == .code(i), "\(describe(trace))") }
            #expect(trace.process("p")?.exit == .code(0))
        }
    }

    @Test("a run whose init is killed from outside before its done ends as before: an error that says so")
    func initKilledBeforeDone() async throws {
        let scenario = #"{"processes": [{"name": "orphaned", "steps": [{"op": "sleep", "ms": 3000}]}]}"#
        let (trace, pids) = try await runWatching(scenario: scenario, wallMs: 10000, names: ["orphaned"]) { pid, _ in
            if let parent = procStatus(pid, "PPid")?.first.flatMap({ Int32($0) }), parent > 1 { kill(parent, SIGKILL) }
        }
        try #require(!pids.isEmpty, "the process was not seen on the host")
        #expect(trace.run.outcome == .error, "\(describe(trace))")
        #expect(trace.run.reason?.contains("killed from outside") == true, "\(describe(trace))")
    }
}

/// `/proc/<pid>/fd`, each entry as "<fd> <link>".
func descriptors(of pid: Int32) -> [String] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return [] }
    return names.compactMap { name in
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink("/proc/\(pid)/fd/\(name)", &buffer, buffer.count - 1)
        return n > 0 ? "\(name) \(String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))" : nil
    }.sorted()
}
