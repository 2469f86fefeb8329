import ArgumentParser
import IPCLabSandbox

/// `ipclab runner`: the exec'd process that run inits are cloned from, one per cgroup slot.
/// Started by the spawner (its request socket on fd 3, the home network namespace on fd 4) with an
/// environment of the spawner's making; not for people.
struct RunnerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Internal: clones run inits for the spawner, started by `ipclab spawner`.",
        shouldDisplay: false
    )

    @Option(help: "Exec a fresh image after this many clones.")
    var reexecEvery = Spawner.defaultReexecEvery

    @Option(help: "What to move onto huge pages at start (CodePages bits; 0: nothing).")
    var codePages = CodePages.standard.rawValue

    @Flag(help: "Skip the warm-up (for a spawner that clones one run).")
    var noWarmUp = false

    func run() throws {
        Spawner.runner(reexecEvery: max(1, reexecEvery), warmUp: !noWarmUp, codePages: CodePages(rawValue: codePages))
    }
}
