/// `?fields=run,checks,observations`: a trace's JSON with only the top-level fields asked for
/// (`trace_version` always; `checks` brings `score` and `max_score`), in their usual order.
public struct TraceFields: Sendable, Equatable {
    /// The top-level fields of a trace that can be asked for.
    public static let names = ["run", "scenario", "processes", "events", "transfers", "objects", "observations", "checks"]

    public let kept: Set<String>

    /// Reads a comma-separated list; an unknown name is `400 invalid_parameter` at `fields`.
    public init(_ text: String) throws(LabError) {
        var kept: Set<String> = ["trace_version"]
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: .whitespaces)
            guard Self.names.contains(name) else {
                throw LabError(.invalidParameter, "fields lists a trace's top-level fields (\(Self.names.joined(separator: ", "))), not \"\(name)\"",
                               path: "fields")
            }
            kept.insert(name)
            if name == "checks" { kept.formUnion(["score", "max_score"]) }
        }
        self.kept = kept
    }

    /// `json`, a JSON object as this server writes it (compact, well formed), with only the kept
    /// top-level members: a scan of the bytes that copies the kept members as they are.
    public func select(_ json: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        var i = json.firstIndex(of: UInt8(ascii: "{")).map { $0 + 1 } ?? json.count
        func skipSpace() { while i < json.count, [0x20, 0x0A, 0x0D, 0x09].contains(json[i]) { i += 1 } }
        /// Moves past one string starting at `i` (on its opening quote).
        func skipString() {
            i += 1
            while i < json.count, json[i] != UInt8(ascii: "\"") { i += json[i] == UInt8(ascii: "\\") ? 2 : 1 }
            i += 1
        }
        /// Moves past one value starting at `i`: a string, a scalar, or a nested object or array.
        func skipValue() {
            var depth = 0
            while i < json.count {
                switch json[i] {
                case UInt8(ascii: "\""):
                    skipString()
                    if depth == 0 { return }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return }
                    depth -= 1
                    if depth == 0 { i += 1; return }
                case UInt8(ascii: ","):
                    if depth == 0 { return }
                default:
                    break
                }
                i += 1
            }
        }
        var first = true
        while true {
            skipSpace()
            guard i < json.count, json[i] == UInt8(ascii: "\"") else { break }
            let keyStart = i
            skipString()
            let key = String(decoding: json[(keyStart + 1)..<(i - 1)], as: UTF8.self)
            skipSpace()
            i += 1 // the colon
            skipSpace()
            let valueStart = i
            skipValue()
            if kept.contains(key) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out += json[keyStart..<(valueStart)]
                out += json[valueStart..<i]
            }
            skipSpace()
            if i < json.count, json[i] == UInt8(ascii: ",") { i += 1 } else { break }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
