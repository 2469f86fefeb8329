/// Transfers that carry no bytes: signals, semaphore wake-ups, descriptors.
extension Trace {
    /// Each delivery a process sent (si_code SI_USER, SI_QUEUE, SI_TKILL) paired with the `kill` or
    /// `sigqueue` that caused it: the oldest earlier successful send by the delivery's sender, to
    /// the delivering process, of the same signal (and for sigqueue the same value). A standard
    /// signal is pending at most once: the other sends of it merged into that one get no transfer
    /// of their own (they are listed in `merged`). Kernel-sent signals (SIGCHLD, faults,
    /// mq_notify) have no send to pair with.
    static func signalTransfers(_ events: [TraceEvent], _ processes: [TraceProcess]) -> [Transfer] {
        // Most traces deliver no signal: nothing else is made for them.
        let deliver = Call.signals(.deliver).name
        guard events.contains(where: { $0.call == deliver }) else { return [] }
        let pidOf = Dictionary(processes.map { ($0.name, Int64($0.pid)) }, uniquingKeysWith: { a, _ in a })
        var used = Set<Int>()
        var out: [Transfer] = []
        for d in events where d.call == deliver {
            guard let code = d.string(.siCode), ["SI_USER", "SI_QUEUE", "SI_TKILL"].contains(code), let signal = d.string(.signal) else { continue }
            let candidates = events.filter { s in
                guard s.is(.signals(.kill)) || s.is(.signals(.sigqueue)), !used.contains(s.seq), s.seq < d.seq,
                      s.errno == nil, s.returned, (s.result ?? 0) == 0 else { return false }
                if let sender = d.string(.sender) { guard s.process == sender else { return false } }
                else { guard Int64(s.pid) == d.int(.siPid) else { return false } }
                if let target = s.string(.process) { guard target == d.process else { return false } }
                else { guard s.int(.pid) == pidOf[d.process] else { return false } }
                guard s.string(.signal) == signal else { return false }
                if code == "SI_QUEUE" {
                    guard s.is(.signals(.sigqueue)) else { return false }
                    return valueAgrees(sent: s.arg(.value), got: d.arg(.siValue))
                }
                return !s.is(.signals(.sigqueue))
            }
            guard let s = candidates.first else { continue }
            used.insert(s.seq)
            let realtime = (d.int(.siSigno) ?? 0) >= 32
            if !realtime { candidates.forEach { used.insert($0.seq) } }
            out.append(Transfer(kind: .signal, from: s.seq, to: d.seq, channel: signal,
                                merged: realtime ? [] : candidates.dropFirst().map(\.seq)))
        }
        return out
    }

    /// Whether a delivery's `si_value` is the value a sigqueue sent (an int, or a pointer).
    private static func valueAgrees(sent: JSONValue?, got: JSONValue?) -> Bool {
        guard case .object(let want)? = sent, case .object(let have)? = got else { return true }
        if let ptr = want["sival_ptr"], want["sival_int"] == nil { return have["sival_ptr"] == ptr }
        if let n = want["sival_int"] { return have["sival_int"] == n }
        return true
    }

    /// Each `sem_wait` that found its semaphore at 0 paired with the `sem_post` that woke it: the
    /// latest successful post on the same semaphore, by another process, started while the wait
    /// was inside the kernel (a blocked process cannot post its own). Waits are taken in the order
    /// they returned; a post wakes at most one.
    static func wakeTransfers(_ events: [TraceEvent]) -> [Transfer] {
        func ok(_ e: TraceEvent) -> Bool { e.returned && e.errno == nil && (e.result ?? 0) == 0 }
        let semWait = Call.semaphores(.semWait).name
        let waits = events.filter { $0.call == semWait && ok($0) && $0.int(.valueBefore) == 0 }
            .sorted { ($0.endNs ?? $0.tNs, $0.seq) < ($1.endNs ?? $1.tNs, $1.seq) }
        var used = Set<Int>()
        var out: [Transfer] = []
        for w in waits {
            let end = w.endNs ?? w.tNs
            let posts = events.filter { p in
                p.is(.semaphores(.semPost)) && ok(p) && !used.contains(p.seq) && p.process != w.process
                    && p.channel == w.channel && p.tNs >= w.tNs && p.tNs <= end
            }
            guard var p = posts.first else { continue }
            for q in posts.dropFirst() where q.tNs > p.tNs { p = q }
            used.insert(p.seq)
            out.append(Transfer(kind: .wake, from: p.seq, to: w.seq, channel: w.channel ?? ""))
        }
        return out
    }

    /// Descriptors passed in SCM_RIGHTS: on each channel, the n-th `sendmsg` that carried one and
    /// succeeded, paired with the n-th `recvmsg` that received one (a socket keeps their order).
    static func descriptorTransfers(_ events: [TraceEvent]) -> [Transfer] {
        func carries(_ e: TraceEvent) -> Bool {
            guard e.returned, e.errno == nil, (e.result ?? -1) > 0, case .array(let fds)? = e.arg(.scmRights) else { return false }
            return !fds.isEmpty
        }
        var out: [Transfer] = []
        let sendmsg = Call.sockets(.sendmsg).name, recvmsg = Call.sockets(.recvmsg).name
        let sends = events.filter { $0.call == sendmsg && carries($0) }
        var receives = events.filter { $0.call == recvmsg && carries($0) }
        for s in sends {
            guard let i = receives.firstIndex(where: { $0.channel == s.channel && $0.process != s.process }) else { continue }
            out.append(Transfer(kind: .descriptor, from: s.seq, to: receives[i].seq, channel: s.channel ?? ""))
            receives.remove(at: i)
        }
        return out
    }
}
