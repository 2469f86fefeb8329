import Foundation

/// A parsed JSON value, kept exact: integers stay integers, and objects remember
/// which keys were present so validation can reject unknown fields.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses `bytes` as one JSON document.
    /// - Throws: ``LabError`` with code `invalid_json` when the bytes are not JSON.
    public static func parse(_ bytes: some Collection<UInt8>) throws(LabError) -> JSONValue {
        let result: Result<JSONValue, JSONParser.Failure>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParser.Failure) in try JSONParser.parse(buffer) }
        }
        let outcome = result ?? Array(bytes).withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParser.Failure) in try JSONParser.parse(buffer) }
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let f):
            let (line, column) = position(of: f.offset, in: bytes)
            throw LabError(.invalidJSON, "the body is not valid JSON: \(f.message) at line \(line), column \(column) (byte \(f.offset))")
        }
    }

    /// The 1-based line and column (in characters) of byte `offset`, for people reading an error.
    static func position(of offset: Int, in bytes: some Collection<UInt8>) -> (line: Int, column: Int) {
        var line = 1
        var lineStart: [UInt8] = []
        for b in bytes.prefix(offset) {
            if b == 0x0A { line += 1; lineStart.removeAll(keepingCapacity: true) } else { lineStart.append(b) }
        }
        // Count characters, not bytes: UTF-8 continuation bytes do not start one.
        return (line, lineStart.filter { $0 & 0xC0 != 0x80 }.count + 1)
    }

    /// Parses a raw buffer (a run's plan in shared memory) without copying it.
    public static func parse(_ buffer: UnsafeRawBufferPointer) throws(LabError) -> JSONValue {
        do {
            return try JSONParser.parse(buffer.bindMemory(to: UInt8.self))
        } catch {
            throw LabError(.invalidJSON, "not valid JSON: \(error.message) at byte \(error.offset)")
        }
    }

    /// A short word for the value's JSON type, used in error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}
