import ArgumentParser
import IPCLabSandbox

extension RunImage: ExpressibleByArgument {}

/// `--run-image c|swift`: which image a run's processes come from (docs/c-runner.md). `c` (the default)
/// runs every scenario the flat plan covers on `ipclab-runner`, built by `make build` beside `ipclab`,
/// and the rest (programs) on the Swift runner; `swift` runs everything on the Swift runner, as before
/// the C runner existed.
struct RunImageOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Where runs' processes come from: c (the C runner, ipclab-runner beside this binary; programs still run on the Swift runner) or swift (the Swift runner only).",
        valueName: "c|swift"))
    var runImage: RunImage = .c
}
