import Foundation
import Glibc
import IPCLabCore
@testable import IPCLabSandbox
import Logging
import Testing

/// Runners map their code by transparent huge pages at start (``CodePages``), unless
/// told not to (`ipclab serve --no-huge-code-pages`), and runs cloned from them trace the same.
@Suite("Huge code pages", .serialized)
struct HugeCodePagesTests {
    /// Whether this host gives huge pages to a region that asks (`enabled` is not `[never]`).
    static var hugePagesAvailable: Bool {
        let text = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)) ?? "[never]"
        return !text.contains("[never]")
    }

    /// The runners (`ipclab-slot`), or the inits waiting for a run (`ipclab-ready`), whose parent is `spawner`.
    static func runners(of spawner: Int32, named name: String = "ipclab-slot") -> [Int32] {
        hostProcesses(named: [name]).keys.filter { procStatus($0, "PPid")?.first == String(spawner) }.sorted()
    }

    /// A spawner of its own with `codePages`, one pipe.hello through it, then its runners' huge code bytes
    /// (polled: a runner may be between images, which it starts after a pause).
    static func runOnce(codePages: CodePages, named name: String = "ipclab-slot",
                        until done: ([Int64]) -> Bool) async throws -> (Trace, [Int32: Int64]) {
        try await runOnce(codePages: codePages, named: name, probe: { pid in
            // -1: the runner went (an exec does not change the pid; its end does).
            let bytes = CodePages.hugeExecutableBytes(of: pid)
            return bytes >= 0 ? bytes : nil
        }, until: done)
    }

    /// The same, with what `probe` sees of each runner (nil: nothing, e.g. it went).
    static func runOnce<T>(codePages: CodePages, named name: String = "ipclab-slot", probe: (Int32) -> T?,
                           until done: ([T]) -> Bool) async throws -> (Trace, [Int32: T]) {
        var options = Spawner.Options()
        options.codePages = codePages
        let logger = Logger(label: "ipclab.tests") { _ in SwiftLogNoOpLogHandler() }
        let client = try SpawnerClient(executable: try Lab.binary.get(), options: options, logger: logger)
        defer { client.shutdown() }
        let runner = LabRunner(spawner: client)
        let request = try RunRequest.preset("pipe.hello", params: nil, limits: nil)
        let trace = try await offThePool { try runner.run(request) }
        let spawner = try #require(client.status.pid)
        var seen: [Int32: T] = [:]
        for _ in 0..<100 {
            seen = Dictionary(uniqueKeysWithValues: runners(of: spawner, named: name).compactMap { pid in probe(pid).map { (pid, $0) } })
            if !seen.isEmpty && done(Array(seen.values)) { break }
            usleep(100_000)
        }
        return (trace, seen)
    }

    /// What a trace did, without times and pids: each process's calls and results, in its order (the
    /// processes' calls interleave as they were scheduled).
    static func calls(_ trace: Trace) -> [String: [String]] {
        Dictionary(grouping: trace.events, by: \.process).mapValues { $0.map { "\($0.call) \($0.result.map(String.init) ?? "-")" } }
    }

    @Test("on (the default): a runner's code is on huge pages, and a run from it traces as with file pages")
    func on() async throws {
        #expect(Spawner.Options().codePages == .standard && CodePages.standard.contains(.text))
        let available = Self.hugePagesAvailable
        let (trace, huge) = try await Self.runOnce(codePages: .standard) { $0.contains { $0 > 0 } }
        expectWentWell(trace)
        #expect(!huge.isEmpty, "no runner of the spawner was found")
        if available {
            // The text of ipclab-sandbox (≥ 16 MiB in either build) has at least one aligned 2 MiB.
            #expect(huge.values.contains { $0 >= 2 << 20 }, "no runner has its code on huge pages: \(huge)")
        } else {
            #expect(huge.values.allSatisfy { $0 == 0 }, "huge pages are off here, yet: \(huge)")
        }
        // A run's own processes (forks of the runner) map the code by huge pages too: an init waiting
        // for its run has run code since its clone.
        let (_, ready) = try await Self.runOnce(codePages: .standard, named: "ipclab-ready") { $0.contains { $0 > 0 } }
        #expect(!ready.isEmpty, "no init waiting for a run was found")
        if available { #expect(ready.values.contains { $0 >= 2 << 20 }, "no waiting init maps code by huge pages: \(ready)") }
        let (plain, _) = try await Self.runOnce(codePages: .none) { _ in true }
        #expect(Self.calls(trace) == Self.calls(plain))
        #expect(trace.observations.map(\.id) == plain.observations.map(\.id))
        #expect(trace.observations.map(\.holds) == plain.observations.map(\.holds))
    }

    @Test("off (--no-huge-code-pages): every runner's code stays on its file pages")
    func off() async throws {
        let (trace, huge) = try await Self.runOnce(codePages: .none) { _ in true }
        expectWentWell(trace)
        #expect(!huge.isEmpty, "no runner of the spawner was found")
        #expect(huge.values.allSatisfy { $0 == 0 }, "code on huge pages with the option off: \(huge)")
    }
}
