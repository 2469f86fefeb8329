import CMicroHTTPD
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the server knows about each open connection beyond libmicrohttpd: how many come from
/// its address, and where its current request stands, so that a slow client cannot keep a
/// connection and one address cannot take them all.
///
/// - **Per-address cap with a reserve.** libmicrohttpd closes, at accept and without a word,
///   connections over its own per-address limit; it is set to the cap plus a reserve. A
///   connection in the reserve is answered `503` with `Retry-After` (and closed) instead of
///   served, except for the paths kept for it (`/healthz`, `/metrics`), and gets the shorter
///   reserve deadline for its head.
/// - **Head deadline.** libmicrohttpd's timeout only measures silence, so a byte a second
///   keeps a connection for ever. Here the whole request head must arrive within a deadline,
///   counted from the connection's start or from the end of its previous response (so a
///   keep-alive connection's idle time counts too).
/// - **Minimum body rate.** After a grace period a body must have come at an average of at
///   least the minimum rate.
///
/// A connection past its deadline is shut down (`shutdown(2)`, by a watchdog thread):
/// libmicrohttpd then sees the peer gone and closes it itself. The descriptor is never
/// closed here, and an entry leaves the table, under the same lock, before libmicrohttpd
/// closes its descriptor, so a reused descriptor is never shut down by mistake.
final class ConnectionGuard: @unchecked Sendable {
    /// The limits, from ``HTTPServerConfiguration``.
    struct Limits: Sendable {
        var perAddress: Int
        var reservePerAddress: Int
        var headTimeout: Duration
        var reserveHeadTimeout: Duration
        var minBodyBytesPerSecond: Int
        var bodyGrace: Duration
    }

    /// One open connection; its fields are guarded by the guard's lock.
    final class Entry: @unchecked Sendable {
        let descriptor: Int32
        let address: String
        /// Over the per-address cap: in the reserve.
        let inReserve: Bool
        fileprivate var phase: Phase
        fileprivate var shutDown = false

        fileprivate init(descriptor: Int32, address: String, inReserve: Bool, phase: Phase) {
            self.descriptor = descriptor
            self.address = address
            self.inReserve = inReserve
            self.phase = phase
        }
    }

    fileprivate enum Phase {
        /// Waiting for a request head, until the deadline.
        case head(deadline: ContinuousClock.Instant)
        /// Receiving a body since `started`, `bytes` so far.
        case body(started: ContinuousClock.Instant, bytes: Int)
        /// Being handled or answered: the idle timeout of libmicrohttpd (or the suspension)
        /// is all that applies.
        case busy
    }

    let limits: Limits
    private let refused: @Sendable (String) -> Void
    private let condition = NSCondition()
    private var entries: [ObjectIdentifier: Entry] = [:]
    private var perAddress: [String: Int] = [:]
    private var stopping = false

    /// A guard with `limits`; `refused` counts each connection it cuts off, by reason.
    init(limits: Limits, refused: @escaping @Sendable (String) -> Void) {
        self.limits = limits
        self.refused = refused
    }

    /// Starts the watchdog thread.
    func start() {
        let thread = Thread { [self] in watch() }
        thread.name = "ipclab-connection-watchdog"
        thread.start()
    }

    /// Stops the watchdog (it ends within one tick).
    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    /// A connection was accepted: counts it against its address.
    func opened(descriptor: Int32, address: String) -> Entry {
        let now = ContinuousClock.now
        return condition.withLock {
            let count = perAddress[address, default: 0] + 1
            perAddress[address] = count
            let inReserve = limits.perAddress > 0 && count > limits.perAddress
            let deadline = now + (inReserve ? limits.reserveHeadTimeout : limits.headTimeout)
            let entry = Entry(descriptor: descriptor, address: address, inReserve: inReserve,
                              phase: .head(deadline: deadline))
            entries[ObjectIdentifier(entry)] = entry
            return entry
        }
    }

    /// The connection is about to be closed by libmicrohttpd (its descriptor still open).
    func closed(_ entry: Entry) {
        condition.withLock {
            entries[ObjectIdentifier(entry)] = nil
            let count = (perAddress[entry.address] ?? 1) - 1
            perAddress[entry.address] = count > 0 ? count : nil
        }
    }

    /// The head is in: the body, if one comes, is held to the minimum rate; else the request
    /// is being handled.
    func headReceived(_ entry: Entry, bodyExpected: Bool) {
        // The clock is read only for a body (every request without one would pay for it).
        let phase: Phase = bodyExpected ? .body(started: .now, bytes: 0) : .busy
        condition.withLock { entry.phase = phase }
    }

    /// `count` more body bytes came.
    func bodyReceived(_ entry: Entry, count: Int) {
        condition.withLock {
            if case .body(let started, let bytes) = entry.phase { entry.phase = .body(started: started, bytes: bytes + count) }
        }
    }

    /// The whole request is in: it is being handled.
    func handling(_ entry: Entry) {
        condition.withLock { entry.phase = .busy }
    }

    /// The response went out (or the request ended otherwise): the next head's deadline runs.
    func requestCompleted(_ entry: Entry) {
        let deadline = ContinuousClock.now + (entry.inReserve ? limits.reserveHeadTimeout : limits.headTimeout)
        condition.withLock { entry.phase = .head(deadline: deadline) }
    }

    /// Connections open now from `address`.
    func count(from address: String) -> Int {
        condition.withLock { perAddress[address] ?? 0 }
    }

    /// The watchdog: four times a second, shuts down the connections past a deadline.
    private func watch() {
        condition.lock()
        defer { condition.unlock() }
        while !stopping {
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.25))
            if stopping { break }
            let now = ContinuousClock.now
            for entry in entries.values where !entry.shutDown {
                guard let reason = overdue(entry, now: now) else { continue }
                entry.shutDown = true
                // Under the lock: `closed` (called before libmicrohttpd closes the descriptor)
                // waits for it, so the descriptor is still this connection's.
                shutdown(entry.descriptor, Int32(SHUT_RDWR))
                refused(reason)
            }
        }
    }

    /// Why `entry` must go now, or `nil`.
    private func overdue(_ entry: Entry, now: ContinuousClock.Instant) -> String? {
        switch entry.phase {
        case .head(let deadline):
            return now > deadline ? "head_timeout" : nil
        case .body(let started, let bytes):
            let elapsed = now - started
            guard elapsed > limits.bodyGrace else { return nil }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Double(bytes) < Double(limits.minBodyBytesPerSecond) * seconds ? "body_too_slow" : nil
        case .busy:
            return nil
        }
    }
}
