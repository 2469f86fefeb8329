import Foundation
import Glibc
import IPCLabCore
import IPCLabSandbox
import Logging
import Synchronization
import Testing

/// The one runner every sandbox test shares. Its spawner lives as long as the test
/// process; when the process exits the spawner sees its socket close and ends too.
enum Lab {
    /// Where the built `ipclab` binary is, or why it could not be found.
    static let binary: Result<String, MissingBinary> = {
        let env = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = env["IPCLAB_BIN"], !explicit.isEmpty {
            // An explicit choice is the only candidate: a wrong path should fail, not fall back.
            candidates = [explicit]
        } else {
            // `swift test` runs `.build/<triple>/debug/ipclabPackageTests.xctest`; the binary sits beside it.
            let runners: [String?] = [executablePath(), CommandLine.arguments.first, Bundle.main.bundlePath, Bundle.main.executablePath]
            for runner in runners {
                guard let runner, !runner.isEmpty else { continue }
                candidates.append(URL(fileURLWithPath: runner).deletingLastPathComponent().appendingPathComponent("ipclab").path)
            }
            let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            candidates.append(package.appendingPathComponent(".build/debug/ipclab").path)
        }
        if let found = candidates.first(where: { access($0, X_OK) == 0 }) { return .success(found) }
        return .failure(MissingBinary(tried: candidates))
    }()

    static let runner: Result<LabRunner, any Error> = Result {
        let path = try binary.get()
        let logger = Logger(label: "ipclab.tests") { _ in SwiftLogNoOpLogHandler() }
        return LabRunner(spawner: try SpawnerClient(executable: path, logger: logger))
    }

    /// The shared runner; throws (failing the test with the reason) when there is none.
    static func shared() throws -> LabRunner {
        try runner.get()
    }

    private static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    struct MissingBinary: Error, CustomStringConvertible {
        var tried: [String]
        var description: String {
            "the ipclab binary was not found (tried \(tried.joined(separator: ", "))); "
                + "run `swift build` first, or set IPCLAB_BIN to the built binary"
        }
    }
}

/// Runs `body` on a thread of its own: a run blocks for up to its wall limit, and must
/// not hold one of the (few) threads of Swift's cooperative pool while it does.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}

/// Runs a preset with parameters (JSON) and an optional wall limit.
func run(_ experiment: String, params: JSONValue? = nil, wallMs: Int? = nil) async throws -> Trace {
    let request = try RunRequest.preset(experiment, params: params,
                                        limits: wallMs.map { ["wall_ms": .integer(Int64($0))] })
    return try await run(request)
}

/// Runs a custom scenario given as JSON text (on `runner`: by default the shared one, ``Lab/shared()``).
func run(scenario text: String, wallMs: Int, on runner: LabRunner? = nil) async throws -> Trace {
    let body = #"{"scenario": \#(text), "limits": {"wall_ms": \#(wallMs)}}"#
    return try await run(try RunRequest.decode(Array(body.utf8)), on: runner)
}

func run(_ request: RunRequest, on runner: LabRunner? = nil) async throws -> Trace {
    let runner = try runner ?? Lab.shared()
    return try await offThePool { try runner.run(request) }
}

/// The trace as text, for failure messages.
func describe(_ trace: Trace) -> String { trace.text() }

