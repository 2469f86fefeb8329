import Foundation
import Glibc
import IPCLabCore
import IPCLabSandbox
import Testing

/// Shared memory and semaphores made in a run never reach the host: SysV objects live in the run's
/// IPC namespace, POSIX names in its private /dev/shm. Checked from outside, with `ipcs` and a
/// listing of the host's /dev/shm, while a run holds its objects and after runs of every preset.
@Suite("IPC objects stay in the run", .serialized)
struct IPCHostCleanupTests {
    /// What the host shows: the entries of /dev/shm, and the SysV objects a run's processes could have
    /// made (their uid on the host is one of the run uids), from /proc/sysvipc and from `ipcs`.
    struct HostView: Equatable, CustomStringConvertible {
        var devShm: Set<String>
        var sysvByRunUid: [String]
        var ipcsByNobody: [String]

        var description: String { "dev/shm of a run uid \(devShm.sorted()), sysv of a run uid \(sysvByRunUid), ipcs of a run uid \(ipcsByNobody)" }

        static func isRunUid<S: StringProtocol>(_ field: S) -> Bool {
            UInt32(field).map { $0 >= Spawner.defaultRunUidBase && $0 - Spawner.defaultRunUidBase < Spawner.defaultRunUidCount } ?? false
        }

        static func now() throws -> HostView {
            // A run's objects would belong to its host uid: the host's own (another program's, as a
            // PostgreSQL cluster's segments that come and go meanwhile) are not the test's business.
            let devShm = Set(try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { name in
                var st = stat()
                return lstat("/dev/shm/" + name, &st) != 0 || isRunUid(String(st.st_uid)) || isRunUid(String(st.st_gid))
            })
            var sysv: [String] = []
            for table in ["shm", "sem", "msg"] {
                let lines = try String(contentsOfFile: "/proc/sysvipc/\(table)", encoding: .utf8).split(separator: "\n")
                guard let header = lines.first?.split(whereSeparator: \.isWhitespace),
                      let uid = header.firstIndex(of: "uid"), let cuid = header.firstIndex(of: "cuid") else { continue }
                for line in lines.dropFirst() {
                    let fields = line.split(whereSeparator: \.isWhitespace)
                    if fields.count > max(uid, cuid), isRunUid(fields[uid]) || isRunUid(fields[cuid]) { sysv.append("\(table): \(line)") }
                }
            }
            let ipcs = try command("/usr/bin/ipcs", "-m", "-s", "-q")
            let nobody = ipcs.split(separator: "\n").filter { $0.split(whereSeparator: \.isWhitespace).contains(where: isRunUid) }.map(String.init)
            return HostView(devShm: devShm, sysvByRunUid: sysv, ipcsByNobody: nobody)
        }
    }

    static func command(_ path: String, _ args: String...) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// A run that makes one object of every kind, then holds them for a while.
    static let holding = """
        {"channels": [
           {"name": "seg", "kind": "shared_memory", "type": "sysv", "size": 4096},
           {"name": "region", "kind": "shared_memory", "type": "posix", "shm_name": "/ipclab_leakcheck"},
           {"name": "named", "kind": "semaphore", "type": "posix_named", "sem_name": "/ipclab_leakcheck"},
           {"name": "set", "kind": "semaphore", "type": "sysv", "value": 3}],
         "processes": [{"name": "holder", "steps": [
           {"op": "attach", "channel": "seg"}, {"op": "attach", "channel": "region"},
           {"op": "store", "channel": "region", "data": "held"}, {"op": "sem_post", "channel": "named"},
           {"op": "sleep", "ms": 600}]}]}
        """

