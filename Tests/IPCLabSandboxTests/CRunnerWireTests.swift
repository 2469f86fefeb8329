import CIPCLab
import Foundation
import Glibc
@testable import IPCLabSandbox
import Testing

/// The C runner's side of the spawner's wire (docs/c-runner.md §2.1), spoken to by the spawner's own
/// ``SlotForker``: no namespaces, so the inits it clones (with CLONE_PARENT) are this test process's
/// children, which the test reaps.
@Suite("C runner wire", .serialized)
struct CRunnerWireTests {
    /// Waits (up to 5 s) for `condition`.
    func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// Clones one init and ends it: its control socket closed before "mapped", it exits 0.
    func cloneAndEnd(_ forker: SlotForker) throws {
        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        let pid = forker.clone(SlotForker.Request(flags: 0, userNamespace: 0, namespaces: 0, network: 0), control: pair[1], network: -1)
        close(pair[1])
        defer { close(pair[0]) }
        try #require(pid > 0, "clone: \(errno)")
        #expect(eventually { (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "ipclab-ready\n" },
                "the init names itself ipclab-ready")
        endInit(pid, control: &pair[0])
    }

    /// An init of this process (CLONE_PARENT) ended: its control socket closed before "mapped", it
    /// exits 0 and is reaped here.
    func endInit(_ pid: pid_t, control: inout Int32) {
        #expect(procStatus(pid, "PPid")?.first == String(getpid()), "CLONE_PARENT: the init is the runner's parent's child")
        close(control)
        control = -1
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        #expect(status == 0, "an init whose spawner goes before mapped exits 0 (status \(status))")
    }

    /// Asks `forker` for an init with ``SlotForker/requestClone(_:control:network:join:)`` and reads the
    /// answer with ``SlotForker/answer(waiting:)`` without waiting, once `poll` says it came.
    func askAndAnswer(_ forker: SlotForker) throws {
        #expect(forker.answer(waiting: false) == nil, "no answer before a request")
        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        try #require(forker.requestClone(SlotForker.Request(flags: 0, userNamespace: 0, namespaces: 0, network: 0),
                                         control: pair[1], network: -1))
        close(pair[1])
        defer { close(pair[0]) }
        var pid: pid_t?
        for _ in 0..<50 where pid == nil {
            var p = pollfd(fd: forker.socket, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 100)
            pid = forker.answer(waiting: false)
        }
        let answered = try #require(pid, "an answer within 5 s")
        try #require(answered > 0, "clone: \(errno)")
        #expect(forker.answer(waiting: false) == nil, "one answer per request")
        endInit(answered, control: &pair[0])
    }

    @Test("hello, clones, a fresh image after --reexec-every clones and on request (each says hello again), EINVAL for a netns without home, a clone asked for and its answer read later, exit at EOF")
    func wire() throws {
        let image = SlotForker.Image(executable: "/nonexistent", reexecEvery: 2, warmUp: false, codePages: .none,
                                     runnerExecutable: try CLab.runnerPath.get())
        let forker = try #require(SlotForker.start(home: -1, image: image))
        #expect(eventually { forker.isWarm }, "hello")
        try cloneAndEnd(forker)
        try cloneAndEnd(forker)
        // Two clones: the runner execs itself; the spawner's side waits for the fresh image's hello.
        #expect(!forker.isUsed)
        #expect(eventually { forker.isWarm }, "a fresh image says hello")
        try cloneAndEnd(forker)
        #expect(forker.isUsed)
        forker.reexec()
        #expect(eventually { forker.isWarm }, "a fresh image on request says hello")
        #expect(!forker.isUsed)

        let netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        let pid = forker.clone(SlotForker.Request(flags: 0, userNamespace: 0, namespaces: 0, network: 1), control: pair[1], network: netns)
        let err = errno
        #expect(pid == -1 && err == EINVAL, "a runner with no home namespace clones into no other (\(pid), \(err))")
        for fd in pair + [netns] { close(fd) }

        // A clone asked for, and its answer read later (the spawner's clones ahead of time): nothing
        // to read before the request, an answer (its hello read on the way) once the socket is readable.
        try askAndAnswer(forker)

        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(forker.pid)/exe")
        #expect(exe.hasSuffix("/ipclab-runner"))
        // End of file on its socket: the runner exits 0 (stop() also kills; the status says which came first).
        close(forker.socket)
        var status: Int32 = 0
        #expect(waitpid(forker.pid, &status, 0) == forker.pid)
        #expect(status == 0, "status \(status)")
    }
}
