import CIPCLab
import IPCLabCore

/// What a program run adds to its trace once the run is over: each process's stdout and stderr,
/// the compiler's diagnostics, the `compile_error` outcome, and how calls were seen (`run.tracer`).
/// All of it is read from the ring's output area (``ProgramOutput``), which the run could write:
/// it only ever shows as the program's own output, never as evidence of a call.
enum ProgramResults {
    /// How a program run's calls are seen: the interposer library preloaded into each program.
    static let tracer = "interposer"

    static func apply(to trace: inout Trace, ring: EventRing, programs: [ProgramSpec]) {
        let entries = ProgramOutput.read(ring.programOutputArea())
        trace.run.tracer = tracer
        for i in trace.processes.indices {
            let pid = trace.processes[i].pid
            let out = entries.first { $0.id == pid && $0.stream == .stdout }
            let err = entries.first { $0.id == pid && $0.stream == .stderr }
            trace.processes[i].stdout = text(out?.bytes ?? [], limit: TraceProcess.outputLimit)
            trace.processes[i].stderr = text(err?.bytes ?? [], limit: TraceProcess.outputLimit)
            trace.processes[i].truncated = (out?.truncated ?? false) || (err?.truncated ?? false)
                || (out?.bytes.count ?? 0) > TraceProcess.outputLimit || (err?.bytes.count ?? 0) > TraceProcess.outputLimit
        }
        var diagnostics: [Diagnostic] = []
        for (i, program) in programs.enumerated() {
            guard let said = entries.first(where: { $0.id == Int32(i) && $0.stream == .compiler }) else { continue }
            diagnostics += parse(said.bytes, program: program.name)
        }
        trace.run.diagnostics = diagnostics
        // A program the compiler refused: the run is a compile error, unless a limit ended the compiler.
        let failed = trace.run.sandbox.setup.first { $0.op.hasPrefix("gcc ") && $0.result > 0 && $0.result < 128 }
        // A limit or the wall clock that ended the run before any program started: say it was the compiler.
        let compiled = Set(trace.run.sandbox.setup.filter { $0.op.hasPrefix("gcc ") && $0.result == 0 }.map { String($0.op.dropFirst(4)) })
        if trace.processes.isEmpty, [.limitExceeded, .timeout].contains(trace.run.outcome),
           let compiling = programs.first(where: { !compiled.contains($0.name) }) {
            trace.run.reason = (trace.run.reason ?? "") + "; while compiling program \"\(compiling.name)\""
        }
        if let failed, trace.run.outcome == .ok {
            let name = String(failed.op.dropFirst(4))
            let first = diagnostics.first { $0.program == name && $0.severity == "error" }
            trace.run.outcome = .compileError
            trace.run.reason = "program \"\(name)\" did not compile" + (first.map { d in
                ": " + (d.line.map { "line \($0): " } ?? "") + d.message } ?? "")
        }
    }

    /// Bytes as text (invalid UTF-8 replaced), at most `limit` bytes of them.
    static func text(_ bytes: [UInt8], limit: Int) -> String {
        String(decoding: bytes.prefix(limit), as: UTF8.self)
    }

    /// gcc's `-fdiagnostics-format=json` (an array of diagnostics), or, for what is not JSON (the
    /// driver's own messages, a linker's), one diagnostic per non-empty line, as errors.
    static func parse(_ bytes: [UInt8], program: String) -> [Diagnostic] {
        var out: [Diagnostic] = []
        var plain: [Substring] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("["), let json = try? JSONValue.parse(Array(line.utf8)), case .array(let items) = json {
                for item in items { if let d = diagnostic(item, program: program) { out.append(d) } }
            } else if line.contains(where: { !$0.isWhitespace }) {
                plain.append(line)
            }
        }
        for line in plain.prefix(20) {
            let severity = line.contains("warning:") ? "warning" : line.contains("note:") ? "note" : "error"
            out.append(Diagnostic(program: program, line: nil, column: nil, severity: severity, message: String(line.prefix(500))))
        }
        return Array(out.prefix(100))
    }

    private static func diagnostic(_ item: JSONValue, program: String) -> Diagnostic? {
        guard case .object(let f) = item, case .string(let kind)? = f["kind"], case .string(let message)? = f["message"] else { return nil }
        var line: Int?
        var column: Int?
        if case .array(let locations)? = f["locations"], case .object(let location)? = locations.first,
           case .object(let caret)? = location["caret"] {
            if case .integer(let l)? = caret["line"] { line = Int(l) }
            if case .integer(let c)? = caret["column"] { column = Int(c) }
        }
        let severity = kind == "warning" || kind == "note" ? kind : "error"
        return Diagnostic(program: program, line: line, column: column, severity: severity, message: String(message.prefix(500)))
    }
}

