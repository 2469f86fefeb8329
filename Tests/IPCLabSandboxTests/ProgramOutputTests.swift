import IPCLabCore
import Testing

@testable import IPCLabSandbox

/// A program run's output area is written by its init but lives in the ring, which the run could
/// write: the server's reader must take any bytes, keep every entry inside them, and stop at the first
/// that is not whole.
@Suite("Program output area")
struct ProgramOutputTests {
    @Test("entries written by the init come back as written")
    func roundTrip() {
        let entries = [
            ProgramOutput.Entry(id: 0, stream: .compiler, truncated: false, bytes: Array("[]".utf8)),
            ProgramOutput.Entry(id: 7, stream: .stdout, truncated: false, bytes: Array("hello\n".utf8)),
            ProgramOutput.Entry(id: 7, stream: .stderr, truncated: true, bytes: []),
        ]
        var area = [UInt8](repeating: 0xAA, count: 256)
        area.withUnsafeMutableBytes { ProgramOutput.write(entries, to: $0.baseAddress!, capacity: $0.count) }
        #expect(ProgramOutput.read(area) == entries)
    }

    @Test("an entry that does not fit is cut and marked truncated")
    func cut() {
        let big = ProgramOutput.Entry(id: 9, stream: .stdout, truncated: false, bytes: [UInt8](repeating: 65, count: 500))
        var area = [UInt8](repeating: 0, count: 100)
        area.withUnsafeMutableBytes { ProgramOutput.write([big], to: $0.baseAddress!, capacity: $0.count) }
        let read = ProgramOutput.read(area)
        #expect(read.count == 1)
        #expect(read.first?.truncated == true)
        #expect((read.first?.bytes.count ?? 0) < 100)
    }

    @Test("hostile bytes: lengths past the end, unknown streams, any seed", arguments: 0..<64)
    func hostile(seed: UInt64) {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let count = Int(next() % 400)
        var area = (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
        // Plausible headers now and then, with lengths that reach past the end.
        if count >= 12 {
            area[4] = UInt8(1 + next() % 3)
            let length = UInt32(truncatingIfNeeded: next() % 1000)
            withUnsafeBytes(of: length) { for (i, b) in $0.enumerated() { area[8 + i] = b } }
        }
        var total = 0
        for e in ProgramOutput.read(area) {
            total += ProgramOutput.headerBytes + e.bytes.count
            #expect([.stdout, .stderr, .compiler].contains(e.stream))
        }
        #expect(total <= area.count)
    }

    @Test("gcc's JSON diagnostics and the driver's plain lines")
    func diagnostics() {
        let json = #"[{"kind": "error", "locations": [{"caret": {"line": 3, "column": 12, "file": "p.c"}}], "message": "'y' undeclared"},"#
            + #" {"kind": "warning", "locations": [], "message": "unused"}]"#
        let said = Array((json + "\ngcc: fatal error: Killed signal terminated program cc1\n").utf8)
        let d = ProgramResults.parse(said, program: "p")
        #expect(d.count == 3)
        #expect(d[0] == Diagnostic(program: "p", line: 3, column: 12, severity: "error", message: "'y' undeclared"))
        #expect(d[1].severity == "warning" && d[1].line == nil)
        #expect(d[2].severity == "error" && d[2].message.contains("Killed signal"))
        // Not JSON at all, or JSON of the wrong shape: lines, never a crash.
        #expect(ProgramResults.parse(Array("[{\"kind\": 3}]\n[not json\n".utf8), program: "p").map(\.message) == ["[not json"])
    }

    @Test("programs in a request: bad fields are named by their path")
    func decode() throws {
        func error(_ body: String) -> LabError? {
            do { _ = try RunRequest.decode(Array(body.utf8)); return nil } catch { return error }
        }
        #expect(error(#"{"programs": [{"name": "ok", "source": "int main(){}"}]}"#) == nil)
        #expect(error(#"{"programs": [{"name": "Caps", "source": "x"}]}"#)?.path == "programs[0].name")
        #expect(error(#"{"programs": [{"name": "a", "source": ""}]}"#)?.path == "programs[0].source")
        #expect(error(#"{"programs": [{"name": "a", "source": "x", "args": [1]}]}"#)?.path == "programs[0].args[0]")
        #expect(error(#"{"programs": [{"name": "a", "source": "x", "extra": 1}]}"#)?.path == "programs[0].extra")
        #expect(error(#"{"programs": [{"name": "a", "source": "x"}], "scenario": {}}"#)?.path == "scenario")
        let request = try RunRequest.decode(Array(#"{"programs": [{"name": "a", "source": "x"}, {"name": "b", "source": "y"}]}"#.utf8))
        #expect(request.programs?.map(\.name) == ["a", "b"])
        #expect(request.scenario.processes.map(\.name) == ["a", "b"])
    }
}
