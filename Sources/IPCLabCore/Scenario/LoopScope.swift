/// One index of an enclosing `loop` step and its value in the current iteration.
public struct LoopIndex: Sendable, Equatable {
    public var name: String
    public var value: Int

    public init(name: String, value: Int) {
        self.name = name
        self.value = value
    }
}

/// The loop indexes a step inside a `loop` sees, outermost first. The step's text fields have
/// their `{expression}` parts replaced by the value (`"item {i + 1}"` → `"item 4"`; `{{` and `}}`
/// stand for a brace), and an integer field may be one `"{expression}"` (`"offset": "{i % 4 * 16}"`).
/// An expression is integers, the indexes' names, `+ - * / %` (as in C) and parentheses.
public struct LoopScope: Sendable, Equatable, CustomStringConvertible {
    public var indexes: [LoopIndex]

    public init(_ indexes: [LoopIndex] = []) {
        self.indexes = indexes
    }

    /// The scope inside a nested loop's iteration.
    public func with(_ name: String, _ value: Int) -> LoopScope {
        LoopScope(indexes + [LoopIndex(name: name, value: value)])
    }

    /// `i=3, j=1`: which iteration, for people.
    public var description: String { indexes.map { "\($0.name)=\($0.value)" }.joined(separator: ", ") }

    /// The value of the index called `name` (the innermost, were two to share it), if in scope.
    public func value(of name: String) -> Int? { indexes.last { $0.name == name }?.value }

    /// `text` with each `{expression}` replaced by its value.
    public func substitute(_ text: String, at path: JSONPath, code: LabError.Code) throws(LabError) -> String {
        guard text.contains("{") || text.contains("}") else { return text }
        var out = ""
        var chars = text[...]
        while let c = chars.popFirst() {
            switch c {
            case "{" where chars.first == "{", "}" where chars.first == "}":
                chars.removeFirst()
                out.append(c)
            case "{":
                guard let close = chars.firstIndex(of: "}") else {
                    throw LabError(code, "a \"{\" opens an expression of the loop's indexes that no \"}\" closes (write {{ for a brace)",
                                   path: path.description)
                }
                out += String(try evaluateExpression(String(chars[..<close]), at: path, code: code))
                chars = chars[chars.index(after: close)...]
            case "}":
                throw LabError(code, "a \"}\" closes no expression (write }} for a brace)", path: path.description)
            default:
                out.append(c)
            }
        }
        return out
    }

    /// The value of `text`, which must be one `"{expression}"`.
    public func evaluate(_ text: String, at path: JSONPath, code: LabError.Code) throws(LabError) -> Int {
        guard text.first == "{", text.last == "}", text.count >= 2, !text.dropFirst().dropLast().contains("{") else {
            throw LabError(code, "must be an integer, or inside a loop \"{expression}\" of its indexes (\(description)), not \"\(text)\"",
                           path: path.description)
        }
        return try evaluateExpression(String(text.dropFirst().dropLast()), at: path, code: code)
    }

    private func evaluateExpression(_ text: String, at path: JSONPath, code: LabError.Code) throws(LabError) -> Int {
        var expression = LoopExpression(text, scope: self)
        do throws(LoopExpression.Failure) {
            return try expression.value()
        } catch {
            throw LabError(code, "in \"{\(text)}\": \(error.message)", path: path.description)
        }
    }
}

/// A small integer expression over loop indexes, evaluated at once (no tree is kept: each
/// iteration evaluates its text again, a few hundred nanoseconds).
struct LoopExpression {
    struct Failure: Error { var message: String }

    private let bytes: [UInt8]
    private let scope: LoopScope
    private var i = 0

    init(_ text: String, scope: LoopScope) {
        bytes = Array(text.utf8)
        self.scope = scope
    }

    mutating func value() throws(Failure) -> Int {
        guard bytes.count <= 200 else { throw Failure(message: "an expression is at most 200 characters") }
        let v = try sum()
        skipSpace()
        guard i == bytes.count else { throw Failure(message: "unexpected \"\(String(decoding: bytes[i...], as: UTF8.self))\"") }
        return v
    }

    private mutating func skipSpace() { while i < bytes.count, bytes[i] == 0x20 { i += 1 } }

    private mutating func peek() -> UInt8? {
        skipSpace()
        return i < bytes.count ? bytes[i] : nil
    }

    private mutating func sum() throws(Failure) -> Int {
        var v = try product()
        while let op = peek(), op == UInt8(ascii: "+") || op == UInt8(ascii: "-") {
            i += 1
            let r = try product()
            let (x, overflow) = op == UInt8(ascii: "+") ? v.addingReportingOverflow(r) : v.subtractingReportingOverflow(r)
            guard !overflow else { throw Failure(message: "the value overflows") }
            v = x
        }
        return v
    }

    private mutating func product() throws(Failure) -> Int {
        var v = try factor()
        while let op = peek(), op == UInt8(ascii: "*") || op == UInt8(ascii: "/") || op == UInt8(ascii: "%") {
            i += 1
            let r = try factor()
            if op == UInt8(ascii: "*") {
                let (x, overflow) = v.multipliedReportingOverflow(by: r)
                guard !overflow else { throw Failure(message: "the value overflows") }
                v = x
            } else {
                guard r != 0 else { throw Failure(message: "division by zero") }
                guard !(v == .min && r == -1) else { throw Failure(message: "the value overflows") }
                v = op == UInt8(ascii: "/") ? v / r : v % r
            }
        }
        return v
    }

    private mutating func factor() throws(Failure) -> Int {
        guard let c = peek() else { throw Failure(message: "an expression is missing") }
        switch c {
        case UInt8(ascii: "-"):
            i += 1
            let v = try factor()
            guard v != .min else { throw Failure(message: "the value overflows") }
            return -v
        case UInt8(ascii: "("):
            i += 1
            let v = try sum()
            guard peek() == UInt8(ascii: ")") else { throw Failure(message: "a \"(\" is not closed") }
            i += 1
            return v
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            var v = 0
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(bytes[i] - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw Failure(message: "the number is too large") }
                v = a
                i += 1
            }
            return v
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
            let start = i
            while i < bytes.count, bytes[i] == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[i])
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(bytes[i]) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) {
                i += 1
            }
            let name = String(decoding: bytes[start..<i], as: UTF8.self)
            guard let v = scope.value(of: name) else {
                let known = scope.indexes.map(\.name).joined(separator: ", ")
                throw Failure(message: "no loop index named \"\(name)\" here (\(known.isEmpty ? "no loop encloses this step" : "indexes: \(known)"))")
            }
            return v
        default:
            throw Failure(message: "unexpected \"\(String(decoding: bytes[i...], as: UTF8.self))\"")
        }
    }
}
