/// One parameter of a preset: its type, default and bounds, as the catalog publishes them.
public struct Parameter: Sendable {
    public enum Kind: String, Sendable {
        case integer
        case boolean
        case string
        case integerArray = "integer_array"
        /// A list of distinct words, each one of ``Parameter/choices``.
        case stringArray = "string_array"
    }

    public var name: String
    public var kind: Kind
    public var description: String
    /// The value used when the request leaves the parameter out; `.null` for "not set".
    public var defaultValue: JSONValue
    /// Bounds of an integer, or of each item of an integer array.
    public var range: ClosedRange<Int>?
    /// Bounds on the number of items of an array, or the UTF-8 length of a string.
    public var count: ClosedRange<Int>?
    /// The words each item of a `string_array` may be, or the words a `string` may be (published
    /// so that a form offers them as a list; the preset's own check still rejects any other).
    public var choices: [String]?
    /// Reads a given value into its canonical form before the type check, or rejects it
    /// (a signal number into its name, a word that must be one of a few).
    public var normalize: (@Sendable (JSONValue, JSONPath) throws(LabError) -> JSONValue)?

    public init(_ name: String, _ kind: Kind, _ description: String, default defaultValue: JSONValue,
                range: ClosedRange<Int>? = nil, count: ClosedRange<Int>? = nil, choices: [String]? = nil,
                normalize: (@Sendable (JSONValue, JSONPath) throws(LabError) -> JSONValue)? = nil) {
        self.name = name
        self.kind = kind
        self.description = description
        self.defaultValue = defaultValue
        self.range = range
        self.count = count
        self.choices = choices
        self.normalize = normalize
    }

    /// Checks a value given for this parameter; `path` is where it sat in the request.
    func validate(_ given: JSONValue, at path: JSONPath) throws(LabError) -> JSONValue {
        func bad(_ why: String) -> LabError { LabError(.invalidParameter, why, path: path.description) }
        var value = given
        if let normalize { value = try normalize(given, path) }
        switch kind {
        case .integer:
            return .integer(Int64(try JSONObjectReader.integer(value, in: range ?? Int.min...Int.max, at: path, code: .invalidParameter)))
        case .boolean:
            guard case .bool = value else { throw bad("must be true or false, not \(value.typeName)") }
            return value
        case .string:
            guard case .string(let s) = value else { throw bad("must be a string, not \(value.typeName)") }
            if let count, !count.contains(s.utf8.count) {
                throw bad("must be \(count.lowerBound)…\(count.upperBound) bytes long, not \(s.utf8.count)")
            }
            return value
        case .integerArray:
            guard case .array(let items) = value else { throw bad("must be an array of integers, not \(value.typeName)") }
            if let count, !count.contains(items.count) {
                throw bad("must have \(count.lowerBound)…\(count.upperBound) items, not \(items.count)")
            }
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() {
                out.append(.integer(Int64(try JSONObjectReader.integer(item, in: range ?? Int.min...Int.max,
                                                                         at: path.index(i), code: .invalidParameter))))
            }
            return .array(out)
        case .stringArray:
            guard case .array(let items) = value else { throw bad("must be an array of strings, not \(value.typeName)") }
            if let count, !count.contains(items.count) {
                throw bad("must have \(count.lowerBound)…\(count.upperBound) items, not \(items.count)")
            }
            var seen: [String] = []
            for (i, item) in items.enumerated() {
                let at = path.index(i).description
                guard case .string(let word) = item else {
                    throw LabError(.invalidParameter, "must be a string, not \(item.typeName)", path: at)
                }
                if let choices, !choices.contains(word) {
                    throw LabError(.invalidParameter, "must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", ")), not \"\(word)\"", path: at)
                }
                guard !seen.contains(word) else { throw LabError(.invalidParameter, "\"\(word)\" is listed twice", path: at) }
                seen.append(word)
            }
            return value
        }
    }
}
