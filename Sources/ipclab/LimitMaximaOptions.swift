import ArgumentParser
import IPCLabCore

/// The server maxima of the run limits: `--max-wall-ms`, `--max-cpu-ms`, `--max-memory-bytes`,
/// `--max-processes`, `--max-open-files`, `--max-file-bytes`, `--max-events`, `--max-payload-bytes`.
/// A request asking for more is `400 invalid_limit` at `limits.<field>`; a request asking for
/// nothing gets the default, capped at the maximum.
struct LimitMaximaOptions: ParsableArguments {
    @Option(help: "The largest wall-clock limit a run may ask for, in milliseconds.")
    var maxWallMs = RunLimits.standardMaxima.wallMs

    @Option(help: "The largest CPU time each process of a run may be given, in milliseconds.")
    var maxCpuMs = RunLimits.standardMaxima.cpuMs

    @Option(help: "The largest memory limit of a run (its memory cgroup), in bytes.")
    var maxMemoryBytes = RunLimits.standardMaxima.memoryBytes

    @Option(help: "The largest number of processes a run may have at once (its pids cgroup; its init not counted).")
    var maxProcesses = RunLimits.standardMaxima.processes

    @Option(help: "The largest number of descriptors a run's process may hold (RLIMIT_NOFILE).")
    var maxOpenFiles = RunLimits.standardMaxima.openFiles

    @Option(help: "The largest file a run's process may write, in bytes (RLIMIT_FSIZE).")
    var maxFileBytes = RunLimits.standardMaxima.fileBytes

    @Option(help: "The largest number of trace records a run may make.")
    var maxEvents = RunLimits.standardMaxima.events

    @Option(help: "The most bytes a run's write/send/write_file steps may ask to move in all.")
    var maxPayloadBytes = RunLimits.standardMaxima.payloadBytes

    var maxima: RunLimits {
        RunLimits(wallMs: maxWallMs, cpuMs: maxCpuMs, memoryBytes: maxMemoryBytes, processes: maxProcesses,
                  openFiles: maxOpenFiles, fileBytes: maxFileBytes, events: maxEvents, payloadBytes: maxPayloadBytes)
    }

    func validate() throws {
        guard (100...600_000).contains(maxWallMs) else { throw ValidationError("--max-wall-ms must be 100…600000") }
        let m = maxima
        for field in RunLimits.Field.allCases where m[field] < field.minimum {
            throw ValidationError("--max-\(field.rawValue.replacingOccurrences(of: "_", with: "-")) must be at least \(field.minimum)")
        }
        guard maxEvents <= 4_000_000 else { throw ValidationError("--max-events must be at most 4000000") }
    }
}
