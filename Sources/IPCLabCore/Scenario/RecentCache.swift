import Synchronization

/// The values made lately for a few keys, most recent first, compared by value (`==`): for what the
/// server would otherwise make again on every run of the same preset (a scenario's JSON text, a run's
/// flat plan, a request body's checked request). A hit costs comparisons of keys, which fail at the
/// first difference; a hit is always the value `make` would give, so `make` must be a pure function of
/// its key. Errors are not kept: a key that fails is made (and fails) again.
public final class RecentCache<Key: Equatable & Sendable, Value: Sendable>: Sendable {
    /// How many keys are kept (the least recent one goes first).
    public let capacity: Int
    @usableFromInline let entries = Mutex<[(key: Key, value: Value)]>([])

    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// The value of `key`: the kept one, or `make()`'s, kept when `keeps` says so. Inlinable, so that
    /// each user's copy is specialized for its key and value (generic code here cost more than a hit saves).
    @inlinable
    public func value<E: Error>(for key: Key, keeps: (Value) -> Bool = { _ in true },
                                make: () throws(E) -> Value) throws(E) -> Value {
        let hit: Value? = entries.withLock { entries in
            guard let i = entries.firstIndex(where: { $0.key == key }) else { return nil }
            // The caller's key in place of the equal one kept: keys that hold arrays (a scenario's
            // processes and channels) then compare by their storage's identity, at once, on the next hit
            // with the same value (a checked request a cache answered again), not element by element.
            entries[i].key = key
            if i > 0 { entries.insert(entries.remove(at: i), at: 0) }
            return entries[0].value
        }
        if let hit { return hit }
        let value = try make()
        guard keeps(value) else { return value }
        entries.withLock { entries in
            guard !entries.contains(where: { $0.key == key }) else { return }
            entries.insert((key, value), at: 0)
            if entries.count > capacity { entries.removeLast() }
        }
        return value
    }

    /// How many keys are kept now.
    public var count: Int { entries.withLock { $0.count } }
}
