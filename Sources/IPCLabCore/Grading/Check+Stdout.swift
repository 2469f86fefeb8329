/// The `stdout` check: what a program's process printed. Its evidence is the process's own
/// writes to its standard output whose recorded bytes hold the text (none when the tracer did not
/// record them: the captured output alone then shows it).
extension Check {
    static func stdoutOutcome(on trace: Trace, process: String, contains: String) -> (Bool, [Int], String) {
        if let missing = trace.missing(process: process) { return (false, [], missing) }
        guard let p = trace.process(process), let output = p.stdout else {
            return (false, [], "\(process) has no captured standard output (only the processes of C programs have one)")
        }
        let size = "\(output.utf8.count) bytes"
        guard output.contains(contains) else {
            let shown = output.isEmpty ? "it is empty" : "it begins \(Self.quoted(Self.preview(output)))"
            let cut = p.truncated ? " (the capture keeps \(TraceProcess.outputLimit) bytes per stream: the text may have come later)" : ""
            return (false, [], "\(process)'s standard output (\(size)) does not contain \(Self.quoted(Self.preview(contains))); \(shown)\(cut)")
        }
        // The writes to fd 1 that carried part of the text (a line may take several writes).
        let writes = trace.events.filter { e in
            guard e.process == process, e.call == "write", e.arg(.fd) == .integer(1), (e.result ?? -1) > 0,
                  let text = e.payload?.text, !text.isEmpty else { return false }
            return text.contains(contains) || contains.contains(text)
        }
        return (true, writes.seqs, "\(process)'s standard output (\(size)) contains \(Self.quoted(Self.preview(contains)))")
    }

    /// At most 80 characters of `text`, on one line.
    static func preview(_ text: String) -> String {
        let line = text.replacingNewlines()
        return line.count > 80 ? String(line.prefix(80)) + "…" : line
    }
}

extension String {
    /// `\n` shown as `⏎` so a message stays on one line.
    fileprivate func replacingNewlines() -> String {
        String(map { $0 == "\n" ? "⏎" : $0 })
    }
}
