import Testing

@testable import IPCLabCore

/// ``RecentCache``: a hit is the value made for an equal key, never another key's; the least recent key
/// goes first; what `keeps` refuses and what throws are made again each time.
@Suite("Recent cache")
struct RecentCacheTests {
    /// A cache of squares that counts how often it made one.
    final class Squares: @unchecked Sendable {
        let cache: RecentCache<Int, Int>
        var made = 0
        init(capacity: Int) { cache = RecentCache(capacity: capacity) }
        func square(_ n: Int, keeps: @escaping (Int) -> Bool = { _ in true }) -> Int {
            cache.value(for: n, keeps: keeps) { made += 1; return n * n }
        }
    }

    @Test("a key seen before is a hit with its own value; another key is made")
    func hits() {
        let s = Squares(capacity: 4)
        #expect(s.square(3) == 9 && s.square(4) == 16 && s.square(3) == 9)
        #expect(s.made == 2 && s.cache.count == 2)
    }

    @Test("past its capacity the least recently used key is dropped and made again")
    func eviction() {
        let s = Squares(capacity: 2)
        _ = s.square(1); _ = s.square(2)
        _ = s.square(1)      // 1 is now the most recent
        _ = s.square(3)      // drops 2
        #expect(s.cache.count == 2 && s.made == 3)
        _ = s.square(1)
        #expect(s.made == 3, "1 was kept")
        _ = s.square(2)
        #expect(s.made == 4, "2 was dropped")
    }

    @Test("a value `keeps` refuses is answered but not kept")
    func refused() {
        let s = Squares(capacity: 4)
        #expect(s.square(5, keeps: { $0 < 10 }) == 25)
        #expect(s.square(5, keeps: { $0 < 10 }) == 25)
        #expect(s.made == 2 && s.cache.count == 0)
    }

    @Test("an error is thrown each time, and nothing is kept")
    func errorsNotKept() {
        let cache = RecentCache<String, Int>(capacity: 4)
        var tries = 0
        for _ in 0..<2 {
            #expect(throws: LabError.self) {
                try cache.value(for: "bad") { () throws(LabError) -> Int in
                    tries += 1
                    throw LabError(.invalidRequest, "bad")
                }
            }
        }
        #expect(tries == 2 && cache.count == 0)
    }
}
