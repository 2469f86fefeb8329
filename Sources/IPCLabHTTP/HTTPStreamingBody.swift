import Foundation

/// A response body written while it is being sent: a producer (a run on a ``RunExecutor``
/// thread) writes chunks, such as lines of NDJSON, as they come, and the server sends each
/// as soon as the connection can take it, with chunked transfer encoding.
///
/// ```swift
/// let body = HTTPStreamingBody()
/// respond(.streaming(contentType: "application/x-ndjson", body))
/// for line in lines { guard body.write(line) else { break } }   // false: the client left
/// body.finish()
/// ```
///
/// The queue is bounded: ``write(_:)`` waits while ``limitBytes`` or more are queued and not
/// yet sent, so a slow client slows its producer instead of growing the server's memory; a
/// client that reads nothing for ``writeTimeoutSeconds`` is given up. Once the client is
/// gone (or the server stops) the queue is emptied and released, ``write(_:)`` returns false
/// at once, and ``isClosed`` is true. Safe to use from any thread.
public final class HTTPStreamingBody: @unchecked Sendable, Hashable {
    /// Queued bytes past which ``write(_:)`` waits.
    public let limitBytes: Int
    /// How long ``write(_:)`` waits for room before it gives the client up.
    public let writeTimeoutSeconds: Double

    // All guarded by `condition`.
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    private var head = 0
    /// Bytes of `chunks[head]` already handed to the connection.
    private var offset = 0
    private var queuedBytes = 0
    private var finished = false
    private var closed = false
    /// The connection is suspended, waiting for bytes: the next write wakes it.
    private var readerWaiting = false
    private var wake: (@Sendable () -> Void)?
    /// Whether the client of the suspended connection hung up (it is not watched then).
    private var peerGone: (@Sendable () -> Bool)?
    private var sent = 0
    /// A pulled body: what gives the next bytes when the queue is empty (nil: the end).
    private var source: (() -> [UInt8]?)?
    /// Called once, after the lock, when the body is closed (sent, or the client gone).
    private var onRelease: (@Sendable () -> Void)?

    /// An empty body, open for writing.
    public init(limitBytes: Int = 1 << 20, writeTimeoutSeconds: Double = 60) {
        self.limitBytes = max(1, limitBytes)
        self.writeTimeoutSeconds = writeTimeoutSeconds
    }

    /// A body pulled rather than written: when the connection can take more and nothing is
    /// queued, `source` gives the next bytes (on the server's thread, under the body's lock;
    /// nil: the end). Nothing produces ahead of the client, so what the body holds is what
    /// `source` holds plus one piece: a slow reader only slows its own pulls. `onRelease` is
    /// called once when the body is done (sent, or the client gone), after `source` is dropped.
    public convenience init(pulling source: @escaping () -> [UInt8]?, onRelease: @escaping @Sendable () -> Void = {}) {
        self.init()
        self.source = source
        self.onRelease = onRelease
    }

