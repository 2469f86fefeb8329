/// The run queue of ``RunExecutor``, without its threads: pieces of work wait per client
/// (a source address, or an API key) and are started in turn between the clients that have
/// work waiting, the one with the fewest running first, so that a client with forty requests
/// queued does not go before a client that has one. It also holds the server's budget of response bytes in
/// flight: a piece of work costs what its response may hold in memory, and starts only when
/// that fits (backpressure on runs instead of memory growth), within the client's share.
///
/// Not thread-safe: ``RunExecutor`` calls it under its lock. `Item` is what is queued.
///
/// ```swift
/// var queue = FairRunQueue<String>(capacity: 8, perClientLimit: 4, budgetBytes: nil)
/// _ = queue.enqueue("a1", client: "a"); _ = queue.enqueue("a2", client: "a"); _ = queue.enqueue("b1", client: "b")
/// queue.next()?.item   // "a1", then "b1", then "a2"
/// ```
public struct FairRunQueue<Item> {
    /// Running and waiting pieces of work the queue admits in all.
    public let capacity: Int
    /// Running and waiting pieces of work one client may have at once.
    public let perClientLimit: Int
    /// Pieces of work one client may have running at once (the rest of its work waits even
    /// when a thread is free, so that a thread is free for a newcomer); nil: no limit.
    public let perClientRunning: Int?
    /// Bytes the responses of running and answered work may hold at once; nil: no budget.
    public let budgetBytes: Int?

    /// What ``enqueue(_:client:cost:at:)`` did.
    public enum Admission: Equatable, Sendable {
        case queued
        /// `capacity` pieces are already running or waiting.
        case full
        /// The client already has `perClientLimit` running or waiting.
        case clientFull
    }

    /// One waiting piece of work.
    public struct Entry {
        public var item: Item
        public var client: String
        public var cost: Int
        public var queued: ContinuousClock.Instant
        /// It was passed over at least once because the budget could not take it.
        public var waitedForBudget = false
    }

    /// What one client has in the queue right now.
    public struct ClientLoad: Sendable, Hashable {
        public var running = 0
        public var queued = 0
        /// Budget bytes its running work and unsent responses hold.
        public var heldBytes = 0
    }

    private struct Client {
        var waiting: [Entry] = []
        var head = 0
        var load = ClientLoad()
        /// When it last had a piece started, or came to the queue (``FairRunQueue/served`` then).
        var lastServed = 0
        var isIdle: Bool { load.running == 0 && load.queued == 0 && load.heldBytes == 0 }
    }

    private var clients: [String: Client] = [:]
    /// Clients with work waiting, in the order they came.
    private var order: [String] = []
    /// Pieces started so far: the clock of ``Client/lastServed``.
    private var served = 0
    public private(set) var running = 0
    public private(set) var queued = 0
    /// Budget bytes held in all.
    public private(set) var heldBytes = 0
    /// Pieces of work that waited for the budget (each counted once).
    public private(set) var budgetWaits = 0

    /// - Parameters:
    ///   - capacity: running + waiting in all (threads + queue limit).
    ///   - perClientLimit: running + waiting for one client (at least 1).
    ///   - perClientRunning: running for one client (at least 1), or nil for no limit.
    ///   - budgetBytes: the response budget, or nil for none.
    public init(capacity: Int, perClientLimit: Int, perClientRunning: Int? = nil, budgetBytes: Int?) {
        self.capacity = capacity
        self.perClientLimit = max(1, perClientLimit)
        self.perClientRunning = perClientRunning.map { max(1, $0) }
        self.budgetBytes = budgetBytes
    }

    /// Queues `item` for `client`, unless the queue or the client's part of it is full.
    public mutating func enqueue(_ item: Item, client: String, cost: Int = 0,
                                 at now: ContinuousClock.Instant = .now) -> Admission {
        guard running + queued < capacity else { return .full }
        // A client new to the queue (or back after it had nothing in it) counts as served just before
        // the latest start: before the client started last, after every client started earlier. As
        // never served (0) it went before all of them, and a client that posted again while its last
        // response was still held (so kept its old turn) waited for as long as such newcomers came.
        var state = clients[client] ?? Client(lastServed: max(0, served - 1))
        guard state.load.running + state.load.queued < perClientLimit else { return .clientFull }
        if state.load.queued == 0 { order.append(client) }
        state.waiting.append(Entry(item: item, client: client, cost: max(0, cost), queued: now))
        state.load.queued += 1
        clients[client] = state
        queued += 1
        return .queued
    }

