/// A trace rendered a piece at a time, as JSON (byte for byte what ``Trace/json(pretty:)``
/// gives) or as text (``Trace/text()``): the head, then the events a batch at a time, then
/// the tail. A server sends a large trace from it as the client reads, so that what it holds
/// per client is the trace and one chunk, never the whole document.
///
/// ```swift
/// var chunks = TraceChunks(trace, format: .json)
/// while let chunk = chunks.next() { send(chunk) }   // each about `chunkBytes` or more
/// ```
public struct TraceChunks: IteratorProtocol, Sendable {
    /// The two renderings that can be cut between events.
    public enum Format: Sendable {
        case json
        case text
    }

    public let trace: Trace
    public let format: Format
    /// A chunk grows by whole events until it holds at least this many bytes.
    public let chunkBytes: Int
    private let pretty: Bool
    private var writer: JSONWriter
    private var stage = Stage.head
    private var nextEvent = 0
    /// Text only: the width processes' labels are padded to, and who killed which process.
    private var textWidth = 0
    private var killedBy: [String: String] = [:]

    private enum Stage { case head, events, tail, done }

    public init(_ trace: Trace, format: Format, pretty: Bool = false, chunkBytes: Int = 64 << 10) {
        self.trace = trace
        self.format = format
        self.pretty = pretty
        self.chunkBytes = max(1, chunkBytes)
        writer = JSONWriter(pretty: pretty, capacity: 0)
    }

    /// The next piece of the document, or nil after the last.
    public mutating func next() -> [UInt8]? {
        switch stage {
        case .head:
            stage = .events
            var out = format == .json ? jsonHead() : textHead()
            appendEvents(to: &out)
            return out
        case .events:
            var out: [UInt8] = []
            appendEvents(to: &out)
            return out
        case .tail:
            stage = .done
            return format == .json ? jsonTail() : textTail()
        case .done:
            return nil
        }
    }

    /// Adds whole events to `out` until it holds `chunkBytes`, or none are left (then the tail is next).
    private mutating func appendEvents(to out: inout [UInt8]) {
        out.reserveCapacity(chunkBytes + 1024)
        let events = trace.events
        while out.count < chunkBytes && nextEvent < events.count {
            let event = events[nextEvent]
            nextEvent += 1
            switch format {
            case .json:
                event.write(to: &writer)
                out.append(contentsOf: writer.takeBytes())
            case .text:
                out.append(contentsOf: textLine(event).utf8)
            }
        }
        if nextEvent == events.count { stage = .tail }
    }

    // MARK: JSON

    private mutating func jsonHead() -> [UInt8] {
        trace.writeHead(to: &writer)
        return writer.takeBytes()
    }

    private mutating func jsonTail() -> [UInt8] {
        trace.writeTail(to: &writer)
        return writer.takeBytes()
    }

    // MARK: Text

    private mutating func textHead() -> [UInt8] {
        textWidth = trace.processes.map { "\($0.name)(\($0.pid))".count }.max() ?? 8
        for p in trace.processes where trace.run.outcome != .timeout && trace.run.outcome != .deadlock {
            if case let .signal(name, _)? = p.exit { killedBy[p.name] = name }
        }
        return Array((trace.textHeadLine + "\n").utf8)
    }

    private func textLine(_ e: TraceEvent) -> String {
        trace.textLine(e, width: textWidth, killedBy: killedBy[e.process]) + "\n"
    }

    private func textTail() -> [UInt8] {
        Array(trace.textTailLines.map { $0 + "\n" }.joined().utf8)
    }
}
