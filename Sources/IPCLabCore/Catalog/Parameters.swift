/// The validated parameters of one run of a preset, defaults filled in.
public struct Parameters: Sendable {
    public private(set) var values: [String: JSONValue]

    public init(values: [String: JSONValue]) {
        self.values = values
    }

    /// Validates `given` (the request's `params` object, or nil) against an experiment's parameters.
    public static func decode(_ given: JSONValue?, for experiment: Experiment) throws(LabError) -> Parameters {
        let root = JSONPath("params")
        var fields: [String: JSONValue] = [:]
        if let given {
            guard case .object(let f) = given else {
                throw LabError(.invalidParameter, "must be an object, not \(given.typeName)", path: "params")
            }
            fields = f
        }
        if let unknown = fields.keys.sorted().first(where: { name in !experiment.parameters.contains { $0.name == name } }) {
            let known = experiment.parameters.map(\.name).joined(separator: ", ")
            throw LabError(.invalidParameter, "unknown parameter of \(experiment.id); known: \(known.isEmpty ? "none" : known)",
                           path: root.key(unknown).description)
        }
        var values: [String: JSONValue] = [:]
        for p in experiment.parameters {
            if let v = fields[p.name], v != .null {
                values[p.name] = try p.validate(v, at: root.key(p.name))
            } else {
                values[p.name] = p.defaultValue
            }
        }
        return Parameters(values: values)
    }

    /// The defaults of an experiment.
    public static func defaults(for experiment: Experiment) -> Parameters {
        Parameters(values: Dictionary(uniqueKeysWithValues: experiment.parameters.map { ($0.name, $0.defaultValue) }))
    }

    public func int(_ name: String) -> Int? {
        if case .integer(let i)? = values[name] { return Int(i) }
        return nil
    }

    public func bool(_ name: String) -> Bool? {
        if case .bool(let b)? = values[name] { return b }
        return nil
    }

    public func string(_ name: String) -> String? {
        if case .string(let s)? = values[name] { return s }
        return nil
    }

    public func ints(_ name: String) -> [Int] {
        guard case .array(let items)? = values[name] else { return [] }
        return items.compactMap { if case .integer(let i) = $0 { Int(i) } else { nil } }
    }

    public func strings(_ name: String) -> [String] {
        guard case .array(let items)? = values[name] else { return [] }
        return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
    }

    /// The parameters as a JSON object.
    public var json: JSONValue { .object(values) }
}
