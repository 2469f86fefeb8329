import ArgumentParser
import CIPCLab
import Foundation
import Glibc
import IPCLabCore
import IPCLabHTTP
import IPCLabSandbox
import IPCLabStore
import Logging

/// `ipclab serve`: the HTTP API and the lab page.
///
/// Configuration (flags; every default is shown by `--help`):
/// `--host` 127.0.0.1, `--port` 8080 (0 picks a free port), `--public` public,
/// `--openapi` (none: the openapi.yaml built in), `--threads` one per core, `--max-wall-ms` 10000 and the other
/// limit maxima (``LimitMaximaOptions``), `--log-level` info, `--insecure-no-sandbox` off;
/// admission and connection limits in ``AdmissionOptions``; the runs' host uids in ``RunUidOptions``.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the lab's API and page over HTTP.",
        discussion: "Prints `ipclab: listening on http://HOST:PORT` once ready. Stops cleanly on SIGINT or SIGTERM."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one (printed at start).")
    var port = 8080

    @Option(name: .customLong("public"), help: ArgumentHelp("Directory of the static page.", valueName: "DIR"))
    var publicDirectory = "public"

    @Option(help: ArgumentHelp("Serve this file at /openapi.yaml instead of the repository's openapi.yaml built into the binary.", valueName: "FILE"))
    var openapi: String?

    @Option(help: ArgumentHelp("Also serve /healthz and /metrics (only) on this port, with connection limits of its own, so that they answer while clients hold every connection of --port; 0 picks a free port (printed at start). Default: no admin listener.", valueName: "PORT"))
    var adminPort: Int?

    @Option(help: "Address the admin listener binds (--admin-port).")
    var adminHost = "127.0.0.1"

    @Option(help: "Worker threads of the HTTP server (default: one per core).")
    var threads: Int?

    @OptionGroup(title: "Limit maxima")
    var limits: LimitMaximaOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Flag(name: .customLong("insecure-no-sandbox"),
          help: "Development only: start even when the host cannot give runs PID, IPC and mount namespaces, and run without what it lacks (/healthz then says \"insecure\": true).")
    var insecureNoSandbox = false

    @Flag(help: "Leave the runners' code on its file pages (and their relocated read-only data private) instead of mapping it from one copy on transparent huge pages (fewer page faults and a cheaper fork and exit for every run process; README, \"Runners\"). Profile or debug with it: on huge pages, perf and crash backtraces show no symbols for that code.")
    var noHugeCodePages = false

    @Flag(help: "Let the sandbox's spawner, the init of a run that is alone and the inits cloned ahead for the next run use every core, instead of keeping them to one (the last this server may use) while the server answers on the others: kept by default, since the hops between the spawner and a lone run's init are then switches on one core. A run's own processes use every core either way (README, \"Runners\").")
    var noRunCore = false

    /// What runners put on huge pages (``CodePages`` bits), for measuring the variants (README, "Runners").
    @Option(help: .hidden)
    var codePages: Int32?

    @OptionGroup(title: "Admission")
    var admission: AdmissionOptions

    @OptionGroup(title: "Storage")
    var storage: StoreOptions

    @OptionGroup(title: "Run uids")
    var runUids: RunUidOptions

    @OptionGroup
    var runImage: RunImageOption

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        if let adminPort, !(0...65535).contains(adminPort) { throw ValidationError("--admin-port must be 0…65535") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be 1…256") }
    }

    func run() throws {
        // Before any thread exists: SIGINT and SIGTERM are taken with sigwait below.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        signal(SIGPIPE, SIG_IGN)
        admission.tuneAllocator()

        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "ipclab")

        var spawnerOptions = runUids.options
        spawnerOptions.codePages = noHugeCodePages ? .none : codePages.map(CodePages.init(rawValue:)) ?? .standard
        spawnerOptions.runCore = !noRunCore
        let runner: LabRunner
        do {
            runner = try LabRunner.start(image: runImage.runImage, insecure: insecureNoSandbox, options: spawnerOptions, logger: logger,
                                         adoptOrphans: true, maxima: limits.maxima)
        } catch let error as RunImage.Unavailable {
            logger.critical("refusing to start: \(error)")
            throw ExitCode(1)
        }
        let refusal = "runs need PID, IPC and mount namespaces; --insecure-no-sandbox starts without them (development only)"
        let selfTest: Trace
        do {
            selfTest = try runner.selfTest()
        } catch {
            logger.critical("refusing to start: the sandbox does not work on this host: \(error)\(insecureNoSandbox ? "" : "; " + refusal)")
            runner.shutdown()
            throw ExitCode(1)
        }
        let sandbox = selfTest.run.sandbox
        logger.info("sandbox: namespaces \(sandbox.namespaces.joined(separator: ", ")); set-up \(sandbox.setup.map { "\($0.op)=\($0.result == 0 ? "ok" : $0.errno ?? "failed")" }.joined(separator: ", "))")
        let protections = SandboxProtections(sandbox)
        for p in protections.missing {
            logger.warning("protection missing: \(p.name): \(p.reason)")
        }
        let missingMinimum = protections.missingMinimum.map(\.name)
        if !missingMinimum.isEmpty {
            guard insecureNoSandbox else {
                logger.critical("refusing to start: missing \(missingMinimum.joined(separator: ", ")); \(refusal)")
                runner.shutdown()
                throw ExitCode(1)
            }
            logger.warning("INSECURE: runs go without \(missingMinimum.joined(separator: ", ")) (--insecure-no-sandbox); never serve students like this")
        }

        let staticFiles: StaticFiles?
        do {
            staticFiles = try StaticFiles(directory: publicDirectory, errors: APIError.render)
        } catch {
            logger.warning("no static page: \(error)")
            staticFiles = nil
        }
        let openAPIBytes: [UInt8]?
        if let openapi {
            openAPIBytes = FileManager.default.contents(atPath: openapi).map { [UInt8]($0) }
            if openAPIBytes == nil { logger.warning("no OpenAPI document at \(openapi): /openapi.yaml will answer 404") }
        } else {
            openAPIBytes = Array(UnsafeBufferPointer(start: ipclab_openapi_yaml_bytes(), count: ipclab_openapi_yaml_size()))
        }

        let store: RunStore?
        do {
            store = try storage.open(logger: logger)
        } catch {
            logger.critical("refusing to start: could not open the run store: \(error)")
            runner.shutdown()
            throw ExitCode(1)
        }
        var api = LabAPI(runner: runner, staticFiles: staticFiles, openAPI: openAPIBytes,
                         version: IPCLab.configuration.version, sandbox: sandbox, protections: protections,
                         insecure: insecureNoSandbox, executor: admission.makeExecutor(), clients: try admission.makeClients(),
                         logger: logger)
        api.store = store
        var configuration = HTTPServerConfiguration(host: host, port: port)
        admission.apply(to: &configuration)
        configuration.reservePaths = AdminAPI.paths
        logger.info("\(admission.summary)")
        if let threads { configuration.threadPoolSize = threads }
        let metrics = api.metrics
        let refused: @Sendable (String) -> Void = { metrics.httpRefused(reason: $0) }
        // Every error the transport answers by itself gets the lab's JSON body (openapi.yaml's Error).
        let server = HTTPServer(configuration: configuration, logger: logger, handler: api, errors: APIError.render,
                                refused: refused)
        let bound = try server.start()
        // Written straight to fd 1, unbuffered: scripts and tests wait for this line.
        FileHandle.standardOutput.write(Data("ipclab: listening on \(server.url ?? "http://\(host):\(bound)")\n".utf8))
        var adminServer: HTTPServer?
        if let adminPort {
            // Small and separate: a few probes and scrapers, never the class.
            let admin = HTTPServer(
                configuration: HTTPServerConfiguration(
                    host: adminHost, port: adminPort, threadPoolSize: 1, connectionLimit: 64, connectionLimitPerIP: 16,
                    connectionReservePerIP: 0, accessLog: configuration.accessLog),
                logger: logger, handler: AdminAPI(api: api), errors: APIError.render, refused: refused)
            let adminBound = try admin.start()
            FileHandle.standardOutput.write(Data("ipclab: admin (/healthz, /metrics) on \(admin.url ?? "http://\(adminHost):\(adminBound)")\n".utf8))
            adminServer = admin
        }

        var received: Int32 = 0
        sigwait(&stopSignals, &received)
        logger.info("stopping on signal \(received): finishing runs in flight")
        adminServer?.stop()
        server.stop()
        store?.close()
        runner.shutdown()
        logger.info("stopped")
    }
}
