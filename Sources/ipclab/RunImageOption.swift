import ArgumentParser
import IPCLabSandbox

extension RunImage: ExpressibleByArgument {}

/// `--run-image swift|c` (hidden until the C runner has every family: docs/c-runner.md, stage 3):
/// `c` runs every scenario the flat plan covers on `ipclab-runner`, the rest on the Swift runner.
struct RunImageOption: ParsableArguments {
    @Option(help: .hidden)
    var runImage: RunImage = .swift
}
