import CIPCLab
import Foundation
import Glibc
import Testing
@testable import IPCLabSandbox

/// Inits asked of a runner ahead of time and answered later (``Spawner/State/PendingClone``): what the
/// spawner binds to such an init when its answer is read, and what it frees when the init died first.
/// Plain inits of the C runner (no namespaces), which are this process's children (CLONE_PARENT).
@Suite("Pending clones", .serialized)
struct PendingCloneTests {
    /// A spawner's state whose runners are the C runner and whose inits are cloned into no namespace.
    private static func state() throws -> Spawner.State {
        var state = Spawner.State(uids: RunUidPool(base: 1_200_000, count: 30),
                                  image: SlotForker.Image(executable: "/nonexistent", reexecEvery: 64, warmUp: false,
                                                          codePages: .none, runnerExecutable: try CLab.runnerPath.get()))
        state.userNamespace = false
        state.namespaces = 0
        // As `Spawner.serve` sets them: the slots' runners start from the same image.
        state.cgroups.home = state.networks.homeFD
        state.cgroups.image = state.image
        return state
    }

    /// Asks for one init ahead of time and answers the pid the runner cloned, peeked at in its answer
    /// (which stays unread on the runner's socket).
    private static func askAndPeek(_ state: inout Spawner.State) throws -> pid_t {
        guard case .asked(let pending) = state.beginPrepare(ahead: false) else {
            Issue.record("the clone could not be asked for")
            throw CancellationError()
        }
        try #require(pending.asked)
        state.pendingClones.append(pending)
        // A runner starting its image says hello before it answers.
        for _ in 0..<500 where !pending.forker.isWarm { usleep(10_000) }
        try #require(pending.forker.isWarm)
        var p = pollfd(fd: pending.forker.socket, events: Int16(POLLIN), revents: 0)
        try #require(poll(&p, 1, 5000) == 1, "the runner's answer within 5 s")
        var reply: (pid: Int32, errno: Int32) = (0, 0)
        let n = withUnsafeMutableBytes(of: &reply) { recv(pending.forker.socket, $0.baseAddress, $0.count, Int32(MSG_PEEK)) }
        try #require(n == 8 && reply.pid > 0, "an answer naming the init (\(n), \(reply))")
        return reply.pid
    }

    private static func cleanUp(_ state: inout Spawner.State) {
        state.spareRunner?.stop()
        state.spareRunner = nil
        state.cgroups.removeAll()
    }

    @Test("an init answered later joins the ready ones, its uid bound to it; the runner's socket is empty after")
    func answeredLater() throws {
        var state = try Self.state()
        defer { Self.cleanUp(&state) }
        let pid = try Self.askAndPeek(&state)
        #expect(state.isShortOfInits, "one pending of two wanted")
        let forker = try #require(state.pendingClones.first?.forker)
        state.hearClones(waiting: true)
        #expect(forker.answer(waiting: false) == nil, "the answer was read, once")
        #expect(state.pendingClones.isEmpty)
        #expect(state.ready.map(\.pid) == [pid])
        #expect(state.uids.uid(of: pid) != nil, "the init holds its run's uid")
        #expect(!state.cannotPrepare)
        // Its control socket closed: it exits, and is reaped here.
        for r in state.ready { close(r.control) }
        state.ready = []
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
    }

    @Test("an init killed before its answer is read: nothing stays bound to it, and no init is ready")
    func killedBeforeItsAnswer() throws {
        var state = try Self.state()
        defer { Self.cleanUp(&state) }
        let pid = try Self.askAndPeek(&state)
        #expect(Glibc.kill(pid, SIGKILL) == 0)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        // What the spawner's reap() records for a pid it reaps while clones are pending.
        state.reapedWhilePending.insert(pid)
        state.hearClones(waiting: true)
        #expect(state.pendingClones.isEmpty)
        #expect(state.ready.isEmpty, "a dead init must not be handed a run")
        #expect(state.uids.uid(of: pid) == nil, "its uid is free again")
        #expect(state.reapedWhilePending.isEmpty)
        #expect(state.cannotPrepare, "a failed clone ahead stops clones ahead until a run's own works")
    }
}
