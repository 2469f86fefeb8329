/// The `stdout` check: what a program's process printed. Its evidence is the `output` events whose
/// bytes hold the text (the run's init records what each process's capture gained: every event that
/// the first occurrence of the text overlaps, when it spans several), and the process's own traced
/// writes to fd 1 that carried part of it.
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
        let chunks = outputEvents(in: trace, process: process, fd: 1, covering: contains, of: output)
        let seen = chunks.isEmpty ? "" : "; output event\(chunks.count == 1 ? "" : "s") " + chunks.map { "#\($0)" }.joined(separator: ", ")
        return (true, (writes.seqs + chunks).sorted(),
                "\(process)'s standard output (\(size)) contains \(Self.quoted(Self.preview(contains)))\(seen)")
    }

    /// The `output` events of `process` on `fd` that the first occurrence of `text` in the captured
    /// `output` overlaps. An event counts only when its bytes lie within the capture and its preview is
    /// the captured bytes at its offset (the run could record anything; the capture is what the check reads).
    static func outputEvents(in trace: Trace, process: String, fd: Int64, covering text: String, of output: String) -> [Int] {
        let bytes = Array(output.utf8), needle = Array(text.utf8)
        guard !needle.isEmpty, needle.count <= bytes.count,
              let start = (0...(bytes.count - needle.count)).first(where: { bytes[$0..<($0 + needle.count)].elementsEqual(needle) })
        else { return [] }
        let end = start + needle.count
        return trace.events.filter { e in
            guard e.process == process, e.call == ProcessCall.output.name, e.arg(.fd) == .integer(fd),
                  case .integer(let offset)? = e.arg(.offset), case .integer(let count)? = e.arg(.bytes),
                  let preview = e.payload?.preview, offset >= 0, count > 0 else { return false }
            // offset and count come from the ring, which the run can write: compared before any sum.
            guard offset < Int64(end) else { return false }
            let from = Int(offset)
            guard count > Int64(start - from), count <= Int64(bytes.count - from), preview.count <= bytes.count - from else { return false }
            return bytes[from..<(from + preview.count)].elementsEqual(preview)
        }.seqs
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
