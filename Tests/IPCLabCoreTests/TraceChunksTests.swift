import Testing

@testable import IPCLabCore

@Suite("TraceChunks: a trace rendered a piece at a time")
struct TraceChunksTests {
    /// The sample trace with its events repeated `times` times (seq renumbered).
    private static func large(_ times: Int) -> Trace {
        var trace = TraceRenderingTests.sample()
        let one = trace.events
        trace.events = (0..<times).flatMap { round in
            one.enumerated().map { i, e in
                var e = e
                e.seq = round * one.count + i + 1
                return e
            }
        }
        return trace
    }

    private static func joined(_ trace: Trace, _ format: TraceChunks.Format, pretty: Bool = false, chunkBytes: Int) -> ([UInt8], Int) {
        var chunks = TraceChunks(trace, format: format, pretty: pretty, chunkBytes: chunkBytes)
        var out: [UInt8] = []
        var count = 0
        while let chunk = chunks.next() {
            #expect(!chunk.isEmpty)
            out += chunk
            count += 1
        }
        #expect(chunks.next() == nil, "stays at the end")
        return (out, count)
    }

    @Test("JSON in pieces of any size is the document written whole, compact and pretty")
    func json() {
        let trace = Self.large(50)
        for pretty in [false, true] {
            var whole = JSONWriter(pretty: pretty)
            trace.write(to: &whole)
            for size in [1, 100, 4096, 1 << 20] {
                let (bytes, pieces) = Self.joined(trace, .json, pretty: pretty, chunkBytes: size)
                #expect(bytes == whole.bytes, "pretty \(pretty), \(size)-byte pieces")
                if size == 1 { #expect(pieces == trace.events.count + 2, "the head, one event a piece, the tail") }
            }
        }
        #expect(String(decoding: Self.joined(trace, .json, chunkBytes: 1).0, as: UTF8.self).hasSuffix("]}"))
    }

    @Test("text in pieces is the text rendered whole, line by line")
    func text() {
        let trace = Self.large(20)
        let (bytes, pieces) = Self.joined(trace, .text, chunkBytes: 1)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(pieces == trace.events.count + 2)
        #expect(text == trace.text())
        #expect(text.split(separator: "\n").count == 1 + trace.events.count + trace.processes.count + trace.observations.count)
    }

    @Test("a trace without events is the head and the tail")
    func empty() {
        var trace = TraceRenderingTests.sample()
        trace.events = []
        var whole = JSONWriter()
        trace.write(to: &whole)
        #expect(Self.joined(trace, .json, chunkBytes: 64).0 == whole.bytes)
        #expect(String(decoding: whole.bytes, as: UTF8.self).contains(#""events":[]"#))
    }
}
