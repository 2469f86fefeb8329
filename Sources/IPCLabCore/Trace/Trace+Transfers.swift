/// Pairing senders with receivers, from the trace alone. The rules (and the page's former ones,
/// which `e2e/browser/expect.py` still writes out independently) are:
/// - byte streams (pipes, FIFOs): per channel, the k-th byte written is the k-th byte read;
/// - stream sockets: the same per direction (one process's sends, read by another process), and
///   no pairing guessed when a reader has more than one possible peer;
/// - message channels (queues, datagram sockets): a receive takes one whole message, the oldest
///   unmatched send of the same type and payload (or that starts with it, when truncated), the
///   highest priority first;
/// - shared memory: a load gets the bytes of the latest earlier store, by another process, over
///   the same range, when the bytes it found are the bytes stored;
/// - signals, wake-ups and descriptors: see their functions.
extension Trace {
    /// Every transfer of the run, ordered by receiver then sender.
    static func findTransfers(events: [TraceEvent], processes: [TraceProcess], scenario: Scenario) -> [Transfer] {
        // A built trace is in seq order already: sorting it anyway copied every event (42 MB for the
        // largest trace, at the server's peak). Swift's sort is stable, so skipping it changes nothing.
        let inOrder = zip(events, events.dropFirst()).allSatisfy { $0.seq <= $1.seq }
        let events = inOrder ? events : events.sorted { $0.seq < $1.seq }
        var out = dataTransfers(events, scenario) + memoryTransfers(events, scenario)
        out += signalTransfers(events, processes) + wakeTransfers(events) + descriptorTransfers(events)
        return out.sorted { ($0.to, $0.from, $0.kind.rawValue) < ($1.to, $1.from, $1.kind.rawValue) }
    }

    /// Calls that put bytes into a channel and calls that take them out, by the name a trace shows.
    static let sendNames: Set<String> = ["write", "send", "sendto", "sendmsg", "msgsnd", "mq_send"]
    static let receiveNames: Set<String> = ["read", "recv", "recvfrom", "recvmsg", "msgrcv", "mq_receive"]

    private enum Mode { case stream, duplex, message, none }

    private static func mode(_ spec: ChannelSpec?) -> Mode {
        switch spec {
        case .pipe?: .stream
        case .socket(let s)?: s.isDatagram ? .message : .duplex
        case .messageQueue?: .message
        default: .none
        }
    }

    /// Bytes a call moved: what the kernel returned, or a message send's payload (it returns 0).
    private static func moved(_ e: TraceEvent) -> Int64 {
        guard e.returned, e.errno == nil, let r = e.result else { return 0 }
        if r > 0 { return r }
        if r == 0, e.is(.messageQueues(.msgsnd)) || e.is(.messageQueues(.mqSend)) { return Int64(e.payload?.bytes ?? 0) }
        return 0
    }

    private typealias Moved = (event: TraceEvent, bytes: Int64)

    private static func dataTransfers(_ events: [TraceEvent], _ scenario: Scenario) -> [Transfer] {
        var sends: [String: [Moved]] = [:]
        var receives: [String: [Moved]] = [:]
        var order: [String] = []
        for e in events {
            guard let channel = e.channel else { continue }
            let isSend = sendNames.contains(e.call)
            guard isSend || receiveNames.contains(e.call) else { continue }
            let n = moved(e)
            guard n > 0 else { continue }
            if sends[channel] == nil && receives[channel] == nil { order.append(channel) }
            if isSend { sends[channel, default: []].append((e, n)) } else { receives[channel, default: []].append((e, n)) }
        }
        var out: [Transfer] = []
        for channel in order {
            let s = sends[channel] ?? [], r = receives[channel] ?? []
            switch mode(scenario.channel(named: channel)?.spec) {
            case .message:
                out += matchMessages(channel, s, r)
            case .duplex:
                var senders: [String] = []
                for x in s where !senders.contains(x.event.process) { senders.append(x.event.process) }
                for from in senders {
                    let readers = r.filter { x in x.event.process != from && senders.filter { $0 != x.event.process }.count == 1 }
                    out += matchStream(channel, s.filter { $0.event.process == from }, readers)
                }
            case .stream, .none:
                out += matchStream(channel, s, r)
            }
        }
        return out
    }

