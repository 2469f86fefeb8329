import Foundation

/// Who a run request counts as, for the fair sharing of run slots (``RunExecutor``): its
/// source address, or, when the operator configured API keys (`ipclab serve --api-keys FILE`),
/// the key it sends in ``headerName`` (so that a class behind one NAT address is not one
/// client, and one student with many addresses is). A request with no key, or a key not in
/// the file, counts as its address. Keys never appear anywhere: a key's client is its name.
public struct RunClients: Sendable {
    /// The header that carries a key (`X-API-Key` unless configured otherwise).
    public let headerName: String
    /// Key → name.
    private let names: [String: String]

    /// No keys: every request is its address.
    public init() {
        headerName = "X-API-Key"
        names = [:]
    }

    /// Keys and their names, as ``parse(_:)`` reads them.
    public init(headerName: String = "X-API-Key", names: [String: String]) {
        self.headerName = headerName
        self.names = names
    }

    /// Reads a keys file: one key per line, optionally preceded by a name and a space
    /// (`alice 3f9c…`; default name `key-<line>`); blank lines and `#` comments are skipped.
    /// Throws a message naming the line of a key that is repeated or shorter than 16 bytes.
    public static func parse(_ text: String) throws -> [String: String] {
        var names: [String: String] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            let key = String(words.last!)
            let name = words.count > 1 ? String(words[0]) : "key-\(index + 1)"
            guard key.utf8.count >= 16 else { throw KeysError("line \(index + 1): a key must be at least 16 characters") }
            guard names[key] == nil else { throw KeysError("line \(index + 1): this key is already on an earlier line") }
            names[key] = name
        }
        return names
    }

    /// A keys file that cannot be used.
    public struct KeysError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Whether any key is configured.
    public var usesKeys: Bool { !names.isEmpty }

    /// The client `request` counts as: `key:<name>` for a configured key, else its address.
    public func client(of request: HTTPRequest) -> String {
        // Spaces and tabs only (a header's optional whitespace), not Foundation's `trimmingCharacters`:
        // that bridged through NSString and cost ~3 % of the server's CPU per run with keys in use.
        if usesKeys, let header = request.header(headerName),
           let name = names[String(Substring(header).trimmingASCIISpaces())] {
            return "key:" + name
        }
        return request.remoteAddress.isEmpty ? "unknown" : request.remoteAddress
    }
}