/// Checks what every run that went well shows: outcome ok, and every observation
/// of its experiment present, in order, and holding — except those in `scheduling`, which depend on
/// how the processes were scheduled (the caller checks them against their evidence instead).
func expectWentWell(_ trace: Trace, scheduling: Set<String> = [], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(trace.run.outcome == .ok, "\(describe(trace))", sourceLocation: sourceLocation)
    #expect(trace.run.reason == nil, sourceLocation: sourceLocation)
    #expect(trace.run.eventsDropped == 0, sourceLocation: sourceLocation)
    if let id = trace.run.experiment, let experiment = Catalog.standard.preset(id)?.experiment {
        #expect(trace.observations.map(\.id) == experiment.observations, sourceLocation: sourceLocation)
    } else {
        Issue.record("the trace names no known experiment", sourceLocation: sourceLocation)
    }
    for o in trace.observations {
        if scheduling.contains(o.id) && !o.holds { continue }
        #expect(o.holds, "\(o.id): \(o.detail)", sourceLocation: sourceLocation)
        #expect(!o.evidence.isEmpty, "\(o.id) cites no events", sourceLocation: sourceLocation)
        for seq in o.evidence {
            #expect((1...trace.events.count).contains(seq), "\(o.id) cites seq \(seq)", sourceLocation: sourceLocation)
        }
    }
    for p in trace.processes {
        #expect(p.exit == .code(0), "\(p.name) ended \(String(describing: p.exit))", sourceLocation: sourceLocation)
    }
}

/// Results of one process's calls of one kind on one channel.
func results(_ trace: Trace, _ call: Call, by process: String, on channel: String? = nil) -> [Int64?] {
    trace.calls(call, by: process, on: channel).map(\.result)
}

// MARK: The host, seen from the test process

/// Pids of host processes whose `comm` (as set with PR_SET_NAME) is one of `names`.
func hostProcesses(named names: Set<String>) -> [Int32: String] {
    var found: [Int32: String] = [:]
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return found }
    for entry in entries {
        guard let pid = Int32(entry),
              let comm = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8)
        else { continue }
        let name = comm.trimmingCharacters(in: .newlines)
        if names.contains(name) { found[pid] = name }
    }
    return found
}

/// A field of `/proc/PID/status` (e.g. `Uid`), its values split on whitespace; nil when the process is gone.
func procStatus(_ pid: Int32, _ field: String) -> [String]? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        return line.dropFirst(field.count + 1).split(whereSeparator: \.isWhitespace).map(String.init)
    }
    return nil
}

/// Starts a run in the background and scans the host's /proc while it is in flight,
/// until `names` were all seen or the run ended. Returns the trace and the pids seen by name.
/// The scan has a thread of its own: on the cooperative pool (as many threads as cores) it could
/// wait behind other suites' tests for the whole run, and then see nothing (it happened in CI).
func runWatching(scenario: String, wallMs: Int, names: Set<String>, on runner: LabRunner? = nil,
                 onSight: @escaping @Sendable (Int32, String) -> Void = { _, _ in }) async throws -> (Trace, [Int32: String]) {
    let done = Flag()
    let seen = Mutex<[Int32: String]>([:])
    let scanned = DispatchSemaphore(value: 0)
    let scanner = Thread {
        defer { scanned.signal() }
        while !done.isSet && Set(seen.withLock { $0.values }) != names {
            // A child carries its parent's name from fork until its own PR_SET_NAME: keep the latest.
            for (pid, name) in hostProcesses(named: names) where seen.withLock({ $0[pid] }) != name {
                seen.withLock { $0[pid] = name }
                onSight(pid, name)
            }
            usleep(5000)
        }
    }
    scanner.start()
    let trace: Trace
    do {
        trace = try await run(scenario: scenario, wallMs: wallMs, on: runner)
    } catch {
        done.set()
        scanned.wait()
        throw error
    }
    done.set()
    scanned.wait()
    return (trace, seen.withLock { $0 })
}

/// A flag one task sets and another polls.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// The line of a `/proc/sysvipc` table (`shm`, `msg`, `sem`) that shows the object with this id (its
/// second column), or nil if the host's IPC namespace has no such object. Other tests make and remove
/// objects of their own meanwhile, so a test looks at its own objects by id, never at the table's size.
func sysvLine(_ table: String, id: Int32) throws -> String? {
    let text = try String(contentsOfFile: "/proc/sysvipc/\(table)", encoding: .utf8)
    return text.split(separator: "\n").dropFirst().first { line in
        let fields = line.split(whereSeparator: \.isWhitespace)
        return fields.count > 1 && fields[1] == "\(id)"
    }.map(String.init)
}

/// Milliseconds on `CLOCK_MONOTONIC`.
func nowMs() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
}