    /// Queues `bytes` to be sent; when ``limitBytes`` or more are queued, first waits until
    /// half of them are sent. Returns
    /// false, queueing nothing, once no one will read them (the client left, the server is
    /// stopping, the client read nothing for ``writeTimeoutSeconds``) or after ``finish()`` or
    /// ``continuePulling(_:onRelease:)``.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if queuedBytes >= limitBytes {
            // Full: wait until half is sent, so that the writes that follow come as a burst
            // the connection sends at once, rather than one resume of the connection per write.
            let deadline = Date(timeIntervalSinceNow: writeTimeoutSeconds)
            while queuedBytes > limitBytes / 2 && !closed {
                if !condition.wait(until: deadline) && queuedBytes > limitBytes / 2 {
                    closeLocked(wakeReader: true)
                }
            }
        }
        guard !closed, !finished, source == nil else { return false }
        guard !bytes.isEmpty else { return true }
        chunks.append(bytes)
        queuedBytes += bytes.count
        wakeReaderLocked()
        return true
    }

    /// Ends what the producer writes: what is queued is still sent, then what `source` gives
    /// when the connection asks for more (nil: the end), as a pulled body
    /// (``init(pulling:onRelease:)``), with `onRelease` called once the body is done. The
    /// producer's thread is free at once, however slow the client.
    public func continuePulling(_ source: @escaping () -> [UInt8]?, onRelease: @escaping @Sendable () -> Void) {
        let release: (@Sendable () -> Void)? = condition.withLock {
            guard !closed, !finished else { return onRelease }
            self.source = source
            self.onRelease = onRelease
            wakeReaderLocked()
            return nil
        }
        release?()
    }

    /// Ends the body: what is queued is still sent, then the response ends.
    public func finish() {
        condition.withLock {
            finished = true
            wakeReaderLocked()
        }
    }

    /// Whether no one will read any more: the client left, or the server is stopping. While
    /// the connection waits for bytes the server does not watch it, so this also checks
    /// whether the client hung up then (and if so closes the body and lets the server drop
    /// the connection): a producer with nothing to write yet can ask it to stop early.
    public var isClosed: Bool {
        condition.withLock {
            if !closed, readerWaiting, peerGone?() == true { closeLocked(wakeReader: true) }
            return closed
        }
    }

    /// Bytes handed to the connection so far.
    public var sentBytes: Int { condition.withLock { sent } }

    /// Two bodies are equal only when they are the same body.
    public static func == (lhs: HTTPStreamingBody, rhs: HTTPStreamingBody) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }

    // MARK: The server's side

    /// What the connection gets when it asks for more.
    enum Next: Equatable {
        /// This many bytes were copied into the buffer.
        case bytes(Int)
        /// Nothing yet: `suspend` was called (under the lock) and the next write wakes it.
        case waiting
        /// Finished and all sent.
        case end
        /// Closed: the response must be cut off.
        case gone
    }

    /// Sets what wakes a suspended connection (`MHD_resume_connection`) and what tells whether
    /// its client hung up, once, before the first ``read(into:suspend:)``. Both are called
    /// only while the connection is suspended, under the body's lock.
    func attach(wake: @escaping @Sendable () -> Void, peerGone: @escaping @Sendable () -> Bool) {
        condition.withLock {
            self.wake = wake
            self.peerGone = peerGone
        }
    }

    /// Copies queued bytes into `buffer`; with none queued and the body not finished, calls
    /// `suspend` and answers ``Next/waiting``.
    func read(into buffer: UnsafeMutableRawBufferPointer, suspend: () -> Void) -> Next {
        condition.lock()
        defer { condition.unlock() }
        if closed { return .gone }
        while head >= chunks.count, !finished, let source {
            if let piece = source() {
                guard !piece.isEmpty else { continue }
                chunks.append(piece)
                queuedBytes += piece.count
            } else {
                finished = true
                self.source = nil
            }
        }
        var copied = 0
        while copied < buffer.count && head < chunks.count {
            let chunk = chunks[head]
            let n = min(chunk.count - offset, buffer.count - copied)
            chunk.withUnsafeBytes { source in
                (buffer.baseAddress! + copied).copyMemory(from: source.baseAddress! + offset, byteCount: n)
            }
            copied += n
            offset += n
            if offset == chunk.count {
                chunks[head] = []
                head += 1
                offset = 0
            }
        }
        if head > 64 && head * 2 > chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
        if copied > 0 {
            queuedBytes -= copied
            sent += copied
            condition.broadcast()
            return .bytes(copied)
        }
        if finished { return .end }
        readerWaiting = true
        suspend()
        return .waiting
    }

    /// The connection is gone: drops what is queued and refuses further writes.
    func close() {
        let release = condition.withLock { closeLocked(wakeReader: false) }
        release?()
    }

    /// The server stops: as ``close()``, and a suspended connection is woken to be cut off.
    func abandon() {
        let release = condition.withLock { closeLocked(wakeReader: true) }
        release?()
    }

    /// Closes the body; answers its `onRelease`, to call once the lock is let go.
    @discardableResult
    private func closeLocked(wakeReader: Bool) -> (@Sendable () -> Void)? {
        if !closed {
            closed = true
            chunks = []
            head = 0
            offset = 0
            queuedBytes = 0
        }
        if wakeReader { wakeReaderLocked() }
        wake = nil
        peerGone = nil
        source = nil
        condition.broadcast()
        defer { onRelease = nil }
        return onRelease
    }

    private func wakeReaderLocked() {
        guard readerWaiting else { return }
        readerWaiting = false
        wake?()
    }
}
