/// Writes JSON text in the order fields are given: traces read top-down
/// (`seq` before `call` before `result`), and output is byte-for-byte repeatable.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Whether the value being written now (innermost open object or array, or the top level) has an
    /// item already, so the next one needs a comma; ``outerComma`` holds the same for each level around it.
    /// Kept apart from the stack, so that writing a value (the hot path of every trace) touches no array.
    private var needsComma = false
    private var outerComma: [Bool] = []
    private let indentStep: Int?

    /// - Parameter pretty: indent nested values by two spaces.
    public init(pretty: Bool = false, capacity: Int = 4096) {
        indentStep = pretty ? 2 : nil
        bytes.reserveCapacity(capacity)
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Whether nested values are indented (compact text from elsewhere, ``raw(_:)``, is not).
    public var isPretty: Bool { indentStep != nil }

    // MARK: Structure

    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        open(UInt8(ascii: "{"))
        body(&self)
        close(UInt8(ascii: "}"))
    }

    public mutating func array(_ body: (inout JSONWriter) -> Void) {
        open(UInt8(ascii: "["))
        body(&self)
        close(UInt8(ascii: "]"))
    }

    /// Writes `"name":` inside an object; the next value written is its value.
    public mutating func key(_ name: String) {
        separate()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        if indentStep != nil { bytes.append(UInt8(ascii: " ")) }
        needsComma = true
        pendingKey = true
    }

    /// Opens an object or array that ``endObject()`` / ``endArray()`` closes later: for a
    /// document written in pieces (``takeBytes()`` between them), such as a streamed trace.
    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// The bytes written since the last call, handed over and cleared; the writer keeps its
    /// place in the document, so what it writes next continues it.
    public mutating func takeBytes() -> [UInt8] {
        defer { bytes = [] }
        if !bytes.isEmpty { handedOver = true }
        return bytes
    }

    // MARK: Values

    public mutating func value(_ s: String) { separate(); writeString(s) }
    public mutating func value(_ n: Int) { separate(); Self.appendDecimal(Int64(n), to: &bytes) }
    public mutating func value(_ n: Int64) { separate(); Self.appendDecimal(n, to: &bytes) }
    public mutating func value(_ d: Double) {
        separate()
        if d.isFinite { bytes.append(contentsOf: "\(d)".utf8) } else { bytes.append(contentsOf: "null".utf8) }
    }
    public mutating func value(_ b: Bool) {
        separate()
        if b {
            bytes.append(contentsOf: [UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e")])
        } else {
            bytes.append(contentsOf: [UInt8(ascii: "f"), UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "e")])
        }
    }
    public mutating func null() {
        separate()
        bytes.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
    }
    /// A value already written as compact JSON (a part of a trace chosen by ``TraceFields``), copied as it is.
    public mutating func raw(_ json: [UInt8]) { separate(); bytes.append(contentsOf: json) }

    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): value(b)
        case .integer(let i): value(i)
        case .double(let d): value(d)
        case .string(let s): value(s)
        case .array(let items): array { w in for item in items { w.value(item) } }
        case .object(let fields):
            object { w in
                for k in fields.keys.sorted() { w.key(k); w.value(fields[k]!) }
            }
        }
    }

    /// `bytes` as a JSON string, when they are all ASCII: what `value(String(decoding: bytes, as: UTF8.self))`
    /// writes, without making the string. Other bytes are left to that (it repairs invalid UTF-8).
    mutating func value(asciiBytes bytes: [UInt8]) {
        separate()
        bytes.withUnsafeBufferPointer { Self.appendEscaped(contentsOf: $0, to: &self.bytes) }
    }

    /// `bytes` as lower-case hex digits in a JSON string (a payload's `hex`).
    mutating func value(hexOf source: [UInt8]) {
        separate()
        let digits: StaticString = "0123456789abcdef"
        bytes.append(UInt8(ascii: "\""))
        digits.withUTF8Buffer { digits in
            for b in source {
                bytes.append(digits[Int(b >> 4)])
                bytes.append(digits[Int(b & 15)])
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes an optional: the value, or `null`.
    public mutating func value(_ s: String?) { if let s { value(s) } else { null() } }
    public mutating func value(_ n: Int64?) { if let n { value(n) } else { null() } }
    public mutating func value(_ n: Int?) { if let n { value(n) } else { null() } }

    /// `"name": value` in one call.
    public mutating func field(_ name: String, _ v: String) { key(name); value(v) }
    public mutating func field(_ name: String, _ v: String?) { key(name); value(v) }
    public mutating func field(_ name: String, _ v: Int) { key(name); value(v) }
    public mutating func field(_ name: String, _ v: Int?) { key(name); value(v) }
    public mutating func field(_ name: String, _ v: Int64) { key(name); value(v) }
    public mutating func field(_ name: String, _ v: Int64?) { key(name); value(v) }
    public mutating func field(_ name: String, _ v: Bool) { key(name); value(v) }
    public mutating func field(_ name: String, _ v: Double) { key(name); value(v) }
    public mutating func field(_ name: String, _ v: JSONValue) { key(name); value(v) }

    // MARK: Internals

    private var pendingKey = false
    /// Bytes were already handed over by ``takeBytes()``: the document has begun.
    private var handedOver = false

    @inline(__always)
    private mutating func separate() {
        if pendingKey { pendingKey = false; return }
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        if indentStep != nil { newline() }
    }

    private mutating func open(_ c: UInt8) {
        separate()
        bytes.append(c)
        outerComma.append(needsComma)
        needsComma = false
    }

    private mutating func close(_ c: UInt8) {
        let hadItems = needsComma
        needsComma = outerComma.removeLast()
        if hadItems && indentStep != nil { newline() }
        bytes.append(c)
    }

    /// A pretty writer's line break and the indentation of the level being written (``outerComma`` holds
    /// one entry per open object or array).
    private mutating func newline() {
        guard let step = indentStep, bytes.count > 0 || handedOver else { return }
        bytes.append(UInt8(ascii: "\n"))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: step * outerComma.count))
    }

    /// Appends `n` in decimal, as `String(n)` spells it, without making the string.
    @inline(__always)
    static func appendDecimal(_ n: Int64, to out: inout [UInt8]) {
        if n >= 0 && n < 10 { out.append(UInt8(ascii: "0") + UInt8(n)); return }
        // Digits from the right into a 20-byte scratch (|Int64.min| has 19), then copied at once.
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { buffer in
            var magnitude = n.magnitude
            var i = buffer.count
            repeat {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if n < 0 { i -= 1; buffer[i] = UInt8(ascii: "-") }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[i...]))
        }
    }

    private mutating func writeString(_ s: String) {
        Self.appendString(s, to: &bytes)
    }

    /// Appends `s` as a JSON string literal, quotes included: the one escaper of the lab (control
    /// characters and DEL as `\u00XX`, so a payload's bytes never reach a terminal raw).
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        // Native strings (every string the lab makes) are contiguous UTF-8: escaped from their storage.
        if s.utf8.withContiguousStorageIfAvailable({ appendEscaped(contentsOf: $0, to: &out) }) == nil {
            var s = s
            s.makeContiguousUTF8()
            s.utf8.withContiguousStorageIfAvailable { appendEscaped(contentsOf: $0, to: &out) }
        }
    }

    /// `bytes` (UTF-8) as a JSON string literal, quotes included, escaped as ``appendString(_:to:)`` says.
    static func appendEscaped(contentsOf bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (keys, names, calls) need no escape: their runs of plain bytes are copied whole,
        // not appended byte by byte.
        // Eight bytes at a time while none of them needs an escape (``mayNeedEscape(_:)``), then byte by byte.
        let n = bytes.count
        var start = 0
        var i = 0
        while i < n {
            if n - i >= 8, let base = bytes.baseAddress,
               !mayNeedEscape(UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))) {
                i += 8
                continue
            }
            let end = min(i + 8, n)
            while i < end {
                let b = bytes[i]
                if b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b == 0x7F {
                    if start < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i])) }
                    appendEscaped(b, to: &out)
                    start = i + 1
                }
                i += 1
            }
        }
        if start < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...])) }
        out.append(UInt8(ascii: "\""))
    }

    /// Whether any of the eight bytes in `word` may need an escape: one below 0x20, `"`, `\\` or DEL.
    /// Exact for "any" (the bit tricks' false positives only follow a true one), never false when one does.
    @inline(__always)
    static func mayNeedEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & high }
        let below20 = (word &- ones &* 0x20) & ~word & high
        return (below20 | hasZeroByte(word ^ (ones &* 0x22)) | hasZeroByte(word ^ (ones &* 0x5C))
                | hasZeroByte(word ^ (ones &* 0x7F))) != 0
    }

    /// One byte of a string literal, escaped when JSON (or a terminal) needs it.
    @inline(__always)
    private static func appendEscaped(_ b: UInt8, to out: inout [UInt8]) {
        switch b {
        case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
        case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
        case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
        case 0..<0x20, 0x7F:
            let hex = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
        default: out.append(b)
        }
    }
}
