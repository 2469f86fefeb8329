import CIPCLab
import Foundation
import Glibc

// Watching the spawner: a thread that notices at once when it dies and starts a new one, and
// (in the server) reaps the runs it leaves behind.
extension SpawnerClient {
    /// Starts `ipclab-spawnmon`, which polls the spawner's socket for a hang-up (its process
    /// is gone) and replaces it; in a server that adopts orphans it also reaps them. It holds
    /// the client only weakly, and ends after ``shutdown()``.
    func startMonitor() {
        let thread = Thread { [weak self] in
            _ = "ipclab-spawnmon".withCString { ipclab_set_process_name($0) }
            while let client = self, client.watchOnce() {}
        }
        thread.stackSize = 256 * 1024
        thread.start()
    }

    /// One round of watching: waits up to 200 ms for the spawner to hang up, reaps orphans,
    /// replaces a dead spawner. Returns false once the client is shutting down.
    private func watchOnce() -> Bool {
        guard !stopping.load(ordering: .acquiring) else { return false }
        let watched: (socket: Int32, generation: Int)? = process.withLock { p in p.map { ($0.socket, $0.generation) } }
        if let watched {
            // events 0: POLLHUP and POLLERR are always reported. The socket stays open while we
            // poll: only this thread, `send` and `shutdown` close it, all under the lock, and a
            // closed-and-reused number is caught by the generation check below.
            var fd = pollfd(fd: watched.socket, events: 0, revents: 0)
            _ = poll(&fd, 1, 200)
        } else {
            usleep(200_000)
        }
        guard !stopping.load(ordering: .acquiring) else { return false }
        process.withLock { p in
            if adoptsOrphans { reapOrphans(&p) }
            guard let current = p, current.generation == watched?.generation else {
                // None could be started: try again.
                if p == nil, watched == nil { replace(&p, because: "none was running") }
                return
            }
            if current.reaped || Self.hungUp(current.socket) { replace(&p, because: "the previous one died") }
        }
        return true
    }

    /// Reaps every child that has exited: the spawner (marked reaped, so its pid is never used
    /// again), a sibling's spawner (``adopt(_:)``) and orphaned run inits adopted as subreaper. Call with the lock held.
    private func reapOrphans(_ p: inout SpawnerProcess?) {
        while true {
            // Which child exited, left a zombie (WNOWAIT) so that its pid cannot be reused yet: a sibling's
            // spawner is reaped under the sibling's lock, where its own monitor could otherwise signal the pid.
            var info = siginfo_t()
            guard waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return }
            let exited = info._sifields._sigchld.si_pid
            guard exited > 0 else { return }
            if exited != p?.pid, let status = siblings.withLock({ $0.lazy.compactMap { $0.reapSpawner(exited) }.first }) {
                logger.warning("the other spawner (pid \(exited)) exited: \(Self.describe(status))")
                continue
            }
            var status: Int32 = 0
            let pid = waitpid(exited, &status, WNOHANG)
            // Gone meanwhile: a sibling replaced its spawner and reaped it itself.
            guard pid > 0 else { continue }
            if pid == p?.pid {
                p?.reaped = true
                logger.warning("the spawner (pid \(pid)) exited: \(Self.describe(status))")
            } else {
                logger.notice("reaped an orphaned run process (pid \(pid)): \(Self.describe(status))")
            }
        }
    }

    /// This reaper (a server's, which reaps every child but its own spawner) also reaps `sibling`'s
    /// spawner, another child of this process: it marks it reaped, so that `sibling` never waits for or
    /// signals that pid again (``SpawnerProcess/reaped``). Only the adopting client reaps, so the locks
    /// are only ever taken in that order (this client's, then the sibling's).
    public func adopt(_ sibling: SpawnerClient) {
        siblings.withLock { $0.append(sibling) }
    }

    /// Reaps this client's spawner if its pid is `pid` (an exited child another client's reaper found),
    /// marking it reaped under this client's lock; its wait status, or nil when `pid` is not its spawner.
    private func reapSpawner(_ pid: pid_t) -> Int32? {
        process.withLock { p in
            guard let current = p, current.pid == pid, !current.reaped else { return nil }
            var status: Int32 = 0
            guard waitpid(pid, &status, 0) == pid else { return nil }
            p?.reaped = true
            return status
        }
    }

    /// Replaces the spawner in `p` (if any) with a new one; counts a restart when there was
    /// one. Call with the lock held. Leaves `p` nil if none can be started.
    func replace(_ p: inout SpawnerProcess?, because reason: String) {
        if let old = p {
            close(old.socket)
            if !old.reaped {
                kill(old.pid, SIGKILL)
                var status: Int32 = 0
                waitpid(old.pid, &status, 0)
            }
            deadPids.withLock { dead in
                dead[old.generation] = old.pid
                dead = dead.filter { $0.key > old.generation - 64 }
            }
            restarts.add(1, ordering: .relaxed)
        }
        let generation = generations.add(1, ordering: .relaxed).newValue
        do {
            let started = try Self.spawn(executable, insecure: insecure, options: options, runnerExecutable: runnerExecutable,
                                         generation: generation)
            p = started
            logger.warning("started a new spawner (pid \(started.pid)): \(reason)",
                           metadata: ["restarts": "\(restarts.load(ordering: .relaxed))"])
        } catch {
            p = nil
            logger.error("cannot start a spawner: \(error)")
        }
    }

    /// Whether the peer of `socket` is gone (POLLHUP or POLLERR), without waiting.
    static func hungUp(_ socket: Int32) -> Bool {
        var fd = pollfd(fd: socket, events: 0, revents: 0)
        return poll(&fd, 1, 0) > 0 && fd.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
    }

    /// A wait status in words: "exit status 0", "killed by signal 9".
    static func describe(_ status: Int32) -> String {
        if ipclab_wifexited(status) != 0 { return "exit status \(ipclab_wexitstatus(status))" }
        if ipclab_wifsignaled(status) != 0 { return "killed by signal \(ipclab_wtermsig(status))" }
        return "wait status \(status)"
    }
}
