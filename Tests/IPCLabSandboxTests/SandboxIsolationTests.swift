import Foundation
import Glibc
import IPCLabCore
import IPCLabSandbox
import Synchronization
import Testing

/// What the sandbox promises, checked from both sides: the trace (inside) and the host (outside).
@Suite("Sandbox isolation", .serialized)
struct SandboxIsolationTests {
    @Test("a run gets user, PID, IPC, mount, UTS and network namespaces, and its set-up succeeded")
    func namespacesAndSetup() async throws {
        let trace = try await run("pipe.hello")
        expectWentWell(trace)
        #expect(Set(trace.run.sandbox.namespaces) == ["user", "pid", "ipc", "mount", "uts", "net"], "\(trace.run.sandbox.namespaces)")
        let setup = Dictionary(trace.run.sandbox.setup.map { ($0.op, $0) }, uniquingKeysWith: { a, _ in a })
        for op in ["mount tmpfs /tmp", "mount tmpfs /dev/shm", "loopback up"] {
            let done = try #require(setup[op], "no \(op) in \(trace.run.sandbox.setup.map(\.op))")
            #expect(done.result == 0)
            #expect(done.errno == nil)
        }
    }

    @Test("pids are small: the first process is 2 in a new PID namespace (its init is 1)")
    func pidNamespace() async throws {
        let trace = try await run("pipe.hello")
        expectWentWell(trace)
        #expect(trace.processes.map(\.pid) == [2, 3], "\(describe(trace))")
        #expect(trace.process("child")?.parent == "parent")
        #expect(trace.process("parent")?.parent == nil)
        #expect(Set(trace.events.map(\.pid)).isSubset(of: [2, 3]))
        // fork in the first process returned the child's pid as the namespace numbers it.
        #expect(trace.calls(.process(.fork), by: "parent").first?.result == 3)
        // The host's own pids are nothing like it: this process is not pid 2 or 3.
        #expect(getpid() > 3)
    }

    @Test("a run's processes have a host uid and gid of their own, from the run uid range: root only inside their user namespace")
    func unprivilegedOnTheHost() async throws {
        // The probe sleeps long enough for the scan to see it while the test runs' other suites load
        // the machine (CI once saw a 400 ms probe come and go between two scans).
        let scenario = #"{"processes": [{"name": "uid_probe", "steps": [{"op": "sleep", "ms": 1500}]}]}"#
        let ids = IDs()
        let (trace, seen) = try await runWatching(scenario: scenario, wallMs: 5000, names: ["uid_probe"]) { pid, _ in
            ids.record(uid: procStatus(pid, "Uid"), gid: procStatus(pid, "Gid"))
        }
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        try #require(!seen.isEmpty, "the probe was never seen on the host")
        // real, effective, saved and filesystem ids, as the host sees them
        let runIDs = Spawner.defaultRunUidBase..<(Spawner.defaultRunUidBase + Spawner.defaultRunUidCount)
        let uid = try #require(ids.uid, "no Uid line")
        #expect(uid.count == 4 && Set(uid).count == 1 && UInt32(uid[0]).map(runIDs.contains) == true, "host uid of a run's process: \(uid)")
        #expect(ids.gid == uid, "host gid of a run's process: \(ids.gid ?? [])")
    }

    /// Ids read from /proc by the scan, on another task.
    final class IDs: Sendable {
        private let ids = Mutex<(uid: [String]?, gid: [String]?)>((nil, nil))
        func record(uid: [String]?, gid: [String]?) { ids.withLock { $0 = (uid, gid) } }
        var uid: [String]? { ids.withLock { $0.uid } }
        var gid: [String]? { ids.withLock { $0.gid } }
    }

    @Test("a FIFO made in a run lives in the run's private /tmp: data flows, and the host's /tmp never has it")
    func privateTmp() async throws {
        let path = "/tmp/labfifo"
        try #require(access(path, F_OK) != 0, "\(path) already exists on the host; remove it and rerun")
        let scenario = """
            {"channels": [{"name": "f", "kind": "fifo", "path": "\(path)"}],
             "processes": [
               {"name": "fifo_writer", "steps": [
                  {"op": "open", "channel": "f", "end": "write"},
                  {"op": "write", "channel": "f", "data": "through the fifo"},
                  {"op": "close", "channel": "f", "end": "write"},
                  {"op": "wait", "process": "fifo_reader"}]},
               {"name": "fifo_reader", "steps": [
                  {"op": "open", "channel": "f", "end": "read"},
                  {"op": "read_all", "channel": "f", "size": 64}]}
             ]}
            """
        let trace = try await run(scenario: scenario, wallMs: 2000)
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(trace.observations.isEmpty, "a custom scenario has no observations")
        #expect(trace.calls(.fifos(.mkfifo)).first?.result == 0)
        #expect(trace.calls(.fifos(.mkfifo)).first?.arg(.path) == .string(path))
        let opens = trace.calls(.fifos(.open), on: "f")
        #expect(opens.count == 2)
        #expect(opens.allSatisfy { ($0.result ?? -1) >= 0 }, "\(describe(trace))")
        let reads = trace.calls(.pipes(.read), by: "fifo_reader", on: "f")
        #expect(reads.first?.payload?.text == "through the fifo")
        #expect(reads.last?.result == 0, "end of file once the writer closed")
        #expect(trace.processes.allSatisfy { $0.exit == .code(0) })

        errno = 0
        #expect(access(path, F_OK) == -1, "the run's FIFO appeared on the host's /tmp")
        #expect(errno == ENOENT)
    }

    @Test("the host's SysV IPC objects are untouched by a run")
    func hostSysVUnchanged() async throws {
        // Objects of the host's IPC namespace, made here, so there is something a run could disturb.
        let shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
        try #require(shm >= 0, "shmget failed: errno \(errno)")
        defer { _ = shmctl(shm, IPC_RMID, nil) }
        let msq = msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
        try #require(msq >= 0, "msgget failed: errno \(errno)")
        defer { _ = msgctl(msq, IPC_RMID, nil) }
        let shmBefore = try #require(try sysvLine("shm", id: shm), "the table shows the segment made here")
        let msgBefore = try #require(try sysvLine("msg", id: msq), "the table shows the queue made here")

        // A run that makes, uses and removes SysV objects of its own: in the host's namespace they would
        // take the ids next to these, and an IPC_RMID by id or a msgsnd would change these lines.
        let trace = try await run("mq.sysv")
        expectWentWell(trace)
        #expect(trace.calls(.messageQueues(.msgget)).contains { ($0.result ?? -1) >= 0 }, "\(describe(trace))")

        // Every field the same: size, attaches, last pids, bytes and messages queued, times.
        #expect(try sysvLine("shm", id: shm) == shmBefore)
        #expect(try sysvLine("msg", id: msq) == msgBefore)
        var ds = shmid_ds()
        #expect(shmctl(shm, IPC_STAT, &ds) == 0, "the host's segment is still there")
        var mq = msqid_ds()
        #expect(msgctl(msq, IPC_STAT, &mq) == 0, "the host's queue is still there")
    }

    @Test("a run's hostname and mounts stay in the run")
    func utsAndMounts() async throws {
        let hostnameBefore = hostname()
        let mountsBefore = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        let trace = try await run("pipe.hello")
        expectWentWell(trace)
        let sethostname = try #require(trace.run.sandbox.setup.first { $0.op.hasPrefix("sethostname") })
        #expect(sethostname.result == 0)
        #expect(hostname() == hostnameBefore)
        #expect(try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) == mountsBefore)
    }

    private func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
