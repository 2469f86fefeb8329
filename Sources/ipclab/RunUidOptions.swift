import ArgumentParser
import IPCLabSandbox

/// `--run-uid-base` and `--run-uid-count`: the host uids (and gids) runs are given, three per live run.
struct RunUidOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The first host uid (and gid) given to runs: each live run has one of its own, returned when it ends, so the kernel's per-user limits (pending signals, POSIX queue memory, processes) are each run's. Pick a range no real user or container has.",
        valueName: "UID"))
    var runUidBase: UInt32 = Spawner.defaultRunUidBase

    @Option(help: ArgumentHelp("How many host uids runs may use: three per run (its root and its ids 1 and 2), so at most a third as many runs at once, ready ones included.", valueName: "N"))
    var runUidCount: UInt32 = Spawner.defaultRunUidCount

    func validate() throws {
        guard runUidBase >= 1 else { throw ValidationError("--run-uid-base must not be 0 (root)") }
        guard runUidCount >= 4 else { throw ValidationError("--run-uid-count must be at least 4") }
        guard UInt64(runUidBase) + UInt64(runUidCount) <= UInt64(UInt32.max) else {
            throw ValidationError("--run-uid-base + --run-uid-count must stay below 4294967295")
        }
        guard !(runUidBase...(runUidBase + runUidCount - 1)).contains(65534) else {
            throw ValidationError("the run uid range must not hold 65534 (nobody)")
        }
    }

    var options: Spawner.Options {
        var o = Spawner.Options()
        o.uidBase = runUidBase
        o.uidCount = runUidCount
        return o
    }
}
