/// Where each value of a JSON document starts, by its path as errors print it
/// (`scenario.processes[1].steps[2].data`): what puts a request's errors in document order,
/// which a parsed ``JSONValue`` cannot (its objects keep no key order).
struct JSONLocations {
    private var offsets: [String: Int] = [:]

    /// Scans `bytes`, a document that ``JSONValue/parse(_:)`` accepted (anything else maps less).
    init(_ bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        var i = 0
        func skipSpace() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        func string() -> String {
            let start = i + 1
            i += 1
            while i < b.count, b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
            defer { i += 1 }
            let raw = b[start..<min(i, b.count)]
            // Keys with escapes are rare in requests; their decoded text is what paths print.
            if raw.contains(UInt8(ascii: "\\")), let decoded = try? JSONValue.parse(b[(start - 1)...min(i, b.count - 1)]),
               case .string(let s) = decoded {
                return s
            }
            return String(decoding: raw, as: UTF8.self)
        }
        func value(_ path: JSONPath, depth: Int) {
            skipSpace()
            guard i < b.count, depth <= 64 else { return }
            offsets[path.description] = i
            switch b[i] {
            case UInt8(ascii: "{"):
                i += 1
                while true {
                    skipSpace()
                    guard i < b.count, b[i] == UInt8(ascii: "\"") else { i += 1; return }
                    let key = string()
                    skipSpace()
                    i += 1 // the colon
                    value(path.key(key), depth: depth + 1)
                    skipSpace()
                    guard i < b.count, b[i] == UInt8(ascii: ",") else { i += 1; return }
                    i += 1
                }
            case UInt8(ascii: "["):
                i += 1
                skipSpace()
                if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return }
                var n = 0
                while true {
                    value(path.index(n), depth: depth + 1)
                    n += 1
                    skipSpace()
                    guard i < b.count, b[i] == UInt8(ascii: ",") else { i += 1; return }
                    i += 1
                }
            case UInt8(ascii: "\""):
                _ = string()
            default:
                while i < b.count, !",}] \n\r\t".utf8.contains(b[i]) { i += 1 }
            }
        }
        value(JSONPath(), depth: 0)
    }

    /// The offset of the value at `path`, or of the nearest enclosing value the document has
    /// (a required field that is missing sorts at its object); -1 for no path (the whole request).
    func offset(of path: String?) -> Int {
        guard var p = path, !p.isEmpty else { return -1 }
        while true {
            if let o = offsets[p] { return o }
            guard let cut = p.lastIndex(where: { $0 == "." || $0 == "[" }) else { return offsets[""] ?? -1 }
            p = String(p[..<cut])
        }
    }
}
