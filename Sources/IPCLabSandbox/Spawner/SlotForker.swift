import CIPCLab
import Glibc

/// A small process that lives in one cgroup slot and clones that slot's run inits, so that an
/// init is born in its cgroups instead of being moved there.
///
/// Moving a process into a v1 cgroup waits for an RCU grace period (5–35 ms on this project's
/// machine) and meanwhile holds the kernel's global `cgroup_threadgroup_rwsem`, stalling every
/// fork and exit, those of runs in progress included. A child inherits its parent's cgroups for
/// free, so the forker is moved once, when its slot is made (while the spawner is idle), and then
/// clones with `CLONE_PARENT`: the init is the spawner's child (the spawner reaps it, and it dies
/// with the spawner) but is born in the forker's cgroups. cgroup v2 has `CLONE_INTO_CGROUP` for this.
///
/// The forker is a fork of the warmed-up spawner; it takes one request at a time over a
/// `SOCK_SEQPACKET` pair and never runs anything else. It shares its slot's memory cgroup with the
/// runs; every run init raises its own `oom_score_adj` to 1000 (inherited by the run's processes;
/// lowering the forker's would need CAP_SYS_RESOURCE), so the OOM killer picks a run's process,
/// never the forker.
struct SlotForker {
    let pid: pid_t
    /// The spawner's end of the request socket; closing it ends the forker.
    let socket: Int32

    /// What the spawner asks: clone an init with these flags (plus `CLONE_PARENT`), in the network
    /// namespace whose descriptor travels with the request, if `network` is 1.
    struct Request {
        var flags: Int32
        var userNamespace: Int32
        var namespaces: Int32
        var network: Int32
    }

    /// The forker's answer: the init's pid, or -1 and the errno of the failed clone.
    struct Reply {
        var pid: Int32
        var errno: Int32
    }

    /// Forks a forker that comes back to network namespace `home` after each clone.
    static func start(home: Int32) -> SlotForker? {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else { return nil }
        let pid = fork()
        if pid == 0 {
            close(pair[0])
            serve(socket: pair[1], home: home)
        }
        close(pair[1])
        guard pid > 0 else {
            close(pair[0])
            return nil
        }
        return SlotForker(pid: pid, socket: pair[0])
    }

    /// Asks for an init: `control` is the init's end of its control socket, `network` the network
    /// namespace to clone it into (-1: the forker's own). Returns its pid, or -1 with `errno` set.
    func clone(_ request: Request, control: Int32, network: Int32) -> pid_t {
        var r = request
        let fds = network >= 0 ? [control, network] : [control]
        let sent = withUnsafeBytes(of: &r) { buf in
            fds.withUnsafeBufferPointer { ipclab_send_with_fds(socket, buf.baseAddress, buf.count, $0.baseAddress, Int32($0.count)) }
        }
        guard sent == MemoryLayout<Request>.size else { return -1 }
        var reply = Reply(pid: -1, errno: EIO)
        var n: Int
        repeat { n = withUnsafeMutableBytes(of: &reply) { recv(socket, $0.baseAddress, $0.count, 0) } } while n < 0 && errno == EINTR
        guard n == MemoryLayout<Reply>.size else {
            errno = EIO
            return -1
        }
        if reply.pid < 0 { errno = reply.errno }
        return reply.pid
    }

    /// Ends the forker and reaps it (its slot can then be removed).
    func stop() {
        close(socket)
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    private static func serve(socket: Int32, home: Int32) -> Never {
        _ = ipclab_set_parent_death_signal(SIGKILL)
        _ = ipclab_set_process_name("ipclab-slot")
        // Keep only the request socket and the home network namespace.
        for fd in 3..<max(socket, home) + 1 where fd != socket && fd != home { close(fd) }
        _ = ipclab_close_range(UInt32(max(socket, home) + 1), UInt32.max)
        while true {
            var request = Request(flags: 0, userNamespace: 0, namespaces: 0, network: 0)
            var fds: [Int32] = [-1, -1]
            var nfds: Int32 = 0
            let n = withUnsafeMutableBytes(of: &request) { ipclab_recv_with_fds(socket, $0.baseAddress, $0.count, &fds, 2, &nfds) }
            if n < 0 && errno == EINTR { continue }
            guard n == MemoryLayout<Request>.size, nfds >= 1 else { _exit(0) }
            let network = nfds == 2 ? fds[1] : -1
            var reply = Reply(pid: -1, errno: 0)
            if network >= 0 && ipclab_netns_enter(network) != 0 {
                reply.errno = errno
            } else {
                let pid = ipclab_fork_into(request.flags | ipclab_CLONE_PARENT)
                if pid == 0 {
                    RunInit.waitForRun(control: fds[0], join: (-1, -1), userNamespace: request.userNamespace != 0,
                                       namespaces: request.namespaces, networkNamespace: request.network != 0)
                }
                reply = Reply(pid: pid, errno: pid < 0 ? errno : 0)
                // Stranded outside home, this forker would clone the next init into a used namespace.
                if network >= 0 && ipclab_netns_enter(home) != 0 { _exit(70) }
            }
            close(fds[0])
            if network >= 0 { close(network) }
            _ = withUnsafeBytes(of: &reply) { send(socket, $0.baseAddress, $0.count, 0) }
        }
    }
}
