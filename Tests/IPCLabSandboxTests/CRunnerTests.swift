import CIPCLab
import Foundation
import Glibc
import IPCLabCore
@testable import IPCLabSandbox
import Logging
import Synchronization
import Testing

/// The C runner (`ipclab-runner`, docs/c-runner.md) end to end: a spawner of its own started with
/// `--runner-executable`, runs handed to it with hand-built flat plans, and what the run's init
/// wrote read back from the ring. `make build` (or `make runner`) builds the runner beside `ipclab`.
enum CLab {
    /// `ipclab-runner` beside the `ipclab` the tests use.
    static let runnerPath: Result<String, MissingRunner> = {
        guard let ipclab = try? Lab.binary.get() else { return .failure(MissingRunner(path: "(no ipclab binary)")) }
        let path = URL(fileURLWithPath: ipclab).deletingLastPathComponent().appendingPathComponent("ipclab-runner").path
        return access(path, X_OK) == 0 ? .success(path) : .failure(MissingRunner(path: path))
    }()

    /// A spawner whose runners are the C runner.
    static let spawner: Result<SpawnerClient, any Error> = Result {
        let logger = Logger(label: "ipclab.tests.c") { _ in SwiftLogNoOpLogHandler() }
        return try SpawnerClient(executable: try Lab.binary.get(), runnerExecutable: try runnerPath.get(), logger: logger)
    }

    struct MissingRunner: Error, CustomStringConvertible {
        var path: String
        var description: String { "the C runner was not found at \(path): run `make runner` (make build/test do) first" }
    }

    /// What a run on the C runner left: its trace, its records in ring order, its ring's header.
    struct Run: Sendable {
        var trace: Trace
        var records: [ipclab_record]
        var header: RingHeader
    }

    /// Runs `plan` (any bytes) on the C runner as `scenario` (the JSON the trace is built against).
    /// `tamper` changes the ring after the server's writes, before the run is handed over.
    /// `on` is another spawner (the Swift runner's, for a comparison). `meanwhile` runs every
    /// millisecond on a thread of its own while the run goes on (a run's process writing its ring).
    static func run(plan: [UInt8], scenario: String, wallMs: Int, on other: SpawnerClient? = nil,
                    tamper: @escaping @Sendable (EventRing) -> Void = { _ in },
                    meanwhile: (@Sendable (Header) -> Void)? = nil) async throws -> Run {
        let client = try other ?? spawner.get()
        let body = #"{"scenario": \#(scenario), "limits": {"wall_ms": \#(wallMs)}}"#
        let request = try RunRequest.decode(Array(body.utf8))
        return try await offThePool {
            let ring = try EventRing(capacity: UInt32(request.limits.events) + UInt32(IPCLAB_INIT_RESERVE), planCapacity: plan.count)
            ring.writePlan(plan)
            let l = request.limits
            let limits = ipclab_run_limits(wall_ms: Int64(l.wallMs), cpu_ms: Int64(l.cpuMs), memory_bytes: Int64(l.memoryBytes),
                                           processes: Int64(l.processes), open_files: Int64(l.openFiles), file_bytes: Int64(l.fileBytes))
            ring.writeLimits(limits)
            tamper(ring)
            let over = Atomic<Bool>(false)
            if let meanwhile {
                let header = Header(pointer: ring.header)
                Thread {
                    while !over.load(ordering: .acquiring) {
                        meanwhile(header)
                        usleep(1000)
                    }
                }.start()
            }
            defer { over.store(true, ordering: .releasing) }
            let completion = try client.execute(ring: ring, runID: UInt64.random(in: 1...UInt64.max), limits: limits, usesTCP: false,
                                                filterAtGo: FlatPlan.needsFilterAtGo(plan, fileBytes: limits.file_bytes))
            let trace = LabRunner.trace(of: ring, request: request, runID: "c", startedAt: LabRunner.rfc3339Now(),
                                        failure: completion.failure?.description)
            let header = ring.readHeader()
            return Run(trace: trace, records: (0..<header.claimed).map { ring.record($0).pointee }, header: header)
        }
    }

    /// A ring's header, shared with a thread that writes it while the run goes on (as the run could).
    struct Header: @unchecked Sendable {
        var pointer: UnsafeMutablePointer<ipclab_ring_header>
    }

