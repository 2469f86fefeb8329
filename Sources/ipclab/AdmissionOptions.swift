import ArgumentParser
import CIPCLab
import Foundation
import IPCLabHTTP

/// The flags of `ipclab serve` that decide who gets in: how many runs at once, how many and
/// how long may wait, and what a connection may hold. Read here, and only here, into the
/// ``HTTPServerConfiguration`` and the ``RunExecutor`` the server is made with.
///
/// Defaults: `--max-runs` 3 × cores, `--run-queue` 64, `--max-queue-wait-ms` 10000,
/// `--max-runs-per-client` a quarter of runs + queue (at least runs + 2), `--max-running-per-client`
/// runs − 1 (at least 1), `--response-budget-mb` 192,
/// no `--api-keys` (clients are addresses), `--api-key-header` X-API-Key, `--malloc-arenas` 2,
/// `--connection-timeout-s` 15, `--max-connections` 1000, `--max-connections-per-ip` 64,
/// `--connection-reserve-per-ip` 64, `--head-timeout-s` 10, `--min-body-rate` 1024.
struct AdmissionOptions: ParsableArguments {
    @Option(help: "Runs at once (default: three times the online cores); more wait in the run queue.")
    var maxRuns: Int?

    @Option(help: "Run requests that may wait for a run thread; past that, 503 with Retry-After.")
    var runQueue = 64

    @Option(help: "The longest a run request may wait in the queue (ms); past that, 503 with Retry-After, and it is not run.")
    var maxQueueWaitMs = 10_000

    @Option(help: "Run requests one client (address, or API key) may have running and waiting at once (default: a quarter of --max-runs plus --run-queue, at least --max-runs plus 2); past that, 503 with Retry-After.")
    var maxRunsPerClient: Int?

    @Option(help: "Runs one client may have running at once (default: --max-runs minus one, at least 1): a run thread stays free for another client.")
    var maxRunningPerClient: Int?

    @Option(help: "Memory (MiB) that runs and their unsent responses may hold at once, estimated from each run's events limit; a run that does not fit waits in the queue (0: no budget).")
    var responseBudgetMb = 192

    @Option(help: ArgumentHelp("A file of API keys, one a line (`name key`, or a key alone): a request whose key header carries one counts as that client for the fair sharing of runs, instead of its address.", valueName: "FILE"))
    var apiKeys: String?

    @Option(help: "The request header that carries an API key.")
    var apiKeyHeader = "X-API-Key"

    @Option(help: "glibc malloc arenas at most (M_ARENA_MAX; 0: glibc's default of 8 per core), so that freed memory can return to the system.")
    var mallocArenas = 2

    @Option(help: "Seconds a connection may go with no bytes moving either way (idle, a stalled upload, a response not read) before it is closed.")
    var connectionTimeoutS = 15

    @Option(help: "Connections open at once; more wait in the listen backlog until one closes.")
    var maxConnections = 1000

    @Option(help: "Connections served at once from one IP address (0: no limit); past it, --connection-reserve-per-ip more are answered 503 with Retry-After (/healthz and /metrics still served), and more than both are closed at accept.")
    var maxConnectionsPerIp = 64

    @Option(help: "Connections past --max-connections-per-ip accepted from one address only to answer them 503 (they must send their head within 3 s).")
    var connectionReservePerIp = 64

    @Option(help: "Seconds a request head may take in whole, from the connection's start or its previous response; past it the connection is closed.")
    var headTimeoutS = 10

    @Option(help: "The least average rate of a request body in bytes per second, checked after its first 5 s; a slower one's connection is closed.")
    var minBodyRate = 1024

