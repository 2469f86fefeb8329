import ArgumentParser
import Foundation
import IPCLabCore
import IPCLabSandbox
import Logging

/// `ipclab grade`: a grade without a server (as Gradescope runs graders, in a container), through
/// the same sandbox, checks and report as `POST /api/v1/grades`.
struct GradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grade",
        abstract: "Run a scenario or an experiment repeatedly under a perturbed schedule and grade it by checks.",
        discussion: """
            Examples:
              ipclab grade --scenario submission.json --checks checks.json --repeat 20 --jitter-us 1000
              ipclab grade --experiment sem.producer_consumer --param items=12 --checks checks.json --format gradescope > results.json
              ipclab grade --program server=server.c --program client=client.c --checks checks.json
              ipclab grade --experiment pipe.hello --checks checks.json --format json --fields run,checks
            The checks file holds the `checks` array of the API (or an object with a `checks` field).
            Exit status: 0 when every check passed in every run, 1 when not, 2 for a bad submission or checks, 64 for bad options.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, gradescope, text
    }

    @Option(help: ArgumentHelp("The submission: a custom scenario from a JSON file (the `scenario` object of the API).", valueName: "FILE"))
    var scenario: String?

    @Option(help: "A preset id from `ipclab experiments` (instead of --scenario).")
    var experiment: String?

    @Option(name: .customLong("program"), help: ArgumentHelp(
        "The submission as C programs, started together in each run (repeatable): FILE.c, named after the file, or NAME=FILE.c.",
        valueName: "[NAME=]FILE.c"))
    var programs: [String] = []

    @OptionGroup(title: "Programs' input")
    var programInput: ProgramInputOptions

    @Option(name: .customLong("param"), help: ArgumentHelp("A parameter of --experiment as NAME=VALUE (VALUE read as JSON when it parses).", valueName: "NAME=VALUE"))
    var params: [String] = []

    @Option(help: ArgumentHelp("The checks: a JSON file with the `checks` array.", valueName: "FILE"))
    var checks: String

    @Option(name: .customLong("repeat"), help: "How many runs (1…500).")
    var repeatCount = GradeRequest.defaultRepeat

    @Option(help: "The schedule's seed: run i uses seed + i.")
    var seed: Int64 = 1

    @Option(help: "Each process sleeps before each step a pseudo-random time in [0, J] µs (0…100000).")
    var jitterUs = 0

    @Option(help: "Where processes run: one (all on one CPU), spread (one CPU each), any.")
    var cpus = "any"

    @Option(help: "Wall-clock limit of each run in milliseconds.")
    var wallMs: Int?

    @Option(help: "How many runs at once (default: the online CPUs).")
    var parallel = ProcessInfo.processInfo.activeProcessorCount

    @OptionGroup(title: "Limit maxima")
    var maxima: LimitMaximaOptions

    @OptionGroup
    var runImage: RunImageOption

    @Option(help: "Output: the grade as JSON, Gradescope's results.json, or a line per check.")
    var format: Format = .text

    @Option(help: ArgumentHelp(
        "With --format json: only these top-level fields of `failing_trace`, comma-separated (run, scenario, processes, events, transfers, objects, observations, checks), as `?fields=` on POST /api/v1/grades.",
        valueName: "LIST"))
    var fields: String?

    func validate() throws {
        if programs.isEmpty && !(programInput.args.isEmpty && programInput.stdins.isEmpty) {
            throw ValidationError("--program-arg and --program-stdin go with --program")
        }
        if [experiment != nil, scenario != nil, !programs.isEmpty].filter({ $0 }).count != 1 {
            throw ValidationError("give --scenario FILE, --experiment ID or --program FILE.c (one of them)")
        }
        if experiment == nil && !params.isEmpty {
            throw ValidationError("--param goes with --experiment, not with --scenario or --program")
        }
        if parallel < 1 { throw ValidationError("--parallel must be at least 1") }
        if let fields {
            if format != .json { throw ValidationError("--fields picks parts of the JSON grade's failing_trace: give it with --format json") }
            do {
                _ = try TraceFields(fields)
            } catch {
                throw ValidationError("--fields: \(error.message)")
            }
        }
    }

    func run() throws {
        let request: GradeRequest
        do {
            request = try GradeRequest.decode(try body(), maxima: maxima.maxima)
        } catch let error as LabError {
            FileHandle.standardError.write(Data("ipclab: \(error)\n".utf8))
            throw ExitCode(2)
        } catch let error as ValidationError {
            FileHandle.standardError.write(Data("ipclab: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        var logger = Logger(label: "ipclab.grade")
        logger.logLevel = .warning
        let runner: LabRunner
        do {
            runner = try LabRunner.start(image: runImage.runImage, options: Spawner.Options(), logger: logger, maxima: maxima.maxima)
        } catch let error as RunImage.Unavailable {
            FileHandle.standardError.write(Data("ipclab: \(error)\n".utf8))
            throw ExitCode(1)
        }
        defer { runner.shutdown() }
        let report: GradeReport
        do {
            report = try Grader(request, runner: runner).run(workers: parallel) { work in
                Thread.detachNewThread(work)
                return true
            }
        } catch {
            FileHandle.standardError.write(Data("ipclab: \(error)\n".utf8))
            throw ExitCode(1)
        }
        switch format {
        case .json:
            // validate() has read `fields` already.
            let picked = fields.flatMap { try? TraceFields($0) }
            FileHandle.standardOutput.write(Data(report.json(pretty: true, fields: picked) + [UInt8(ascii: "\n")]))
        case .gradescope: FileHandle.standardOutput.write(Data(report.gradescopeJSON(pretty: true) + [UInt8(ascii: "\n")]))
        case .text: FileHandle.standardOutput.write(Data(report.text().utf8))
        }
        if !report.passed { throw ExitCode(1) }
    }

    /// The request as the API's body, so that the CLI and the server read it the same way.
    private func body() throws -> JSONValue {
        var fields: [String: JSONValue] = [:]
        if let file = scenario { fields["scenario"] = try Self.readJSON(file) }
        if !programs.isEmpty { fields["programs"] = try programInput.programs(programs) }
        if let experiment {
            fields["experiment"] = .string(experiment)
            fields["params"] = try RunCommand.parse(params)
        }
        var checksValue = try Self.readJSON(checks)
        if case .object(let o) = checksValue, let c = o["checks"] { checksValue = c }
        fields["checks"] = checksValue
        fields["repeat"] = .integer(Int64(repeatCount))
        fields["schedule"] = .object(["seed": .integer(seed), "jitter_us": .integer(Int64(jitterUs)), "cpus": .string(cpus)])
        if let wallMs { fields["limits"] = .object(["wall_ms": .integer(Int64(wallMs))]) }
        return .object(fields)
    }

    private static func readJSON(_ file: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        do {
            return try JSONValue.parse(data)
        } catch {
            throw ValidationError("\(file): \(error.message)")
        }
    }
}
