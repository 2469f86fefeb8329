/// Small helpers the shared-memory and semaphore presets write their parameters' checks and their
/// observations' sentences with.

/// Checks a string parameter that must be one of a few words.
enum Choice {
    static func check(_ params: Parameters, _ name: String, _ allowed: [String]) throws(LabError) {
        guard let value = params.string(name) else { return }
        guard allowed.contains(value) else {
            throw LabError(.invalidParameter, "must be one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), not \"\(value)\"",
                           path: "params.\(name)")
        }
    }
}

/// Checks that the `message` parameter and its NUL fit a region of `size` bytes.
func checkMessageFits(_ params: Parameters) throws(LabError) {
    let message = params.string("message") ?? ""
    if let size = params.int("size"), size < message.utf8.count + 1 {
        throw LabError(.invalidParameter, "must be at least \(message.utf8.count + 1): the message and its NUL", path: "params.size")
    }
}

/// Time in milliseconds for a sentence: `12.3 ms`.
func milliseconds(_ ns: Int64) -> String {
    String(format: "%.1f ms", Double(ns) / 1e6)
}

/// A string in quotes for a sentence; `nothing` when there is none.
func quoted(_ s: String?) -> String {
    s.map { "\"\($0)\"" } ?? "nothing"
}
