import ArgumentParser
import Foundation
import IPCLabCore
import IPCLabSandbox
import Logging

/// `ipclab run`: one experiment, without a server, through the same spawner and sandbox.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one experiment in the sandbox and print its trace.",
        discussion: """
            Examples:
              ipclab run pipe.hello
              ipclab run pipe.byte_stream --param 'write_sizes=[7,3,11]' --param 'read_sizes=[4,4,13]' --format text
              ipclab run --scenario my-scenario.json
              ipclab run --program server.c --program client.c
              ipclab run --program programs/pipe_filter.c --program-arg pipe_filter=reverse --program-stdin pipe_filter=- < lines.txt
            Exit status: 0 when the run completed (outcome ok), 1 when it ended otherwise
            (timeout, limit_exceeded, error), 2 for bad input.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, text, chrome
    }

    @Argument(help: "A preset id from `ipclab experiments` (leave out with --scenario).")
    var experiment: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("A parameter as NAME=VALUE; VALUE is read as JSON when it parses as JSON, else as a string.", valueName: "NAME=VALUE"))
    var params: [String] = []

    @Option(help: ArgumentHelp("Run a custom scenario from a JSON file (the `scenario` object of the API).", valueName: "FILE"))
    var scenario: String?

    @Option(name: .customLong("program"), help: ArgumentHelp("Compile and run a C program (repeat for several, started together): FILE.c, named after the file without .c, or NAME=FILE.c.", valueName: "[NAME=]FILE.c"))
    var programs: [String] = []

    @OptionGroup(title: "Programs' input")
    var programInput: ProgramInputOptions

    @Option(help: "Wall-clock limit of the run in milliseconds (default: the experiment's own, else 2000).")
    var wallMs: Int?

    @Option(name: .customLong("limit"), help: ArgumentHelp("Another limit of the run as NAME=VALUE, e.g. cpu_ms=500, memory_bytes=8388608, processes=4 (the API's `limits` fields).", valueName: "NAME=VALUE"))
    var limitPairs: [String] = []

    @OptionGroup(title: "Limit maxima")
    var maxima: LimitMaximaOptions

    @Option(help: "Output format: the trace as JSON, strace-like text, or Chrome Trace Event JSON (opens in Perfetto).")
    var format: Format = .json

    @OptionGroup
    var runImage: RunImageOption

    func validate() throws {
        if programs.isEmpty && !(programInput.args.isEmpty && programInput.stdins.isEmpty) {
            throw ValidationError("--program-arg and --program-stdin go with --program")
        }
        if [experiment != nil, scenario != nil, !programs.isEmpty].filter({ $0 }).count != 1 {
            throw ValidationError("give an experiment id, --scenario FILE or --program FILE.c (one of them)")
        }
        if scenario != nil && !params.isEmpty {
            throw ValidationError("--param goes with an experiment id, not with --scenario")
        }
    }

    func run() throws {
        guard case .object(var fields) = try Self.parse(limitPairs) else { throw ValidationError("bad --limit") }
        if let wallMs { fields["wall_ms"] = .integer(Int64(wallMs)) }
        // No limit asked for: the request has none, so a preset's own default wall limit applies.
        let limits: JSONValue? = fields.isEmpty ? nil : .object(fields)
        let request: RunRequest
        do {
            if !programs.isEmpty {
                request = try RunRequest.programRequest(try programInput.programs(programs), limits: limits,
                                                        maxima: maxima.maxima)
            } else if let file = scenario {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read \(file)")
                }
                let value = try JSONValue.parse(data)
                var body = JSONWriter()
                body.object { w in w.field("scenario", value); if let limits { w.field("limits", limits) } }
                request = try RunRequest.decode(body.bytes, maxima: maxima.maxima)
            } else {
                request = try RunRequest.preset(experiment!, params: try Self.parse(params), limits: limits, maxima: maxima.maxima)
            }
        } catch let error as LabError {
            FileHandle.standardError.write(Data("ipclab: \(error)\n".utf8))
            throw ExitCode(2)
        }

        var logger = Logger(label: "ipclab.run")
        logger.logLevel = .warning
        // One run: the spawner makes nothing ahead of time and its runner skips the warm-up.
        var options = Spawner.Options()
        options.oneShot = true
        let runner: LabRunner
        do {
            runner = try LabRunner.start(image: runImage.runImage, options: options, logger: logger, maxima: maxima.maxima)
        } catch let error as RunImage.Unavailable {
            FileHandle.standardError.write(Data("ipclab: \(error)\n".utf8))
            throw ExitCode(1)
        }
        defer { runner.shutdown() }
        let trace: Trace
        do {
            trace = try runner.run(request)
        } catch {
            FileHandle.standardError.write(Data("ipclab: \(error)\n".utf8))
            throw ExitCode(1)
        }
        switch format {
        case .json: FileHandle.standardOutput.write(Data(trace.json(pretty: true) + [UInt8(ascii: "\n")]))
        case .text: FileHandle.standardOutput.write(Data(trace.text().utf8))
        case .chrome: FileHandle.standardOutput.write(Data(trace.chromeJSON() + [UInt8(ascii: "\n")]))
        }
        for d in trace.run.diagnostics ?? [] {
            let at = d.line.map { ":\($0)" + (d.column.map { ":\($0)" } ?? "") } ?? ""
            FileHandle.standardError.write(Data("\(d.program).c\(at): \(d.severity): \(d.message)\n".utf8))
        }
        if trace.run.outcome != .ok {
            FileHandle.standardError.write(Data("ipclab: run ended with outcome \(trace.run.outcome.rawValue)\(trace.run.reason.map { ": \($0)" } ?? "")\n".utf8))
            throw ExitCode(1)
        }
    }

    /// `NAME=VALUE` pairs into a params object.
    static func parse(_ pairs: [String]) throws -> JSONValue {
        var params: [String: JSONValue] = [:]
        for pair in pairs {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw ValidationError("--param takes NAME=VALUE, not \"\(pair)\"")
            }
            let name = String(pair[..<eq])
            let raw = String(pair[pair.index(after: eq)...])
            params[name] = (try? JSONValue.parse(Array(raw.utf8))) ?? .string(raw)
        }
        return .object(params)
    }
}
