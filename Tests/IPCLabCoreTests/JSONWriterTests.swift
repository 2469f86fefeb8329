import Foundation
import Testing

@testable import IPCLabCore

@Suite("JSONWriter")
struct JSONWriterTests {
    static func written(_ s: String) -> String {
        var w = JSONWriter()
        w.value(s)
        return w.string
    }

    @Test("strings with quotes, backslashes and control characters come back unchanged",
          arguments: ["say \"hi\"", #"C:\path\"#, "\\\"", "line\nbreak", "tab\there", "cr\rlf", "\u{1}\u{8}\u{c}\u{1f}",
                      "nul\u{0}inside", "\u{0}", "del\u{7f}", "é ü ✓ 😀", "</script>", "",
                      // Long enough to live on the heap: plain runs copied whole between escapes, at both ends too.
                      "\"a plain run long enough to be copied whole\\ then \u{1} more plain text é ü ✓ and\n",
                      String(repeating: "abcdefgh", count: 64)])
    func stringRoundTrip(_ s: String) throws {
        var w = JSONWriter()
        w.array { w in w.value(s) }
        let parsed = try #require(try foundationJSON(w.bytes) as? [String])
        #expect(parsed == [s])
        #expect(try JSONValue.parse(w.bytes) == .array([.string(s)]))
    }

    @Test("escapes are the short ones where JSON has them, \\u00XX otherwise")
    func escapeSpelling() {
        #expect(Self.written("a\"b") == #""a\"b""#)
        #expect(Self.written("a\\b") == #""a\\b""#)
        #expect(Self.written("\n\r\t") == #""\n\r\t""#)
        #expect(Self.written("Hello\u{0}") == #""Hello\u0000""#)
        #expect(Self.written("\u{1}\u{1f}\u{7f}") == #""\u0001\u001f\u007f""#)
        #expect(Self.written("é") == "\"é\"", "non-ASCII is written as UTF-8")
        #expect(!Self.written("x\u{0}y").utf8.contains(0), "no raw NUL in the output")
    }

    @Test("nested objects and arrays get commas exactly between items")
    func nestingAndCommas() throws {
        var w = JSONWriter()
        w.object { w in
            w.field("a", 1)
            w.key("list")
            w.array { w in
                w.value(1)
                w.object { w in w.field("x", "y"); w.field("z", nil as String?) }
                w.array { _ in }
                w.object { _ in }
                w.value(true)
            }
            w.key("empty"); w.object { _ in }
            w.field("last", Int64(-7))
        }
        #expect(w.string == #"{"a":1,"list":[1,{"x":"y","z":null},[],{},true],"empty":{},"last":-7}"#)
        let parsed = try #require(try foundationJSON(w.bytes) as? [String: Any])
        #expect(parsed["a"] as? Int == 1)
        #expect((parsed["list"] as? [Any])?.count == 5)
    }

    @Test("fields keep the order they were written in")
    func fieldOrder() {
        var w = JSONWriter()
        w.object { w in w.field("seq", 1); w.field("call", "read"); w.field("args", JSONValue.array([])) }
        #expect(w.string == #"{"seq":1,"call":"read","args":[]}"#)
    }

    @Test("a JSONValue written and parsed back is equal to itself, compact and pretty", arguments: [false, true])
    func valueRoundTrip(pretty: Bool) throws {
        let value: JSONValue = [
            "text": "q\"b\\n\n\u{0}",
            "numbers": [0, -1, 9_223_372_036_854_775_807, .double(1.5)],
            "nested": ["deeper": ["deepest": [[], [:], nil, true, false]]],
            "empty": "",
        ]
        var w = JSONWriter(pretty: pretty)
        w.value(value)
        #expect(try JSONValue.parse(w.bytes) == value)
        _ = try foundationJSON(w.bytes)
        #expect(w.string.contains("\n") == pretty)
    }

    @Test("objects from JSONValue are written with sorted keys, so output is repeatable")
    func sortedKeys() {
        var w = JSONWriter()
        w.value(["b": 1, "a": 2, "c": ["y": 1, "x": 2]] as JSONValue)
        #expect(w.string == #"{"a":2,"b":1,"c":{"x":2,"y":1}}"#)
    }

    @Test("non-finite doubles are written as null, keeping the document valid")
    func nonFinite() throws {
        var w = JSONWriter()
        w.array { w in w.value(Double.nan); w.value(Double.infinity); w.value(0.25) }
        #expect(w.string == "[null,null,0.25]")
    }

    @Test("integers are spelled as String(n) spells them, at every width and both ends of Int64",
          arguments: [0, 1, 9, 10, -1, -9, -10, 99, 100, 65536, -268_435_456, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1])
    func integers(_ n: Int64) {
        var w = JSONWriter()
        w.array { w in w.value(n); w.value(Int(n)); w.value(n as Int64?) }
        #expect(w.string == "[\(n),\(n),\(n)]")
    }

    @Test("a payload's bytes are written as its text and hex strings would be")
    func bytesAsStrings() {
        for preview: [UInt8] in [[], Array("Hello\0".utf8), [0x22, 0x5c, 0x0a, 0x01, 0x7f, 0x41], Array(0..<128)] {
            let payload = Payload(bytes: preview.count, preview: preview)
            var fromBytes = JSONWriter(), fromStrings = JSONWriter()
            fromBytes.array { w in w.value(asciiBytes: preview); w.value(hexOf: preview) }
            fromStrings.array { w in w.value(payload.text); w.value(payload.hex) }
            #expect(fromBytes.string == fromStrings.string)
        }
    }

    @Test("every byte that needs an escape is found at every place of an eight-byte word, and no other")
    func escapesFoundInWords() {
        for b in UInt8(0)...UInt8(255) {
            let needs = b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F
            for place in 0..<8 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[place] = b
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(JSONWriter.mayNeedEscape(word) == needs, "byte \(b) at \(place)")
                // Around other bytes that need none, high ones too (UTF-8).
                bytes = [0xC3, 0xA9, 0x7E, 0x20, 0x80, 0xFF, 0x21, 0x5D]
                bytes[place] = b
                let mixed = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(JSONWriter.mayNeedEscape(mixed) == needs, "byte \(b) at \(place) among others")
            }
        }
        // Long strings with escapes at every offset, written as the byte-by-byte writer would.
        for offset in 0..<20 {
            var text = String(repeating: "x", count: offset) + "\"\u{1}\\" + String(repeating: "é", count: 9)
            text += "\u{7f}\n" + String(repeating: "y", count: 20 - offset)
            #expect(Self.written(text) == "\"" + text.unicodeScalars.map { s -> String in
                switch s {
                case "\"": return "\\\""
                case "\\": return "\\\\"
                case "\n": return "\\n"
                case "\u{1}": return "\\u0001"
                case "\u{7f}": return "\\u007f"
                default: return String(s)
                }
            }.joined() + "\"")
        }
    }
}