    func validate() throws {
        if let maxRunsPerClient, !(1...65536).contains(maxRunsPerClient) { throw ValidationError("--max-runs-per-client must be 1…65536") }
        if let maxRunningPerClient, !(1...1024).contains(maxRunningPerClient) { throw ValidationError("--max-running-per-client must be 1…1024") }
        guard (0...1_048_576).contains(responseBudgetMb) else { throw ValidationError("--response-budget-mb must be 0…1048576") }
        guard (0...1024).contains(mallocArenas) else { throw ValidationError("--malloc-arenas must be 0…1024") }
        guard !apiKeyHeader.isEmpty, apiKeyHeader.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
            throw ValidationError("--api-key-header must be a header name")
        }
        _ = try makeClients()  // a bad keys file stops the server before it starts anything
        if let maxRuns, !(1...1024).contains(maxRuns) { throw ValidationError("--max-runs must be 1…1024") }
        guard (0...65536).contains(runQueue) else { throw ValidationError("--run-queue must be 0…65536") }
        guard (1...3_600_000).contains(maxQueueWaitMs) else { throw ValidationError("--max-queue-wait-ms must be 1…3600000") }
        guard (1...86_400).contains(connectionTimeoutS) else { throw ValidationError("--connection-timeout-s must be 1…86400") }
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be 1…1000000") }
        guard (0...1_000_000).contains(maxConnectionsPerIp) else {
            throw ValidationError("--max-connections-per-ip must be 0…1000000")
        }
        guard (0...1_000_000).contains(connectionReservePerIp) else {
            throw ValidationError("--connection-reserve-per-ip must be 0…1000000")
        }
        guard (1...3600).contains(headTimeoutS) else { throw ValidationError("--head-timeout-s must be 1…3600") }
        guard (0...(1 << 30)).contains(minBodyRate) else { throw ValidationError("--min-body-rate must be 0…1073741824") }
    }

    private var runs: Int { maxRuns ?? 3 * HTTPServerConfiguration.onlineCores }
    private var perClient: Int { maxRunsPerClient ?? min(runs + runQueue, max(runs + 2, (runs + runQueue) / 4)) }

    /// The run threads and their queue.
    func makeExecutor() -> RunExecutor {
        RunExecutor(threads: runs, queueLimit: runQueue, maxQueueWait: .milliseconds(maxQueueWaitMs),
                    perClientLimit: perClient, perClientRunning: maxRunningPerClient ?? max(1, runs - 1), responseBudgetBytes: responseBudgetMb == 0 ? nil : responseBudgetMb << 20)
    }

    /// Who run requests count as: the keys of `--api-keys`, or addresses only.
    func makeClients() throws -> RunClients {
        guard let apiKeys else { return RunClients() }
        let text: String
        do { text = try String(contentsOfFile: apiKeys, encoding: .utf8) } catch {
            throw ValidationError("--api-keys \(apiKeys): \(error.localizedDescription)")
        }
        do { return RunClients(headerName: apiKeyHeader, names: try RunClients.parse(text)) } catch {
            throw ValidationError("--api-keys \(apiKeys): \(error)")
        }
    }

    /// Caps malloc's arenas (before the threads that would make more exist).
    func tuneAllocator() {
        if mallocArenas > 0 { _ = ipclab_set_malloc_arenas(Int32(mallocArenas)) }
    }

    /// The settings in one line, for the log at start.
    var summary: String {
        "admission: \(runs) runs at once, \(runQueue) queued for at most \(maxQueueWaitMs) ms, \(perClient) per client (\(maxRunningPerClient ?? max(1, runs - 1)) running)"
            + (apiKeys == nil ? " (by address)" : " (by \(apiKeyHeader), else address)")
            + ", response budget \(responseBudgetMb == 0 ? "none" : "\(responseBudgetMb) MiB"); "
            + "connections: \(maxConnections) at most, \(maxConnectionsPerIp == 0 ? "no cap" : "\(maxConnectionsPerIp)") per IP, "
            + "\(connectionReservePerIp) more per IP answered 503; "
            + "closed after \(connectionTimeoutS) s with nothing moving, a head not in within \(headTimeoutS) s, "
            + "or a body slower than \(minBodyRate) B/s"
    }

    /// Sets the connection limits of `configuration`.
    func apply(to configuration: inout HTTPServerConfiguration) {
        configuration.connectionTimeoutSeconds = connectionTimeoutS
        configuration.connectionLimit = maxConnections
        configuration.connectionLimitPerIP = maxConnectionsPerIp
        configuration.connectionReservePerIP = connectionReservePerIp
        configuration.headTimeoutSeconds = headTimeoutS
        configuration.minBodyBytesPerSecond = minBodyRate
    }
}
