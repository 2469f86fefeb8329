/// A path into a JSON document, printed the way error messages show it:
/// `scenario.processes[1].steps[3].size`.
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    private var text: String

    /// The root of a document, or a named top-level prefix such as `params`.
    public init(_ root: String = "") { text = root }

    public func key(_ name: String) -> JSONPath {
        JSONPath(text.isEmpty ? name : "\(text).\(name)")
    }

    public func index(_ i: Int) -> JSONPath {
        JSONPath("\(text)[\(i)]")
    }

    public var description: String { text }
}
