/// Small queries that observations are written with.
extension Trace {
    /// Events of `process` making `call` (any process when nil), in order. Calls are matched by
    /// the name a trace shows, which families may share (`read` on a pipe or a socket).
    public func calls(_ call: Call, by process: String? = nil, on channel: String? = nil) -> [TraceEvent] {
        let name = call.name
        return events.filter { e in
            e.call == name && (process == nil || e.process == process) && (channel == nil || e.channel == channel)
        }
    }

    /// Snapshots of one object, in order.
    public func snapshots(of object: String) -> [ObjectSnapshot] {
        objects.filter { $0.object == object }
    }

    /// The events still blocked when the run ended.
    public var unfinished: [TraceEvent] { events.filter { !$0.returned } }
}

extension Array where Element == TraceEvent {
    /// Their `seq` numbers.
    public var seqs: [Int] { map(\.seq) }
    /// Sum of the positive results (bytes moved by reads or writes).
    public var bytesMoved: Int64 { reduce(0) { $0 + Swift.max(0, $1.result ?? 0) } }
}
