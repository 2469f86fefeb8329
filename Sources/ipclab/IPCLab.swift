import ArgumentParser

/// `ipclab`: run inter-process-communication experiments in a sandbox and trace them.
@main
struct IPCLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipclab",
        abstract: "Run real IPC experiments (pipes, FIFOs, …) in sandboxed processes and trace what the kernel answered.",
        version: "0.1.0",
        subcommands: [ServeCommand.self, RunCommand.self, GradeCommand.self, ExperimentsCommand.self, SpawnerCommand.self, RunnerCommand.self]
    )
}
