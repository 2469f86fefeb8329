import Foundation
import Testing
@testable import IPCLabSandbox

/// Which image the spawner and runners are started from: `ipclab-sandbox` beside `ipclab` when it is
/// there and executable, else `ipclab` itself.
@Suite("Sandbox image")
struct SandboxImageTests {
    @Test("ipclab-sandbox beside the binary is chosen only when it is an executable file there")
    func sibling() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipclab-image-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let main = dir.appendingPathComponent("ipclab").path
        let sibling = dir.appendingPathComponent(Spawner.sandboxExecutableName).path
        #expect(FileManager.default.createFile(atPath: main, contents: Data(), attributes: [.posixPermissions: 0o755]))
        #expect(Spawner.sandboxImage(beside: main) == main, "no sibling: ipclab itself")
        #expect(FileManager.default.createFile(atPath: sibling, contents: Data(), attributes: [.posixPermissions: 0o644]))
        #expect(Spawner.sandboxImage(beside: main) == main, "a sibling that is not executable is not used (root too: no x bit)")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: sibling)
        #expect(Spawner.sandboxImage(beside: main) == sibling)
        #expect(Spawner.sandboxImage(beside: "ipclab") == "ipclab", "a bare name (no directory) is used as it is")
    }

    @Test("the build puts ipclab-sandbox beside ipclab, and the spawner the tests start runs it")
    func built() throws {
        let binary = try Lab.binary.get()
        #expect(Spawner.sandboxImage(beside: binary).hasSuffix("/" + Spawner.sandboxExecutableName))
    }
}
