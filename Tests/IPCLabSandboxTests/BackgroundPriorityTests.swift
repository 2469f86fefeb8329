import CIPCLab
import Glibc
import Testing
@testable import IPCLabSandbox

/// Inits cloned ahead of time wait at a lower priority than runs; runs keep the spawner's. Here a
/// `sleep` stands in for a runner and for an init (only their nice values are looked at).
@Suite("BackgroundPriority")
struct BackgroundPriorityTests {
    /// A `sleep 30`, killed and reaped by `body`'s end.
    private func withSleeper(_ body: (pid_t) throws -> Void) throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("30"), nil]
        defer { for a in argv { free(a) } }
        let status = posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ)
        try #require(status == 0, "could not start /bin/sleep")
        defer {
            kill(pid, SIGKILL)
            var s: Int32 = 0
            _ = waitpid(pid, &s, 0)
        }
        try body(pid)
    }

    private func nice(of pid: pid_t) -> Int32 {
        var n: Int32 = -100
        _ = ipclab_get_nice(pid, &n)
        return n
    }

    @Test("a clone ahead happens with the runner at the background priority, which it leaves right after; errno is the clone's")
    func cloningAhead() throws {
        try withSleeper { runner in
            let base = nice(of: runner)
            try #require(base < 19)
            let priority = BackgroundPriority(base: base, background: min(19, base + BackgroundPriority.lowerBy))
            let madeAt = priority.lower(runner, ahead: true)
            let during = nice(of: runner)
            // The clone fails (its errno set), and the runner is put back.
            errno = EUSERS
            priority.raise(runner, from: madeAt)
            #expect(errno == EUSERS, "the clone's errno, not the renice's")
            #expect(during == priority.background, "the runner clones at the background priority")
            #expect(madeAt == priority.background)
            #expect(nice(of: runner) == base, "and is put back after")
        }
    }

    @Test("a clone a run waits for, or a spawner that cannot raise priorities back, changes nothing")
    func cloningForARun() throws {
        try withSleeper { runner in
            let base = nice(of: runner)
            for priority in [BackgroundPriority(base: base, background: min(19, base + 10)),
                             BackgroundPriority(base: base, background: nil)] {
                for ahead in priority.background == nil ? [true, false] : [false] {
                    let madeAt = priority.lower(runner, ahead: ahead)
                    let during = nice(of: runner)
                    priority.raise(runner, from: madeAt)
                    #expect(during == base)
                    #expect(madeAt == base)
                }
            }
        }
    }

    @Test("an init made ahead is put back to the runs' priority before its go")
    func restore() throws {
        try withSleeper { initPid in
            let base = nice(of: initPid)
            try #require(base < 19)
            let priority = BackgroundPriority(base: base, background: min(19, base + 10))
            #expect(ipclab_set_nice(initPid, priority.background!) == 0)
            #expect(nice(of: initPid) == priority.background)
            priority.restore(initPid, from: priority.background!)
            #expect(nice(of: initPid) == base, "raising it back needs CAP_SYS_NICE: the tests run as root, as the spawner does")
        }
    }

    @Test("the spawner's own: its nice value, and a background one only when it may raise priorities back")
    func fromTheProcess() {
        let priority = BackgroundPriority()
        var own: Int32 = -100
        #expect(ipclab_get_nice(0, &own) == 0)
        #expect(priority.base == own)
        if ipclab_can_raise_priority() != 0 && own < 19 {
            #expect(priority.background == min(19, own + BackgroundPriority.lowerBy))
        } else {
            #expect(priority.background == nil)
        }
    }
}
