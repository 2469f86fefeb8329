/// Bytes that went from one call to another through a channel: a write and the read
/// that received (some of) its bytes. Computed from the kernel's results alone: on a
/// byte stream, the n-th byte written is the n-th byte read.
public struct Transfer: Sendable, Equatable {
    /// `seq` of the call that sent the bytes.
    public var from: Int
    /// `seq` of the call that received them.
    public var to: Int
    public var channel: String
    /// How many of the sender's bytes this receiver got.
    public var bytes: Int64
}

extension Trace {
    /// Calls that put bytes into a byte-stream channel, and calls that take them out.
    static let streamSends: Set<String> = ["write"]
    static let streamReceives: Set<String> = ["read"]

    /// Every transfer on byte-stream channels (pipes, FIFOs), pairing writes and reads by
    /// byte offset, in the order the calls returned.
    public var transfers: [Transfer] {
        var out: [Transfer] = []
        // Only pipes and FIFOs: a socket carries bytes both ways, so its writes and reads do not pair by offset.
        let channels = Set(events.compactMap(\.channel)).filter { scenario.channel(named: $0)?.spec.family is PipeChannel }
        for channel in channels.sorted() {
            let moved = events.filter { $0.channel == channel && ($0.result ?? 0) > 0 && $0.returned }
                .sorted { ($0.endNs ?? 0, $0.seq) < ($1.endNs ?? 0, $1.seq) }
            let sends = moved.filter { Trace.streamSends.contains($0.call) }
            let receives = moved.filter { Trace.streamReceives.contains($0.call) }
            var si = 0
            var sendLeft = sends.first?.result ?? 0
            for r in receives {
                var need = r.result ?? 0
                while need > 0 && si < sends.count {
                    let n = min(need, sendLeft)
                    out.append(Transfer(from: sends[si].seq, to: r.seq, channel: channel, bytes: n))
                    need -= n
                    sendLeft -= n
                    if sendLeft == 0 {
                        si += 1
                        sendLeft = si < sends.count ? (sends[si].result ?? 0) : 0
                    }
                }
            }
        }
        return out.sorted { ($0.to, $0.from) < ($1.to, $1.from) }
    }
}