    static func call(_ r: ipclab_record) -> String {
        withUnsafeBytes(of: r.call) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

@Suite("C runner", .serialized)
struct CRunnerTests {
    static let sleeper = #"{"processes": [{"name": "solo", "steps": [{"op": "sleep", "ms": 1}]}]}"#
    static let sleeperPlan = HandFlatPlan(processes: [("solo", [.sleep(ms: 1)])]).bytes()
    /// One process reading a pipe whose write end only it holds: blocked for good.
    static let blockedReader = #"""
        {"channels": [{"name": "p", "kind": "pipe"}],
         "processes": [{"name": "solo", "steps": [{"op": "read", "channel": "p", "size": 1}]}]}
        """#
    static let blockedReaderPlan = HandFlatPlan(channels: [.init(name: "p")], processes: [("solo", [.read(channel: 0, size: 1)])]).bytes()

    @Test("a flat plan runs to ok; its set-up reads as the Swift init's on this host, seccomp with 2 filters")
    func runsLikeTheSwiftInit() async throws {
        let c = try await CLab.run(plan: Self.sleeperPlan, scenario: Self.sleeper, wallMs: 3000)
        let (trace, records) = (c.trace, c.records)
        #expect(trace.run.outcome == .ok, "\(trace.run.reason ?? "") \(describe(trace))")
        let start = records.first { $0.kind == UInt16(IPCLAB_REC_START.rawValue) }
        #expect(start?.process == 0, "participant 0 started")
        let reap = records.first { $0.kind == UInt16(IPCLAB_REC_REAP.rawValue) }
        #expect(reap != nil && reap!.process == -1 && reap!.result == Int64(start?.pid ?? -2), "the init reaped participant 0")
        #expect(trace.run.sandbox.seccomp == SandboxReport.Seccomp(mode: "filter", filters: 2))
        // The same scenario on the Swift runner, on this host: the same operations, results and errnos.
        let swift = try await run(scenario: Self.sleeper, wallMs: 3000)
        func list(_ t: Trace) -> [String] {
            t.run.sandbox.setup.map { op in
                // RLIMIT_AS adds the init's own virtual size (docs/c-runner.md, Risks): only its name's start compares.
                let name = op.op.hasPrefix("RLIMIT_AS ") ? "RLIMIT_AS" : op.op
                return "\(name) = \(op.result) \(op.errno ?? "")"
            }
        }
        #expect(list(trace) == list(swift), "C: \(list(trace))\nSwift: \(list(swift))")
        #expect(trace.run.sandbox.namespaces == swift.run.sandbox.namespaces)
        #expect(!list(trace).isEmpty)
    }

    @Test("the init's seccomp report (no /proc of its own read: the runner's count and its own installs) is what the host's /proc says of it; its process has oom_score_adj 1000")
    func seccompReportAsTheHostSeesIt() async throws {
        let name = "filters_probe"
        let scenario = #"{"processes": [{"name": "filters_probe", "steps": [{"op": "sleep", "ms": 400}]}]}"#
        let plan = HandFlatPlan(processes: [(name, [.sleep(ms: 400)])]).bytes()
        let seen = HostSeccomp()
        let c = try await CLab.run(plan: plan, scenario: scenario, wallMs: 3000, meanwhile: { _ in
            guard seen.value == nil, let probe = hostProcesses(named: [name]).keys.first,
                  let parent = procStatus(probe, "PPid")?.first.flatMap({ Int32($0) }) else { return }
            // The probe's parent is its run's init, whose filters are all in place once the probe runs.
            let adjusted = try? String(contentsOfFile: "/proc/\(probe)/oom_score_adj", encoding: .utf8)
            seen.record(mode: procStatus(parent, "Seccomp"), filters: procStatus(parent, "Seccomp_filters"),
                        oomScoreAdj: adjusted?.trimmingCharacters(in: .whitespacesAndNewlines))
        })
        #expect(c.trace.run.outcome == .ok, "\(c.trace.run.reason ?? "") \(describe(c.trace))")
        let report = try #require(c.trace.run.sandbox.seccomp, "no seccomp report in \(describe(c.trace))")
        let host = try #require(seen.value, "the probe was never seen on the host")
        #expect(host.mode == ["2"] && report.mode == "filter", "host \(host.mode ?? []), trace \(report)")
        #expect(host.filters != nil && host.filters == report.filters.map { [String($0)] }, "host \(host.filters ?? []), trace \(report)")
        // The OOM killer's first choice, from its init (the spawner writes it beside the init's id maps).
        #expect(host.oomScoreAdj == "1000", "oom_score_adj \(host.oomScoreAdj ?? "unread")")
    }

    /// The `Seccomp:` and `Seccomp_filters:` fields of a run's init, and its process's `oom_score_adj`, as the host's /proc showed them.
    final class HostSeccomp: Sendable {
        struct Fields { var mode, filters: [String]?; var oomScoreAdj: String? }
        private let fields = Mutex<Fields?>(nil)
        func record(mode: [String]?, filters: [String]?, oomScoreAdj: String?) {
            fields.withLock { $0 = Fields(mode: mode, filters: filters, oomScoreAdj: oomScoreAdj) }
        }
        var value: Fields? { fields.withLock { $0 } }
    }

    @Test("a plan that is not a flat plan (garbage, or a JSON plan) ends the run: the run's plan could not be read")
    func garbagePlan() async throws {
        let json = RunPlan.encode(try RunRequest.decode(Array(#"{"scenario": \#(Self.sleeper)}"#.utf8)).scenario, schedule: RunSchedule())
        var truncated = Self.sleeperPlan
        truncated.removeLast(8)
        for plan in [[UInt8](repeating: 0x5A, count: 200), json, truncated] {
            let c = try await CLab.run(plan: plan, scenario: Self.sleeper, wallMs: 3000)
            let trace = c.trace
            #expect(trace.run.outcome == .error)
            let header = c.header
            #expect(header.failure == "the run's plan could not be read", "\(header.failure)")
            #expect(header.failedErrno == EINVAL)
            #expect(!c.records.contains { $0.kind == UInt16(IPCLAB_REC_START.rawValue) }, "no process ran")
        }
    }

    @Test("a plan the header puts past the ring's end, or away from the records' end, is refused: does not fit its ring")
    func planOutsideTheRing() async throws {
        let tampers: [@Sendable (EventRing) -> Void] = [
            { $0.header.pointee.plan_length = UInt32(Self.sleeperPlan.count + 4096) },
            { $0.header.pointee.plan_offset += 200 },
        ]
        for tamper in tampers {
            let c = try await CLab.run(plan: Self.sleeperPlan, scenario: Self.sleeper, wallMs: 3000, tamper: tamper)
            #expect(c.header.failure == "the run's plan does not fit its ring", "\(c.header.failure)")
            #expect(c.header.failedErrno == EINVAL)
            #expect(c.trace.run.outcome == .error)
        }
    }

    @Test("a required set-up operation that fails ends the run with the Swift init's reason, errno and set-up list")
    func requiredSetupFails() async throws {
        // More open files than the kernel allows (nr_open): RLIMIT_NOFILE, a required operation, fails.
        let tamper: @Sendable (EventRing) -> Void = { $0.header.pointee.limits.open_files = 1 << 40 }
        let c = try await CLab.run(plan: Self.sleeperPlan, scenario: Self.sleeper, wallMs: 3000, tamper: tamper)
        let json = RunPlan.encode(try RunRequest.decode(Array(#"{"scenario": \#(Self.sleeper)}"#.utf8)).scenario, schedule: nil)
        let swift = try await CLab.run(plan: json, scenario: Self.sleeper, wallMs: 3000, on: try Lab.shared().spawner, tamper: tamper)
        #expect(c.header.failure == "sandbox set-up failed: RLIMIT_NOFILE 1099511627776", "\(c.header.failure)")
        #expect(c.header.failure == swift.header.failure && c.header.failedErrno == swift.header.failedErrno && c.header.failedErrno != 0)
        // The operations as the trace lists them: the C init records those done ahead as one record
        // (IPCLAB_SETUP_AHEAD_CALL), the Swift init one by one.
        func setup(_ r: CLab.Run) -> [String] {
            r.trace.run.sandbox.setup.map { "\($0.op) \($0.result) \($0.errno ?? "")" }
        }
        #expect(setup(c) == setup(swift), "C: \(setup(c))\nSwift: \(setup(swift))")
        #expect(c.records.contains { CLab.call($0) == SetupAhead.call }, "the C init recorded its operations done ahead as one record")
        #expect(!c.records.contains { $0.kind == UInt16(IPCLAB_REC_START.rawValue) }, "no process ran")
    }

    @Test("the wall-clock limit: a timeout note with the limit, everything killed and reaped, outcome timeout")
    func wallClockTimeout() async throws {
        let scenario = #"{"processes": [{"name": "solo", "steps": [{"op": "sleep", "ms": 10000}]}]}"#
        let plan = HandFlatPlan(processes: [("solo", [.sleep(ms: 10_000)])]).bytes()
        let began = nowMs()
        let c = try await CLab.run(plan: plan, scenario: scenario, wallMs: 300)
        let (trace, records) = (c.trace, c.records)
        #expect(trace.run.outcome == .timeout, "\(describe(trace))")
        let note = records.first { $0.kind == UInt16(IPCLAB_REC_NOTE.rawValue) && CLab.call($0) == "timeout" }
        #expect(note?.args.0 == 300)
        #expect(records.contains { $0.kind == UInt16(IPCLAB_REC_REAP.rawValue) && $0.args.1 & 0x7f == SIGKILL },
                "participant 0 was killed and reaped")
        #expect(nowMs() - began < 9000, "ended by the limit, not by the sleep")
    }

    @Test("the wall-clock limit holds when the run writes its ring's t0 (the init keeps its own clock)")
    func wallClockDespiteT0() async throws {
        try await Self.expectWallClockDespiteT0(plan: HandFlatPlan(processes: [("solo", [.sleep(ms: 10_000)])]).bytes(), on: nil)
    }

    @Test("the Swift init's wall-clock limit holds too when the run writes its ring's t0 (ring.c keeps the run's t0 in private memory)")
    func swiftWallClockDespiteT0() async throws {
        let plan = RunPlan.encode(try Scenario.decode(try JSONValue.parse(Array(Self.longSleeper.utf8))), schedule: nil)
        try await Self.expectWallClockDespiteT0(plan: plan, on: try Lab.shared().spawner)
    }

    static let longSleeper = #"{"processes": [{"name": "solo", "steps": [{"op": "sleep", "ms": 10000}]}]}"#

    /// Runs ``longSleeper`` (as `plan`, on `spawner`: nil for the C runner's) with a 300 ms limit while its
    /// ring's t0 is written an hour ahead — by the header's clock the run would have used no time at all —
    /// and expects the init to end it at its limit anyway.
    static func expectWallClockDespiteT0(plan: [UInt8], on spawner: SpawnerClient?) async throws {
        let began = nowMs()
        let c = try await CLab.run(plan: plan, scenario: longSleeper, wallMs: 300, on: spawner, meanwhile: { header in
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            header.pointer.pointee.t0 = Int64(now.tv_sec) * 1_000_000_000 + 3_600_000_000_000
        })
        #expect(c.records.contains { $0.kind == UInt16(IPCLAB_REC_NOTE.rawValue) && CLab.call($0) == "timeout" && $0.args.0 == 300 },
                "the init ended the run at its limit")
        #expect(c.header.outcome == IPCLAB_OUTCOME_TIMEOUT)
        #expect(nowMs() - began < 3000, "ended by the init, not by the spawner's grace (wall + 3 s)")
    }

    @Test("the deadlock watch: a process blocked reading a pipe no one writes is named in a deadlock note")
    func deadlock() async throws {
        let c = try await CLab.run(plan: Self.blockedReaderPlan, scenario: Self.blockedReader, wallMs: 5000)
        let (trace, records) = (c.trace, c.records)
        let read = records.indices.first { records[$0].kind == UInt16(IPCLAB_REC_EVENT.rawValue) && CLab.call(records[$0]) == "read" }
        let note = records.first { $0.kind == UInt16(IPCLAB_REC_NOTE.rawValue) && CLab.call($0) == "deadlock" }
        #expect(read != nil, "the read was recorded: \(describe(trace))")
        #expect(note?.result == 1 && note.map { Int($0.args.0) } == read, "the note names the blocked read")
        #expect(c.header.outcome == IPCLAB_OUTCOME_TIMEOUT)
        #expect(trace.run.outcome == .deadlock || trace.run.outcome == .timeout)
    }

    @Test("a run that scribbles over its pids and records while it blocks: the init's watch reads them bounded and still ends the run")
    func hostileRingUnderTheWatch() async throws {
        let c = try await CLab.run(plan: Self.blockedReaderPlan, scenario: Self.blockedReader, wallMs: 400, meanwhile: { header in
            let h = header.pointer
            withUnsafeMutableBytes(of: &h.pointee.pids) { pids in
                for (i, pid) in [Int32(1), -1, .max, 0, 424_242].enumerated() { pids.storeBytes(of: pid, toByteOffset: 4 * i, as: Int32.self) }
            }
            let records = UnsafeMutableRawPointer(h).advanced(by: Int(ipclab_ring_records_offset())).assumingMemoryBound(to: ipclab_record.self)
            for i in 0..<min(Int(h.pointee.next), 64) {
                records[i].process = .max
                withUnsafeMutableBytes(of: &records[i].call) { $0.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "x")) }
            }
        })
        #expect(c.header.outcome == IPCLAB_OUTCOME_TIMEOUT, "the init ended the run itself: \(c.header.outcome)")
    }

    @Test("the spawner's runners are ipclab-runner: its argv, an empty environment, no descriptor past its code file")
    func runnersAreTheCImage() async throws {
        _ = try await CLab.run(plan: Self.sleeperPlan, scenario: Self.sleeper, wallMs: 3000)
        let client = try CLab.spawner.get()
        let spawner = try #require(client.status.pid)
        let runner = try CLab.runnerPath.get()
        let slots = hostProcesses(named: ["ipclab-slot"]).keys.filter { pid in
            procStatus(pid, "PPid")?.first == String(spawner)
        }
        #expect(!slots.isEmpty, "the spawner \(spawner) has runners")
        for pid in slots {
            let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
            #expect(exe == URL(fileURLWithPath: runner).resolvingSymlinksInPath().path, "runner \(pid) runs \(exe)")
            let argv = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8).split(separator: "\0").map(String.init)
            // The spawner's spelling; a runner that re-exec'd itself says that it holds the base filter already.
            let spawnersArgv = ["ipclab-runner", "runner", "--reexec-every", String(Spawner.defaultReexecEvery)]
            #expect(argv == spawnersArgv || argv == spawnersArgv + ["--base-filter-held"], "\(argv)")
            // The seccomp base is the runner's own, once per image (every init is its clone and inherits it):
            // no new privileges, filter mode, and on top of what the host itself put there, exactly one filter
            // (a re-exec keeps it and does not stack another).
            #expect(procStatus(pid, "NoNewPrivs")?.first == "1", "runner \(pid)")
            #expect(procStatus(pid, "Seccomp")?.first == "2", "runner \(pid)")
            let hostFilters = Int(procStatus(spawner, "Seccomp_filters")?.first ?? "0") ?? 0
            #expect(procStatus(pid, "Seccomp_filters")?.first == String(hostFilters + 1), "runner \(pid)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")).isEmpty)
            // Its mount namespace (each run's is a copy) has no /sys, nor anything mounted under it.
            let mountPoints = try String(contentsOfFile: "/proc/\(pid)/mountinfo", encoding: .utf8)
                .split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst(4).first.map(String.init) }
            #expect(mountPoints.contains("/") && !mountPoints.contains { $0 == "/sys" || $0.hasPrefix("/sys/") }, "\(mountPoints)")
            // 0-2 (the spawner's stdio), 3 the request socket, 4 the home netns, 5 its own executable, 6 the
            // spawner's code file of its text (read-only, an unnamed file on the spawner's tmpfs, mapped over
            // the text by a huge page: HugeCodePagesTests). While it clones an init (the spawner prepares the
            // next one after each run) it also holds what came with the request, for a moment: a leak is what
            // is still there after that.
            if HugeCodePagesTests.hugePagesAvailable {
                let code = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/6")
                #expect(code.hasPrefix("/#") && code.hasSuffix("(deleted)"), "runner \(pid)'s fd 6 is \(code)")
                let flags = try String(contentsOfFile: "/proc/\(pid)/fdinfo/6", encoding: .utf8)
                    .split(separator: "\n").first { $0.hasPrefix("flags:") }.flatMap { Int($0.split(separator: "\t").last ?? "", radix: 8) }
                #expect(flags.map { $0 & Int(O_ACCMODE) == Int(O_RDONLY) } == true, "runner \(pid)'s code file is open for writing")
                // (Polled: a runner that re-execs after a pause maps it again as its new image starts.)
                var huge: Int64 = 0
                for _ in 0..<100 where huge != 2 << 20 && kill(pid, 0) == 0 {
                    huge = CodePages.hugeExecutableBytes(of: pid)
                    if huge != 2 << 20 { usleep(10_000) }
                }
                #expect(huge == 2 << 20 || kill(pid, 0) != 0, "runner \(pid)'s text is not on its huge page: \(huge) bytes")
            }
            var fds: [Int] = []
            for _ in 0..<100 {
                // A runner may end meanwhile (the spawner drops runners and makes others): it holds nothing then.
                guard let listed = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else {
                    #expect(kill(pid, 0) != 0, "runner \(pid)'s descriptors could not be listed while it runs")
                    fds = []
                    break
                }
                fds = listed.compactMap(Int.init).sorted()
                if fds.allSatisfy({ $0 <= 6 }) { break }
                usleep(10_000)
            }
            #expect(fds.allSatisfy { $0 <= 6 }, "runner \(pid) holds \(fds)")
        }
    }
}