    @Test("while a run holds a SysV segment and semaphore, a POSIX object and a named semaphore, the host sees none of them")
    func whileHeld() async throws {
        let before = try HostView.now()
        #expect(!before.devShm.contains("ipclab_leakcheck") && !before.devShm.contains("sem.ipclab_leakcheck"))
        let task = Task { try await run(scenario: Self.holding, wallMs: 3000) }
        // Look from outside while the holder sleeps (its objects exist then: the trace shows them made).
        try await Task.sleep(for: .milliseconds(300))
        let during = try HostView.now()
        let trace = try await task.value
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect((trace.calls(.sharedMemory(.shmget), on: "seg").first?.result ?? -1) >= 0)
        #expect((trace.calls(.semaphores(.semget), on: "set").first?.result ?? -1) >= 0)
        #expect((trace.calls(.sharedMemory(.shmOpen), on: "region").first?.result ?? -1) >= 0)
        #expect((trace.calls(.semaphores(.semOpen), on: "named").first?.result ?? -1) > 0)
        let sleep = try #require(trace.calls(.process(.nanosleep), by: "holder").first)
        #expect((sleep.endNs ?? 0) - sleep.tNs >= 500_000_000)
        #expect(during == before, "during the run the host showed \(during), before \(before)")
        #expect(!during.devShm.contains("ipclab_leakcheck"))
        #expect(!during.devShm.contains("sem.ipclab_leakcheck"))
        #expect(try HostView.now() == before)
    }

    @Test("after runs of every shared-memory and semaphore preset, the host's /dev/shm and ipcs are as before")
    func afterEveryPreset() async throws {
        let before = try HostView.now()
        let ids = Catalog.standard.experiments.map(\.id).filter { $0.hasPrefix("shm.") || $0.hasPrefix("sem.") }
        #expect(ids.count == 9)
        for id in ids {
            let trace = try await run(id, params: id == "shm.race" ? ["increments": 1000] : nil)
            #expect(trace.run.outcome == .ok, "\(id): \(describe(trace))")
        }
        let after = try HostView.now()
        #expect(after == before, "after: \(after); before: \(before)")
        #expect(after.sysvByRunUid.isEmpty && after.ipcsByNobody.isEmpty)
        let names = ["ipclab_region", "ipclab_list", "sem.mutex", "sem.s1", "sem.s2", "sem.s3", "sem.empty", "sem.full"]
        #expect(names.allSatisfy { !after.devShm.contains($0) })
        #expect(after.devShm.count == before.devShm.count)
    }

    @Test("the host view notices what it looks for: a SysV segment of a run uid and a name in /dev/shm, made here on the host")
    func hostViewSeesALeak() throws {
        // Without this control, a view that could not see a leak (a wrong uid, an unread table)
        // would make the tests above pass whatever the runs left behind.
        let before = try HostView.now()
        let id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
        try #require(id >= 0, "shmget: errno \(errno)")
        defer { _ = shmctl(id, IPC_RMID, nil) }
        var ds = shmid_ds()
        try #require(shmctl(id, IPC_STAT, &ds) == 0)
        // The first uid of the run uid pool (runs no longer run as nobody since the exec'd runners).
        ds.shm_perm.uid = Spawner.defaultRunUidBase
        try #require(shmctl(id, IPC_SET, &ds) == 0, "IPC_SET: errno \(errno)")
        let fd = shm_open("/ipclab_leakcheck_control", O_CREAT | O_RDWR, 0o600)
        try #require(fd >= 0)
        defer { close(fd); shm_unlink("/ipclab_leakcheck_control") }
        // As a run's would be: its host uid's (the view leaves the host's own objects out).
        try #require(fchown(fd, Spawner.defaultRunUidBase, Spawner.defaultRunUidBase) == 0, "fchown: errno \(errno)")
        let leaked = try HostView.now()
        #expect(leaked != before)
        #expect(leaked.sysvByRunUid.count == before.sysvByRunUid.count + 1, "\(leaked)")
        #expect(leaked.ipcsByNobody.count == before.ipcsByNobody.count + 1, "\(leaked)")
        #expect(leaked.devShm.contains("ipclab_leakcheck_control"))
    }
}
