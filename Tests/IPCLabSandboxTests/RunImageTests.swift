import Foundation
import IPCLabCore
@testable import IPCLabSandbox
import Logging
import Testing

/// `--run-image c` without the C runner: which spawner a run goes to with which plan, the run uids the two
/// spawners get, what `/healthz` reads of them, and the refusal when `ipclab-runner` is missing.
@Suite("Run images")
struct RunImageTests {
    static let logger = Logger(label: "ipclab.tests") { _ in SwiftLogNoOpLogHandler() }

    @Test("The run uids are split in whole runs, the Swift spawner's first, none shared")
    func uidSplit() throws {
        var o = Spawner.Options()
        o.uidBase = 1000
        o.uidCount = 65536
        let (swift, c) = try RunImage.split(o)
        #expect(swift.uidBase == 1000)
        #expect(swift.uidCount % 3 == 0)
        #expect(c.uidBase == swift.uidBase + swift.uidCount)
        #expect(c.uidBase + c.uidCount == 1000 + 65536)
        #expect(c.uidCount >= 3 && swift.uidCount >= 3)
        // Each pool hands out uids only inside its own range.
        var a = RunUidPool(base: swift.uidBase, count: swift.uidCount), b = RunUidPool(base: c.uidBase, count: c.uidCount)
        var taken = Set<UInt32>()
        while let uid = a.take() { taken.formUnion([uid, uid + 1, uid + 2]) }
        while let uid = b.take() {
            #expect(taken.isDisjoint(with: [uid, uid + 1, uid + 2]))
            #expect(uid + 2 < 1000 + 65536)
        }
        o.uidCount = 6
        let small = try RunImage.split(o)
        #expect(small.swift.uidCount == 3 && small.c.uidBase == 1003 && small.c.uidCount == 3)
        o.uidCount = 5
        #expect(throws: RunImage.Unavailable.self) { try RunImage.split(o) }
    }

    @Test("Without ipclab-runner beside ipclab, --run-image c refuses to start, naming the path and make build")
    func missingRunner() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipclab-runimage-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = dir.appendingPathComponent("ipclab").path
        do {
            _ = try LabRunner.start(image: .c, executable: binary, options: Spawner.Options(), logger: Self.logger, maxima: .standardMaxima)
            Issue.record("a runner started without ipclab-runner")
        } catch let error as RunImage.Unavailable {
            #expect(error.description.contains(dir.appendingPathComponent("ipclab-runner").path))
            #expect(error.description.contains("make build"))
        }
        #expect(RunImage.runnerExecutable(beside: "/opt/x/ipclab") == "/opt/x/ipclab-runner")
    }

    @Test("With a C spawner, a scenario with a flat plan goes there with it; programs and other families go to the Swift one with their JSON plan")
    func routing() throws {
        let shared = try Lab.shared()
        // Two clients of one spawner suffice here: routing compares the clients, nothing is run.
        let runner = LabRunner(spawner: shared.spawner, cSpawner: try SpawnerClient(executable: shared.spawner.executable, options: Self.spare, logger: Self.logger),
                               maxima: shared.maxima)
        defer { runner.cSpawner?.shutdown() }
        let hello = try RunRequest.preset("pipe.hello", params: nil)
        let (s1, p1) = runner.route(hello)
        #expect(s1 === runner.cSpawner)
        #expect(p1 == FlatPlan.compile(hello.scenario, schedule: nil))
        let (s2, p2) = runner.route(hello, image: .swift)
        #expect(s2 === runner.spawner)
        #expect(p2 == RunPlan.encode(hello.scenario, schedule: nil))
        // Every preset's scenario has a flat plan now, the measurements over TCP, sockets and queues too.
        let bench = try RunRequest.preset("bench.latency", params: nil)
        let (s3, p3) = runner.route(bench)
        #expect(s3 === runner.cSpawner)
        #expect(p3 == FlatPlan.compile(bench.scenario, schedule: nil))
        // A program run's scenario (processes without steps) would compile: it is the programs' plan, on Swift.
        let program = try RunRequest.programRequest(.array([.object(["name": .string("a"), "source": .string("int main(void) { return 0; }")])]),
                                                    limits: nil, maxima: .standardMaxima)
        #expect(FlatPlan.compile(program.scenario, schedule: nil) != nil)
        let (s5, p5) = runner.route(program)
        #expect(s5 === runner.spawner)
        #expect(p5 == ProgramPlan.encode(try #require(program.programs)))
        // Without a C spawner, everything goes to the Swift one, as before.
        let (s4, p4) = shared.route(hello)
        #expect(s4 === shared.spawner)
        #expect(p4 == RunPlan.encode(hello.scenario, schedule: nil))
        // healthz: running while both are, the scenario spawner's (the C runners') pid, both spawners' restarts;
        // then each, the C runners' first.
        let status = runner.spawnerStatus
        #expect(status.running)
        #expect(status.pid == runner.cSpawner?.status.pid)
        #expect(runner.spawnerReports.map(\.image) == [.c, .swift])
        #expect(runner.spawnerReports.map(\.status.pid) == [runner.cSpawner?.status.pid, shared.spawner.status.pid])
        #expect(shared.spawnerReports.map(\.image) == [.swift])
        runner.cSpawner?.shutdown()
        #expect(!runner.spawnerStatus.running)
    }

    @Test("The second spawner gets the flat plan in the ring: a Swift runner there cannot read it, the first spawner still runs everything else")
    func flatPlanReachesTheSecondSpawner() async throws {
        let shared = try Lab.shared()
        // A Swift spawner posing as the C one: what its init finds in the ring shows the plan that went there.
        let runner = LabRunner(spawner: shared.spawner, cSpawner: try SpawnerClient(executable: shared.spawner.executable, options: Self.spare, logger: Self.logger),
                               maxima: shared.maxima)
        defer { runner.cSpawner?.shutdown() }
        let flat = try await offThePool { try runner.run(try RunRequest.preset("pipe.hello", params: nil)) }
        #expect(flat.run.outcome == .error)
        #expect(flat.run.reason == "the run's plan could not be read (EINVAL)", "\(flat.run.reason ?? "no reason")")
        // A program run (every family of scenario has a flat plan now): the Swift spawner's.
        let program = try RunRequest.programRequest(.array([.object(["name": .string("a"), "source": .string("int main(void) { return 0; }")])]),
                                                    limits: nil, maxima: .standardMaxima)
        let other = try await offThePool { try runner.run(program) }
        #expect(other.run.outcome == .ok, "\(other.run.reason ?? "")")
        #expect(other.processes.first?.exit == .code(0), "\(other.processes)")
    }

    /// Run uids of their own for the second spawner (the shared one uses the default range).
    static var spare: Spawner.Options {
        var o = Spawner.Options()
        o.uidBase = RunUidPool.defaultBase + RunUidPool.defaultCount
        o.uidCount = 300
        o.oneShot = true
        return o
    }
}
