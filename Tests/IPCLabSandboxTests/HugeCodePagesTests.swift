import CIPCLab
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
    static func runOnce(image: RunImage = .swift, codePages: CodePages, named name: String = "ipclab-slot",
                        until done: ([Int64]) -> Bool) async throws -> (Trace, [Int32: Int64]) {
        try await runOnce(image: image, codePages: codePages, named: name, probe: { pid in
            // -1: the runner went (an exec does not change the pid; its end does).
            let bytes = CodePages.hugeExecutableBytes(of: pid)
            return bytes >= 0 ? bytes : nil
        }, until: done)
    }

    /// The same, with what `probe` sees of each runner (nil: nothing, e.g. it went). With `image` ``RunImage/c``
    /// a server's two spawners (``LabRunner/start(image:executable:insecure:options:logger:adoptOrphans:maxima:)``),
    /// pipe.hello on the C runner, and the C spawner's runners or inits.
    static func runOnce<T>(image: RunImage = .swift, codePages: CodePages, named name: String = "ipclab-slot",
                           probe: (Int32) -> T?, until done: ([T]) -> Bool) async throws -> (Trace, [Int32: T]) {
        var options = Spawner.Options()
        options.codePages = codePages
        let logger = Logger(label: "ipclab.tests") { _ in SwiftLogNoOpLogHandler() }
        let runner: LabRunner
        if image == .c {
            _ = try CLab.runnerPath.get()
            runner = try LabRunner.start(image: .c, executable: try Lab.binary.get(), options: options, logger: logger,
                                         maxima: RunLimits.standardMaxima)
        } else {
            runner = LabRunner(spawner: try SpawnerClient(executable: try Lab.binary.get(), options: options, logger: logger))
        }
        defer { runner.shutdown() }
        let request = try RunRequest.preset("pipe.hello", params: nil, limits: nil)
        let trace = try await offThePool { try runner.run(request) }
        let spawner = try #require((image == .c ? runner.cSpawner! : runner.spawner).status.pid)
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

    @Test("the C runner: its text on a huge page from its spawner's code file, so is a run's init's, and a run traces as on file pages")
    func cRunner() async throws {
        let available = Self.hugePagesAvailable
        // The C runner's text (< 2 MiB, linked alone in its 2 MiB) is one huge page, or none.
        let (trace, runners) = try await Self.runOnce(image: .c, codePages: .standard) { $0.contains { $0 > 0 } }
        #expect(trace.run.outcome == .ok && trace.observations.allSatisfy(\.holds), "\(trace.run.reason ?? "")")
        #expect(!runners.isEmpty, "no C runner of the spawner was found")
        if available { #expect(runners.values.contains { $0 == 2 << 20 }, "no C runner maps its text by a huge page: \(runners)") }
        // An init cloned from it has run its code since its clone: by the same page (fork copies no entry of a
        // file mapping, so each process maps it at its first fault: one, not one per 64 KiB of code it runs).
        let (_, ready) = try await Self.runOnce(image: .c, codePages: .standard, named: "ipclab-ready") { $0.contains { $0 > 0 } }
        #expect(!ready.isEmpty, "no C init waiting for a run was found")
        if available { #expect(ready.values.contains { $0 == 2 << 20 }, "no waiting C init maps its text by a huge page: \(ready)") }
        let (plain, plainReady) = try await Self.runOnce(image: .c, codePages: .none, named: "ipclab-ready") { _ in true }
        #expect(!plainReady.isEmpty && plainReady.values.allSatisfy { $0 == 0 }, "huge code pages with the option off: \(plainReady)")
        #expect(Self.calls(trace) == Self.calls(plain))
        #expect(trace.observations.map(\.id) == plain.observations.map(\.id))
        #expect(trace.observations.map(\.holds) == plain.observations.map(\.holds))
    }

    @Test("the code file of another executable: made from the C runner's one text segment, refused for an image not so linked")
    func codeFileOf() throws {
        guard Self.hugePagesAvailable else { return }
        let dir = ipclab_huge_tmpfs()
        try #require(dir >= 0, "no huge-page tmpfs: \(dir) (errno \(errno))")
        defer { close(dir) }
        func codeFile(of path: String) -> Int32 {
            let exe = open(path, O_RDONLY | O_CLOEXEC)
            defer { if exe >= 0 { close(exe) } }
            return exe >= 0 ? ipclab_code_file_of(dir, exe) : -3
        }
        let runner = try CLab.runnerPath.get()
        let fd = codeFile(of: runner)
        try #require(fd >= 0, "no code file made of \(runner): \(fd) (errno \(errno))")
        defer { close(fd) }
        // The text and its fill up to 2 MiB, then the stamp's page; read-only, and its first bytes the text's.
        var st = stat()
        #expect(fstat(fd, &st) == 0 && st.st_size == (2 << 20) + 4096)
        #expect(fcntl(fd, F_GETFL) & O_ACCMODE == O_RDONLY)
        let exe = open(runner, O_RDONLY | O_CLOEXEC)
        defer { close(exe) }
        var fromFile = [UInt8](repeating: 0, count: 4096), fromCode = [UInt8](repeating: 1, count: 4096)
        #expect(pread(exe, &fromFile, 4096, off_t(2 << 20)) == 4096 && pread(fd, &fromCode, 4096, 0) == 4096)
        #expect(fromFile == fromCode, "the code file does not start with the runner's text segment")
        // Refused (-1): the same runner with its text segment's alignment made 4 KiB (the kernel would then load
        // it anywhere a page starts), and a file that is no ELF image; a missing file is not read (-3).
        var image = try [UInt8](Data(contentsOf: URL(fileURLWithPath: runner)))
        func field(_ at: Int, _ size: Int) -> Int { (0..<size).reduce(0) { $0 | Int(image[at + $1]) << (8 * $1) } }
        let (phoff, phentsize, phnum) = (field(0x20, 8), field(0x36, 2), field(0x38, 2))
        var patched = 0
        for i in 0..<phnum where field(phoff + i * phentsize, 4) == 1 && field(phoff + i * phentsize + 4, 4) & 1 != 0 {
            for b in 0..<8 { image[phoff + i * phentsize + 48 + b] = UInt8((0x1000 >> (8 * b)) & 0xff) }
            patched += 1
        }
        #expect(patched == 1, "the runner has \(patched) executable segments")
        let dirPath = FileManager.default.temporaryDirectory.appendingPathComponent("ipclab-codefile-\(getpid())")
        try FileManager.default.createDirectory(at: dirPath, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dirPath) }
        let unaligned = dirPath.appendingPathComponent("unaligned"), notELF = dirPath.appendingPathComponent("not-elf")
        try Data(image).write(to: unaligned)
        try Data("#!/bin/sh\nexit 0\n".utf8).write(to: notELF)
        #expect(codeFile(of: unaligned.path) == -1)
        #expect(codeFile(of: notELF.path) == -1)
        #expect(codeFile(of: "/nonexistent") == -3)
    }

    @Test("off (--no-huge-code-pages): every runner's code stays on its file pages")
    func off() async throws {
        let (trace, huge) = try await Self.runOnce(codePages: .none) { _ in true }
        expectWentWell(trace)
        #expect(!huge.isEmpty, "no runner of the spawner was found")
        #expect(huge.values.allSatisfy { $0 == 0 }, "code on huge pages with the option off: \(huge)")
    }
}