    /// Byte offsets: a send covering [w0, w1) and a receive covering [r0, r1) share their overlap.
    private static func matchStream(_ channel: String, _ sends: [Moved], _ receives: [Moved]) -> [Transfer] {
        var out: [Transfer] = []
        var w = 0
        var wStart: Int64 = 0
        var rOffset: Int64 = 0
        for r in receives {
            let r0 = rOffset, r1 = rOffset + r.bytes
            rOffset = r1
            while w < sends.count {
                let s = sends[w]
                let w0 = wStart, w1 = wStart + s.bytes
                let a = max(r0, w0), b = min(r1, w1)
                if b > a { out.append(Transfer(kind: .data, from: s.event.seq, to: r.event.seq, channel: channel, bytes: b - a)) }
                if w1 <= r1 { w += 1; wStart = w1 } else { break }
            }
        }
        return out
    }

    private static func matchMessages(_ channel: String, _ sends: [Moved], _ receives: [Moved]) -> [Transfer] {
        var open = sends
        var out: [Transfer] = []
        func hex(_ e: TraceEvent) -> String? { e.payload.flatMap { $0.truncated ? nil : $0.hex } }
        func priority(_ e: TraceEvent) -> Int64 { e.int(.msgPrio) ?? 0 }
        func typeAgrees(_ s: TraceEvent, _ r: TraceEvent) -> Bool {
            guard let a = s.int(.mtype), let b = r.int(.mtype) else { return true }
            return a == b
        }
        for r in receives {
            guard !open.isEmpty else { break }
            var candidates = open.filter { typeAgrees($0.event, r.event) }
            if let rh = hex(r.event) {
                let same = candidates.filter { hex($0.event) == rh }
                candidates = same.isEmpty ? candidates.filter { x in hex(x.event).map { $0.hasPrefix(rh) } == true && x.bytes > r.bytes } : same
            }
            guard var best = candidates.first else { continue }
            for c in candidates.dropFirst()
            where priority(c.event) > priority(best.event) || (priority(c.event) == priority(best.event) && c.event.seq < best.event.seq) {
                best = c
            }
            open.removeAll { $0.event.seq == best.event.seq }
            out.append(Transfer(kind: .data, from: best.event.seq, to: r.event.seq, channel: channel, bytes: r.bytes))
        }
        return out
    }

    /// Shared memory: each load paired with the latest store before it, by another process, on the
    /// same region and overlapping range, whose bytes the load found there. A private mapping
    /// shares nothing after fork, so it has no transfers.
    private static func memoryTransfers(_ events: [TraceEvent], _ scenario: Scenario) -> [Transfer] {
        var out: [Transfer] = []
        // Each call's name looked up once, not per event (``TraceEvent/is(_:)`` looks it up each time).
        let store = Call.sharedMemory(.store).name, loadName = Call.sharedMemory(.load).name
        let stores = events.filter { $0.call == store && $0.returned }
        guard !stores.isEmpty else { return [] }
        for load in events where load.call == loadName && load.returned {
            guard let channel = load.channel, case .sharedMemory(let spec)? = scenario.channel(named: channel)?.spec,
                  spec.mapping != .private, let lo = load.int(.offset), let ln = load.int(.count), let got = load.payload else { continue }
            let source = stores.last { s in
                guard s.channel == channel, s.process != load.process, s.tNs <= load.tNs,
                      let so = s.int(.offset), let sn = s.int(.count), let put = s.payload else { return false }
                let a = max(lo, so), b = min(lo + ln, so + sn)
                guard b > a else { return false }
                // The bytes both previews hold over the overlap must be equal.
                let loadBytes = got.preview.dropFirst(Int(a - lo)).prefix(Int(b - a))
                let storeBytes = put.preview.dropFirst(Int(a - so)).prefix(Int(b - a))
                let shown = min(loadBytes.count, storeBytes.count)
                return Array(loadBytes.prefix(shown)) == Array(storeBytes.prefix(shown))
            }
            if let s = source, let so = s.int(.offset), let sn = s.int(.count) {
                out.append(Transfer(kind: .data, from: s.seq, to: load.seq, channel: channel, bytes: min(lo + ln, so + sn) - max(lo, so)))
            }
        }
        return out
    }
}
