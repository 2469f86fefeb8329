import IPCLabCore

/// Lets events whose arguments are equal share one array of them. A large trace is a `repeat`
/// of the same calls, and an event's argument array is most of what it holds (five arguments:
/// some 240 bytes on the heap, against 160 for the event itself); an array equal to the last one
/// of the same process and call is replaced by that one (copy on write: an event changed later
/// gets its own again). The trace's content is the same value for value.
struct SharedArguments {
    private struct Key: Hashable {
        var process: String
        var call: String
    }
    private var last: [Key: [(String, JSONValue)]] = [:]

    /// Traces with fewer events do not share (TraceBuilder): the memory saved is a few KB, and a
    /// lookup per event cost ~0.7 % of the server's CPU per `pipe.hello` run (perf).
    static let minimumEvents = 256

    /// `event` with its arguments shared with the last event of its process and call, when equal.
    mutating func share(_ event: inout TraceEvent) {
        guard !event.args.isEmpty else { return }
        let key = Key(process: event.process, call: event.call)
        if let previous = last[key], Self.equal(previous, event.args) {
            event.args = previous
        } else {
            last[key] = event.args
        }
    }

    private static func equal(_ a: [(String, JSONValue)], _ b: [(String, JSONValue)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}
