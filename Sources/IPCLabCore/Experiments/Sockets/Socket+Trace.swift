/// Queries the socket observations are written with.
extension Trace {
    /// Calls that sent bytes through socket `channel` (`send`, `sendto`, `write`), in order.
    public func socketSends(on channel: String, by process: String? = nil) -> [TraceEvent] {
        events.filter { ["send", "sendto", "write"].contains($0.call) && $0.channel == channel && (process == nil || $0.process == process) }
    }

    /// Calls that received bytes from socket `channel` (`recv`, `recvfrom`, `read`), in order.
    public func socketReceives(on channel: String, by process: String? = nil) -> [TraceEvent] {
        events.filter { ["recv", "recvfrom", "read"].contains($0.call) && $0.channel == channel && (process == nil || $0.process == process) }
    }
}

extension TraceEvent {
    /// The descriptor a socket call used (`sockfd`, or `fd` for read/write).
    public var socketFD: Int64? { int(.sockfd) ?? int(.fd) }

    /// The text the call moved, or nil when it moved nothing.
    public var movedText: String? { payload.map { String(decoding: $0.preview, as: UTF8.self) } }
}

/// The rule of a byte stream (a pipe, a stream socket): given the sizes sent, the reads that took
/// bytes across the boundary between two sends, or ended inside a send.
enum StreamBoundaries {
    static func crossing(sent: [Int64], received reads: [TraceEvent]) -> [TraceEvent] {
        var ends: [Int64] = []
        var offset: Int64 = 0
        for s in sent { offset += s; ends.append(offset) }
        let boundaries = Set(ends.dropLast())
        var crossing: [TraceEvent] = []
        var start: Int64 = 0
        for r in reads where (r.result ?? 0) > 0 {
            let end = start + (r.result ?? 0)
            if boundaries.contains(where: { $0 > start && $0 < end }) || !ends.contains(end) { crossing.append(r) }
            start = end
        }
        return crossing
    }
}

/// The rule for datagrams: walking the datagrams in order, each receive should return exactly the
/// next one's size; a buffer too small truncates it (the rest is lost).
enum DatagramBoundaries {
    struct Result {
        var exact: [TraceEvent] = []
        /// Receives whose buffer was larger than the datagram they got.
        var roomier: [TraceEvent] = []
        /// Receives that got less than the datagram: (the receive, the datagram's size).
        var truncated: [(TraceEvent, Int64)] = []
    }

    static func check(sent: [Int64], received: [TraceEvent]) -> Result {
        var result = Result()
        var next = 0
        for r in received {
            guard let got = r.result, got >= 0, next < sent.count else { continue }
            let size = sent[next]
            if got == size {
                result.exact.append(r)
                if (r.int(.len) ?? r.int(.count) ?? 0) > size { result.roomier.append(r) }
            } else {
                result.truncated.append((r, size))
            }
            next += 1
        }
        return result
    }
}

func sizeList(_ xs: [Int64]) -> String { xs.map(String.init).joined(separator: ", ") }
