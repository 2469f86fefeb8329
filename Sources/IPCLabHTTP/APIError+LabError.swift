import IPCLabCore

extension APIError {
    /// The HTTP face of a domain error: the one place a ``LabError`` code gets its status.
    public init(_ error: LabError) {
        let code: Code
        switch error.code {
        case .invalidJSON: code = .invalidJSON
        case .invalidRequest: code = .invalidRequest
        case .unknownField: code = .unknownField
        case .invalidParameter: code = .invalidParameter
        case .invalidScenario: code = .invalidScenario
        case .invalidLimit: code = .invalidLimit
        case .unknownExperiment: code = .unknownExperiment
        case .unavailable: code = .unavailable
        case .sandboxFailed, .internalError: code = .internal
        }
        self.init(code, error.message, path: error.path,
                  headers: error.code == .unavailable ? ["Retry-After": "1"] : [:])
    }
}
