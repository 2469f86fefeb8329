import Synchronization

/// Event rings kept between runs, so that a run does not pay for a new one (memfd_create, ftruncate,
/// mmap, and munmap and the file's teardown at its end: ~60 µs of the server's CPU per run, perf).
///
/// A ring is hostile input, so one is given back only once no process of its run can write it any more
/// (``SpawnerClient/Completion/ringReleased``: the spawner closed the completion pipe at the run's done or
/// its init's reap) and only after ``EventRing/wipe()`` zeroed all of it: a ring
/// taken from the pool holds nothing of the run before (tests: `RingPoolTests`). Rings are reused for
/// runs of exactly the same shape (capacity and plan room), which repeated runs of one experiment have;
/// at most ``limit`` are kept, the oldest dropped first.
final class RingPool: Sendable {
    /// The most rings kept.
    let limit: Int
    private let rings = Mutex<[Shelved]>([])
    /// Rings taken from the pool, and rings made new (for tests and diagnostics).
    let reused = Atomic<Int>(0)
    let made = Atomic<Int>(0)

    /// A ring on the shelf: no thread uses it until ``take(capacity:planCapacity:)`` hands it to one.
    private struct Shelved: @unchecked Sendable {
        var ring: EventRing
    }

    init(limit: Int = 8) {
        self.limit = limit
    }

    /// A wiped ring of this shape from the pool, else a new one.
    func take(capacity: UInt32, planCapacity: Int) throws -> EventRing {
        let found = rings.withLock { rings -> Shelved? in
            guard let i = rings.lastIndex(where: { $0.ring.capacity == capacity && $0.ring.planCapacity == planCapacity }) else {
                return nil
            }
            return rings.remove(at: i)
        }
        if let found {
            reused.add(1, ordering: .relaxed)
            return found.ring
        }
        made.add(1, ordering: .relaxed)
        return try EventRing(capacity: capacity, planCapacity: planCapacity)
    }

    /// Keeps `ring` for a later run, wiped; one that cannot be wiped is dropped (closed when freed).
    /// The caller must not touch `ring` after this.
    func give(_ ring: EventRing) {
        guard limit > 0, ring.wipe() else { return }
        let dropped = rings.withLock { rings -> Shelved? in
            rings.append(Shelved(ring: ring))
            return rings.count > limit ? rings.removeFirst() : nil
        }
        _ = dropped  // freed here, outside the lock (munmap and close)
    }

    /// Rings kept now.
    var count: Int { rings.withLock { $0.count } }
}
