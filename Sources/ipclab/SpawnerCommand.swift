import ArgumentParser
import IPCLabSandbox

/// `ipclab spawner`: the single-threaded process that creates runs. Started by the
/// server (its socket on fd 3); not for people.
struct SpawnerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spawner",
        abstract: "Internal: the run spawner, started by `ipclab serve` and `ipclab run`.",
        shouldDisplay: false
    )

    @Flag(help: "Clone runs without the namespaces this host cannot make (see `serve --insecure-no-sandbox`).")
    var insecureNoSandbox = false

    @OptionGroup var runUids: RunUidOptions

    @Option(help: "A runner execs a fresh image after this many clones.")
    var reexecEvery = Spawner.defaultReexecEvery

    @Option(help: "What runners move onto huge pages (CodePages bits; 0: nothing).")
    var codePages = CodePages.standard.rawValue

    @Flag(help: "Serve one run: nothing made ahead of time, runners without warm-up (`ipclab run`).")
    var oneShot = false

    @Option(help: "Exec runners from this C runner (`ipclab-runner`) instead of this image.")
    var runnerExecutable: String?

    @Flag(help: "Keep to no one core (see `serve --no-run-core`).")
    var noRunCore = false

    func run() throws {
        var options = runUids.options
        options.reexecEvery = max(1, reexecEvery)
        options.oneShot = oneShot
        options.codePages = CodePages(rawValue: codePages)
        options.runnerExecutable = runnerExecutable
        options.runCore = !noRunCore
        Spawner.serve(insecure: insecureNoSandbox, options: options)
    }
}
