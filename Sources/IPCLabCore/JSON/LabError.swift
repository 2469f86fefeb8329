/// A domain error with a stable code, a sentence for people, and the JSON path of
/// the bad field when there is one (`params.read_sizes[2]`). The HTTP layer maps
/// codes to statuses in one place; nothing here knows about HTTP.
public struct LabError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable codes that clients and graders may key on.
    public enum Code: String, Sendable, CaseIterable {
        case invalidJSON = "invalid_json"
        case invalidRequest = "invalid_request"
        case unknownField = "unknown_field"
        case invalidParameter = "invalid_parameter"
        case invalidScenario = "invalid_scenario"
        case invalidLimit = "invalid_limit"
        case unknownExperiment = "unknown_experiment"
        /// The lab cannot take the run now (no spawner, no ring): try again.
        case unavailable = "unavailable"
        case sandboxFailed = "sandbox_failed"
        case internalError = "internal"
    }

    public var code: Code
    public var message: String
    public var path: String?
    /// Every error found in the request, in document order, this one first; empty when this error
    /// was found alone (``all`` then lists just it). See ``ErrorCollector``.
    public var errors: [LabError] = []

    /// Every error this one stands for: its ``errors``, or itself.
    public var all: [LabError] { errors.isEmpty ? [self] : errors }

    public init(_ code: Code, _ message: String, path: String? = nil) {
        self.code = code
        self.message = message
        // The document's root has no path worth naming.
        self.path = path?.isEmpty == true ? nil : path
    }

    /// `path: message`; with several ``errors``, one such line for each.
    public var description: String {
        all.map { e in e.path.map { "\($0): \(e.message)" } ?? e.message }.joined(separator: "\n")
    }
}