    /// Starts the next piece of work: the head of the client, among those with work waiting
    /// whose head fits the budget, that has the fewest running (of those, the one served
    /// longest ago, a client new to the queue counting as served just before the latest start;
    /// then the one that came first), so that while others wait no client holds more than its
    /// turn, and none waits while clients that came after it keep being started. Its client
    /// counts it running, and its cost held, until ``finish(client:)`` and
    /// ``release(client:bytes:)``. Nil when nothing waits or nothing that waits fits.
    /// `ignoringBudget` (when the server stops, and nothing will be sent that would free any):
    /// the budget is not asked.
    public mutating func next(ignoringBudget: Bool = false) -> Entry? {
        var best: (index: Int, running: Int, served: Int)?
        for (index, name) in order.enumerated() {
            guard var state = clients[name], state.load.running < perClientRunning ?? Int.max else { continue }
            guard ignoringBudget || fits(state.waiting[state.head].cost, for: state.load) else {
                if !state.waiting[state.head].waitedForBudget {
                    state.waiting[state.head].waitedForBudget = true
                    budgetWaits += 1
                    clients[name] = state
                }
                continue
            }
            if best == nil || (state.load.running, state.lastServed) < (best!.running, best!.served) {
                best = (index, state.load.running, state.lastServed)
            }
        }
        guard let best else { return nil }
        let name = order[best.index]
        var state = clients[name]!
        let entry = popHead(of: &state)
        served += 1
        state.lastServed = served
        state.load.running += 1
        state.load.heldBytes += entry.cost
        running += 1
        heldBytes += entry.cost
        clients[name] = state
        if state.load.queued == 0 { order.remove(at: best.index) }
        return entry
    }

    /// The oldest waiting piece of work, taken out of the queue when it was queued at or before
    /// `cutoff` (it waited too long).
    public mutating func popExpired(queuedBefore cutoff: ContinuousClock.Instant) -> Entry? {
        guard let (index, name) = oldest(), let state = clients[name],
              state.waiting[state.head].queued <= cutoff else { return nil }
        var client = state
        let entry = popHead(of: &client)
        clients[name] = client.isIdle ? nil : client
        if client.load.queued == 0 { order.remove(at: index) }
        return entry
    }

    /// When the oldest waiting piece of work was queued.
    public var oldestQueued: ContinuousClock.Instant? {
        oldest().flatMap { clients[$0.1].map { $0.waiting[$0.head].queued } }
    }

    /// A piece of work of `client`'s that ``next()`` started has ended (its held bytes stay
    /// until ``release(client:bytes:)``).
    public mutating func finish(client: String) {
        guard var state = clients[client] else { return }
        state.load.running -= 1
        running -= 1
        clients[client] = state.isIdle ? nil : state
    }

    /// Gives back `bytes` of the budget `client` held (a negative amount takes more).
    public mutating func release(client: String, bytes: Int) {
        guard bytes != 0, var state = clients[client] else { return }
        state.load.heldBytes -= bytes
        heldBytes -= bytes
        clients[client] = state.isIdle ? nil : state
    }

    /// Whether some waiting work belongs to a client below its running limit: only such work can start
    /// when a thread or budget comes free (the rest waits for its client's own work to end).
    public var waitingBelowRunningLimit: Bool {
        order.contains { name in clients[name].map { $0.load.running < perClientRunning ?? Int.max } ?? false }
    }

    /// What each client with anything running, waiting or held has.
    public var loads: [String: ClientLoad] { clients.mapValues(\.load) }

    /// `client`'s load (zero when it has nothing).
    public func load(of client: String) -> ClientLoad { clients[client]?.load ?? ClientLoad() }

    /// Whether `cost` more bytes may be held for a client holding `load` now: always when the
    /// server holds nothing (a lone response may exceed the budget, else it could never be
    /// served); otherwise within the budget, and, when the client already holds some, within
    /// its share (the budget divided between the clients that hold or want some).
    private func fits(_ cost: Int, for load: ClientLoad) -> Bool {
        guard let budgetBytes, cost > 0, heldBytes > 0 else { return true }
        guard heldBytes + cost <= budgetBytes else { return false }
        guard load.heldBytes > 0 else { return true }
        let sharing = clients.values.filter { $0.load.heldBytes > 0 || $0.load.queued > 0 }.count
        return load.heldBytes + cost <= budgetBytes / max(1, sharing)
    }

    private mutating func popHead(of state: inout Client) -> Entry {
        let entry = state.waiting[state.head]
        state.head += 1
        if state.head == state.waiting.count {
            state.waiting = []
            state.head = 0
        } else if state.head > 32 && state.head * 2 > state.waiting.count {
            state.waiting.removeFirst(state.head)
            state.head = 0
        }
        state.load.queued -= 1
        queued -= 1
        return entry
    }

    /// The position in `order` and name of the client whose head waited longest.
    private func oldest() -> (Int, String)? {
        var best: (Int, String, ContinuousClock.Instant)?
        for (index, name) in order.enumerated() {
            guard let state = clients[name] else { continue }
            let queued = state.waiting[state.head].queued
            if best == nil || queued < best!.2 { best = (index, name, queued) }
        }
        return best.map { ($0.0, $0.1) }
    }
}
