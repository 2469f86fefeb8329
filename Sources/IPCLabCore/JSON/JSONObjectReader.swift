/// Reads the fields of one JSON object strictly: every field it is asked for is
/// checked for type and bounds, and ``finish()`` rejects any field nobody asked for.
/// Every error names the path of the bad field.
public struct JSONObjectReader {
    public let path: JSONPath
    private let fields: [String: JSONValue]
    private let code: LabError.Code
    private var read: Set<String> = []
    /// The loop indexes in scope (a step inside a `loop`): text fields then have their `{…}`
    /// filled in, and integer fields may be a `"{…}"` expression of them. Nil outside loops.
    public var scope: LoopScope?

    /// - Parameters:
    ///   - value: must be a JSON object.
    ///   - path: where the object sits in the document.
    ///   - code: the error code for bad values (`invalid_scenario`, `invalid_request`, …).
    public init(_ value: JSONValue, at path: JSONPath, code: LabError.Code) throws(LabError) {
        guard case .object(let fields) = value else {
            throw LabError(code, "must be an object, not \(value.typeName)", path: path.description)
        }
        self.fields = fields
        self.path = path
        self.code = code
    }

    /// Whether the object has the field (null counts as absent).
    public func has(_ key: String) -> Bool {
        if let value = fields[key], value != .null { return true }
        return false
    }

    /// The raw value of a field, marking it as read.
    public mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let value = fields[key], value != .null else { return nil }
        return value
    }

    /// Fails when the object carries fields that were never read (one error for each).
    public func finish() throws(LabError) {
        var found = ErrorCollector()
        for unknown in fields.keys.sorted() where !read.contains(unknown) {
            found.add(LabError(.unknownField, "unknown field", path: path.key(unknown).description))
        }
        try found.check()
    }

    public func fail(_ key: String, _ message: String) -> LabError {
        LabError(code, message, path: path.key(key).description)
    }

    // MARK: Typed fields

    public mutating func string(_ key: String) throws(LabError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let s) = value else { throw fail(key, "must be a string, not \(value.typeName)") }
        guard let scope else { return s }
        return try scope.substitute(s, at: path.key(key), code: code)
    }

    public mutating func requiredString(_ key: String) throws(LabError) -> String {
        guard let s = try string(key) else { throw fail(key, "is required") }
        return s
    }

    public mutating func bool(_ key: String) throws(LabError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let b) = value else { throw fail(key, "must be true or false, not \(value.typeName)") }
        return b
    }

    public mutating func int(_ key: String, in range: ClosedRange<Int>) throws(LabError) -> Int? {
        guard let value = value(key) else { return nil }
        if let scope, case .string(let s) = value {
            let n = try scope.evaluate(s, at: path.key(key), code: code)
            guard range.contains(n) else {
                throw fail(key, "must be \(range.lowerBound)…\(range.upperBound), not \(n) (\"\(s)\")")
            }
            return n
        }
        return try Self.integer(value, in: range, at: path.key(key), code: code)
    }

    public mutating func requiredInt(_ key: String, in range: ClosedRange<Int>) throws(LabError) -> Int {
        guard let n = try int(key, in: range) else { throw fail(key, "is required") }
        return n
    }

    public mutating func array(_ key: String) throws(LabError) -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else { throw fail(key, "must be an array, not \(value.typeName)") }
        return items
    }

    /// A string that must be one of the cases of `E`.
    public mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws(LabError) -> E?
    where E.RawValue == String {
        guard let s = try string(key) else { return nil }
        guard let e = E(rawValue: s) else {
            let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw fail(key, "must be one of \(allowed), not \"\(s)\"")
        }
        return e
    }

    /// Checks that `value` is an integer in `range`.
    public static func integer(_ value: JSONValue, in range: ClosedRange<Int>, at path: JSONPath,
                               code: LabError.Code) throws(LabError) -> Int {
        let n: Int
        switch value {
        case .integer(let i): n = Int(i)
        case .double(let d) where d == d.rounded() && abs(d) < 1e15: n = Int(d)
        default: throw LabError(code, "must be an integer, not \(value.typeName)", path: path.description)
        }
        guard range.contains(n) else {
            throw LabError(code, "must be \(range.lowerBound)…\(range.upperBound), not \(n)", path: path.description)
        }
        return n
    }
}
