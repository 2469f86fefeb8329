import IPCLabCore
import Logging

/// The two spawners of `--run-image c` (``RunImage``): which one takes a run, and the server's view of both.
extension LabRunner {
    /// Starts the spawners `image` needs and a runner over them. With ``RunImage/c``: the C runner must be
    /// beside `executable` (else ``RunImage/Unavailable``, naming it), and the run uids of `options` are
    /// split between the two spawners (``RunImage/split(_:)``); each spawner's cgroup slots are in a
    /// directory named by its own pid and its network namespaces are its own, so nothing else is shared.
    /// - Parameter adoptOrphans: as ``SpawnerClient/init(executable:insecure:options:runnerExecutable:logger:adoptOrphans:)``;
    ///   the Swift spawner's client reaps for both.
    public static func start(image: RunImage, executable: String? = nil, insecure: Bool = false, options: Spawner.Options,
                             logger: Logger, adoptOrphans: Bool = false, maxima: RunLimits) throws -> LabRunner {
        guard image == .c else {
            return LabRunner(spawner: try SpawnerClient(executable: executable, insecure: insecure, options: options, logger: logger,
                                                        adoptOrphans: adoptOrphans), maxima: maxima)
        }
        let binary = executable ?? Spawner.ownExecutable()
        let runner = try RunImage.checkedRunnerExecutable(beside: binary)
        var split = try RunImage.split(options)
        // A C runner's text alone goes on a huge page, from the code file its spawner makes of it (CodePages;
        // `--no-huge-code-pages` leaves it on its file pages as every other runner's).
        split.c.codePages = split.c.codePages.intersection(.text)
        let swift = try SpawnerClient(executable: binary, insecure: insecure, options: split.swift, logger: logger,
                                      adoptOrphans: adoptOrphans)
        let c: SpawnerClient
        do {
            c = try SpawnerClient(executable: binary, insecure: insecure, options: split.c, runnerExecutable: runner, logger: logger)
        } catch {
            swift.shutdown()
            throw error
        }
        if adoptOrphans { swift.adopt(c) }
        return LabRunner(spawner: swift, cSpawner: c, maxima: maxima)
    }

    /// The spawner that runs `request` and the plan it reads: the flat plan on the C runners when there are
    /// some, the request is no program run and its scenario compiles; else the JSON plan (or the programs'
    /// plan) on the Swift runners, as without C runners. `image` forces one (the self-test runs on both).
    func route(_ request: RunRequest, image: RunImage? = nil) -> (SpawnerClient, plan: [UInt8]) {
        if let cSpawner, request.programs == nil, image != .swift,
           let flat = FlatPlan.compile(request.scenario, schedule: request.schedule, cache: flatPlans) {
            return (cSpawner, flat)
        }
        return (spawner, request.programs.map(ProgramPlan.encode) ?? RunPlan.encode(request.scenario, schedule: request.schedule))
    }

    /// What `/healthz` says of the spawners together: with two, `running` only while both are (a run of
    /// either kind could not start otherwise), the pid of the one that takes scenarios (the C runners'), and
    /// the restarts of both. ``spawnerReports`` has each.
    public var spawnerStatus: SpawnerClient.Status {
        let swift = spawner.status
        guard let c = cSpawner?.status else { return swift }
        return SpawnerClient.Status(running: swift.running && c.running, pid: c.pid, restarts: swift.restarts + c.restarts)
    }

    /// One spawner as `/healthz` lists it: the image of its runners, and its status.
    public struct SpawnerReport: Sendable, Hashable {
        public var image: RunImage
        public var status: SpawnerClient.Status
    }

    /// Every spawner, the one that takes scenarios first: the C runners' when there is one, then the Swift runners'.
    public var spawnerReports: [SpawnerReport] {
        let swift = SpawnerReport(image: .swift, status: spawner.status)
        guard let c = cSpawner?.status else { return [swift] }
        return [SpawnerReport(image: .c, status: c), swift]
    }

    /// Stops every spawner (each kills its runs and exits).
    public func shutdown() {
        cSpawner?.shutdown()
        spawner.shutdown()
    }
}
