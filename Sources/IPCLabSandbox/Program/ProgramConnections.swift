import IPCLabCore

/// A program's stream-socket connections, named `sock1`, `sock2`… so that what one side wrote can
/// be read against what the other side read (the observations' `on: channel`), as a scenario's
/// sockets are. The interposer knows descriptors only, so a connection is named where the trace
/// leaves no doubt which two descriptors are its ends: the one successful `connect` to an address
/// and the one successful `accept` on the socket bound to that address (any other connection,
/// or one of several to an address, keeps `channel: null`). Each end keeps the name in its process
/// until it is closed, and in the children forked while it is open.
///
/// The events are the run's to write (a program can forge ring records), and pairing looks at every
/// bind and accept for each address: a program with more than ``maxCalls`` successful binds, connects
/// or accepts gets no connection names, so that the server's work stays small whatever the run wrote.
enum ProgramConnections {
    /// The most successful binds, connects and accepts (each) a run may have for its connections to be named.
    static let maxCalls = 64

    static func name(_ events: inout [TraceEvent], parents: [String: String]) {
        func ok(_ e: TraceEvent) -> Bool { (e.result ?? -1) >= 0 }
        func int(_ e: TraceEvent, _ key: ArgumentName) -> Int64? { if case .integer(let v)? = e.arg(key) { v } else { nil } }
        func text(_ e: TraceEvent, _ key: ArgumentName) -> String? { if case .string(let v)? = e.arg(key) { v } else { nil } }
        func line(_ process: String) -> [String] {
            var out = [process]
            while let p = parents[out.last!], !out.contains(p) { out.append(p) }
            return out
        }
        let binds = events.filter { $0.call == "bind" && $0.result == 0 }
        let allConnects = events.filter { $0.call == "connect" && $0.result == 0 }
        let allAccepts = events.filter { $0.call == "accept" && ok($0) }
        guard binds.count <= maxCalls, allConnects.count <= maxCalls, allAccepts.count <= maxCalls else { return }
        var ends: [(seq: Int, process: String, fd: Int64, name: String)] = []
        var addresses: [String] = []
        for e in allConnects { if let a = text(e, .addr), !addresses.contains(a) { addresses.append(a) } }
        for address in addresses {
            let connects = allConnects.filter { text($0, .addr) == address }
            // The accepts on a socket bound to the address, in the accepting process or one it was forked from.
            let accepts = allAccepts.filter { a in
                binds.contains { b in
                    text(b, .addr) == address && int(b, .sockfd) == int(a, .sockfd) && line(a.process).contains(b.process)
                }
            }
            guard connects.count == 1, accepts.count == 1, let c = connects.first, let a = accepts.first,
                  let cfd = int(c, .sockfd), let afd = a.result else { continue }
            let name = "sock\(ends.count / 2 + 1)"
            ends.append((c.seq, c.process, cfd, name))
            ends.append((a.seq, a.process, afd, name))
        }
        guard !ends.isEmpty else { return }
        // Walk the events in order: an end is named from its connect or accept on, until closed.
        let endsBySeq = Dictionary(grouping: ends, by: \.seq)
        var open: [String: [Int64: String]] = [:]
        for i in events.indices {
            let e = events[i]
            for end in endsBySeq[e.seq] ?? [] { open[end.process, default: [:]][end.fd] = end.name }
            if e.call == "fork", let child = text(e, .child) { open[child] = open[e.process] }
            guard let fd = int(e, .fd) ?? int(e, .sockfd), let name = open[e.process]?[fd] else { continue }
            if let c = events[i].args.firstIndex(where: { $0.0 == "channel" }), events[i].args[c].1 == .null {
                events[i].args[c].1 = .string(name)
            }
            if e.call == "close" && e.result == 0 { open[e.process]?[fd] = nil }
        }
    }
}
