/// Queries the shared-memory and semaphore observations are written with.
extension Trace {
    /// The P operations on a semaphore channel that may sleep: `sem_wait`, or `semop` with sem_op −1 and no IPC_NOWAIT.
    public func semaphoreWaits(on channel: String, by process: String? = nil) -> [TraceEvent] {
        events.filter { e in
            e.channel == channel && (process == nil || e.process == process)
                && (e.call == "sem_wait" || (e.call == "semop" && e.int("sem_op") == -1 && e.arg("sem_flg") == "0"))
        }
    }

    /// The V operations on a semaphore channel: `sem_post`, or `semop` with sem_op +1.
    public func semaphorePosts(on channel: String, by process: String? = nil) -> [TraceEvent] {
        events.filter { e in
            e.channel == channel && (process == nil || e.process == process)
                && (e.call == "sem_post" || (e.call == "semop" && e.int("sem_op") == 1))
        }
    }

    /// Waits on `channel` that found the value 0 and slept until another process's post: a post that
    /// began while the wait was under way. Each with the post that released it: the last such post
    /// before the wait returned (earlier ones woke other waiters).
    public func sleptUntilPost(on channel: String, by process: String? = nil) -> [(wait: TraceEvent, post: TraceEvent)] {
        let posts = semaphorePosts(on: channel)
        return semaphoreWaits(on: channel, by: process).compactMap { w in
            guard w.int("value_before") == 0, w.result == 0, w.endNs != nil else { return nil }
            // The post that released it began while the wait was in the kernel (see `blocked(until:)`).
            guard let post = posts.last(where: { p in p.process != w.process && w.blocked(until: p) })
            else { return nil }
            return (w, post)
        }
    }

    /// Memory accesses of one kind (`store`, `load`, …) on a region, in order.
    public func accesses(_ call: String, on channel: String, by process: String? = nil) -> [TraceEvent] {
        calls(call, by: process, on: channel)
    }
}

