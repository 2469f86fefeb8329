import Foundation
import IPCLabCore
import Testing

/// Runs `body` and returns the ``LabError`` it threw, or nil when it did not throw.
/// (Closures infer `any Error` as their thrown type, so another error is recorded as an issue.)
func labError<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T) -> LabError? {
    do {
        _ = try body()
        return nil
    } catch let error as LabError {
        return error
    } catch {
        Issue.record("threw \(error), not a LabError", sourceLocation: sourceLocation)
        return nil
    }
}

/// Checks that `body` fails with `code` at `path` (and, when given, a message containing `message`).
func expectLabError<T>(_ code: LabError.Code, path: String?, message: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation,
                       _ body: () throws -> T) {
    guard let error = labError(sourceLocation: sourceLocation, body) else {
        Issue.record("expected \(code.rawValue) at \(path ?? "nil"), but nothing was thrown", sourceLocation: sourceLocation)
        return
    }
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    #expect(error.path == path, "\(error)", sourceLocation: sourceLocation)
    if let message {
        #expect(error.message.contains(message), "message was: \(error.message)", sourceLocation: sourceLocation)
    }
}

/// Parses JSON text the way request bodies are parsed.
func json(_ text: String) throws -> JSONValue {
    try JSONValue.parse(Array(text.utf8))
}

/// Parses and validates a scenario written as JSON text.
func decodeScenario(_ text: String) throws(LabError) -> Scenario {
    try Scenario.decode(try JSONValue.parse(Array(text.utf8)))
}

/// Decodes a `POST /api/v1/runs` body written as text.
func decodeRequest(_ text: String, maxWallMs: Int = 10_000) throws(LabError) -> RunRequest {
    try RunRequest.decode(Array(text.utf8), maxWallMs: maxWallMs)
}

/// Scenario text for the course's `pipe.c`, with the parts a test changes as arguments.
/// Each step and channel is JSON object text.
func scenarioText(
    channels: [String] = [#"{"name": "p", "kind": "pipe"}"#],
    parent: [String] = [
        #"{"op": "close", "channel": "p", "end": "write"}"#,
        #"{"op": "read", "channel": "p", "size": 6}"#,
        #"{"op": "wait", "process": "child"}"#,
    ],
    child: [String] = [
        #"{"op": "close", "channel": "p", "end": "read"}"#,
        #"{"op": "write", "channel": "p", "data": "Hello"}"#,
        #"{"op": "exit", "code": 0}"#,
    ],
    parentName: String = "parent",
    childName: String = "child"
) -> String {
    """
    {"channels": [\(channels.joined(separator: ", "))],
     "processes": [
       {"name": "\(parentName)", "steps": [\(parent.joined(separator: ", "))]},
       {"name": "\(childName)", "steps": [\(child.joined(separator: ", "))]}
     ]}
    """
}

/// Parses JSON bytes with Foundation's parser, independent of the code under test.
func foundationJSON(_ bytes: [UInt8]) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
}
