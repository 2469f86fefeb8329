import IPCLabCore

extension APIError {
    /// The HTTP face of a domain error: the one place a ``LabError`` code gets its status.
    public init(_ error: LabError) {
        self.init(Self.code(of: error.code), error.message, path: error.path,
                  headers: error.code == .unavailable ? ["Retry-After": "1"] : [:])
        if !error.errors.isEmpty {
            errors = error.errors.map { Detail(code: Self.code(of: $0.code).rawValue, message: $0.message, path: $0.path) }
        }
    }

    /// The API code of a domain error's code.
    static func code(of labCode: LabError.Code) -> Code {
        let code: Code
        switch labCode {
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
        return code
    }
}
