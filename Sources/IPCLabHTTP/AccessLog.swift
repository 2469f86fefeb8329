import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension HTTPServerConfiguration {
    /// Where ``HTTPServer`` writes its one line per request:
    /// `METHOD /path STATUS bytes duration_ms` (the path with control characters, spaces
    /// and `%` percent-encoded; `bytes` is what was sent, 0 for `HEAD`; the duration runs
    /// from the request's headers to its response being queued, so it includes any wait
    /// for a ``RunExecutor`` thread).
    public enum AccessLog: Sendable, Hashable {
        /// Straight to standard error, written like the other lines of `StreamLogHandler`:
        /// `2026-11-21T16:55:01+0000 info ipclab: [IPCLabHTTP] GET /healthz 200 321 0.045`.
        /// Each line is formatted into one buffer and written with one `write(2)`, with no
        /// lock and no flush, so threads do not queue behind each other. Written only when
        /// the server's logger is at `.info` or below; its label and metadata are used, its
        /// handler is not.
        case standardError
        /// The same lines to another open file descriptor; the server neither opens nor
        /// closes it.
        case fileDescriptor(Int32)
        /// Through the server's `Logger` at `.info`, like its other messages; costs what the
        /// log handler costs (`StreamLogHandler` takes a lock and flushes for every line).
        case logger
        /// No line per request.
        case off
    }
}

/// Writes the access log lines of one running server.
final class AccessLogWriter: Sendable {
    private enum Sink {
        case descriptor(Int32)
        case logger
        case off
    }

    private let sink: Sink
    private let logger: Logger
    /// ` info LABEL: METADATA [IPCLabHTTP] `, everything between the timestamp and the method.
    private let prefix: [UInt8]
    private let clock = WallClockText()

    init(_ accessLog: HTTPServerConfiguration.AccessLog, logger: Logger) {
        self.logger = logger
        let enabled = logger.logLevel <= .info
        switch accessLog {
        case .standardError: sink = enabled ? .descriptor(STDERR_FILENO) : .off
        case .fileDescriptor(let descriptor): sink = enabled ? .descriptor(descriptor) : .off
        case .logger: sink = .logger
        case .off: sink = .off
        }
        // As StreamLogHandler prints them: "key=value" pairs sorted by key, space separated.
        let metadata = logger.handler.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let label = logger.label.isEmpty ? "" : " " + logger.label
        prefix = Array(" info\(label):\(metadata.map { " " + $0 }.joined()) [IPCLabHTTP] ".utf8)
    }

    /// Logs one request.
    func record(method: String, path: String, status: Int, bytes: Int, started: ContinuousClock.Instant) {
        switch sink {
        case .off:
            return
        case .logger:
            logger.info("\(method) \(AccessLogWriter.loggable(path)) \(status) \(bytes) \(AccessLogWriter.milliseconds(since: started))")
        case .descriptor(let descriptor):
            let micros = AccessLogWriter.microseconds(since: started)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity(method: method, path: path)) { buffer in
                let count = format(into: buffer.baseAddress!, method: method, path: path, status: status, bytes: bytes,
                                   micros: micros)
                write(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count), to: descriptor)
            }
        }
    }

    /// The whole line, newline included, as it is written to a descriptor.
    func line(method: String, path: String, status: Int, bytes: Int, started: ContinuousClock.Instant) -> [UInt8] {
        let micros = AccessLogWriter.microseconds(since: started)
        return [UInt8](unsafeUninitializedCapacity: capacity(method: method, path: path)) { buffer, count in
            count = format(into: buffer.baseAddress!, method: method, path: path, status: status, bytes: bytes,
                           micros: micros)
        }
    }

    /// Enough bytes for any line about `method` and `path`.
    private func capacity(method: String, path: String) -> Int {
        WallClockText.length + prefix.count + method.utf8.count + 3 * path.utf8.count + 64
    }

    /// Formats the line at `base`, which has ``capacity(method:path:)`` bytes; returns its length.
    private func format(into base: UnsafeMutablePointer<UInt8>, method: String, path: String, status: Int, bytes: Int,
                        micros: Int) -> Int {
        var method = method
        var path = path
        var out = ByteWriter(base)
        clock.write(to: &out)
        prefix.withUnsafeBufferPointer { out.append($0) }
        method.withUTF8 { out.append($0) }
        out.append(0x20)
        path.withUTF8 { AccessLogWriter.appendLoggable($0, to: &out) }
        out.append(0x20)
        out.appendDecimal(status)
        out.append(0x20)
        out.appendDecimal(bytes)
        out.append(0x20)
        out.appendDecimal(micros / 1000)
        out.append(UInt8(ascii: "."))
        let fraction = micros % 1000
        out.append(UInt8(truncatingIfNeeded: 0x30 + fraction / 100))
        out.append(UInt8(truncatingIfNeeded: 0x30 + fraction / 10 % 10))
        out.append(UInt8(truncatingIfNeeded: 0x30 + fraction % 10))
        out.append(0x0A)
        return out.count
    }

    /// One `write(2)` (more only if the kernel takes part of it); a line that cannot be
    /// written (a non-blocking descriptor that is full, a closed one) is dropped.
    private func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }

    /// `path` for a log line: control characters, spaces and `%` percent-encoded, so a
    /// request cannot forge a line or split a field.
    static func loggable(_ path: String) -> String {
        guard path.utf8.contains(where: needsEscape) else { return path }
        var path = path
        return path.withUTF8 { utf8 in
            String(unsafeUninitializedCapacity: 3 * utf8.count) { buffer in
                var out = ByteWriter(buffer.baseAddress!)
                appendLoggable(utf8, to: &out)
                return out.count
            }
        }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte == 0x7F || byte == 0x25
    }

    private static func appendLoggable(_ utf8: UnsafeBufferPointer<UInt8>, to out: inout ByteWriter) {
        let hex: StaticString = "0123456789ABCDEF"
        for byte in utf8 {
            if needsEscape(byte) {
                out.append(0x25)
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0xF)])
            } else {
                out.append(byte)
            }
        }
    }

    private static func microseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds) * 1_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000_000)
    }

    /// Elapsed time as milliseconds with three decimals: `0.123`.
    static func milliseconds(since start: ContinuousClock.Instant) -> String {
        let micros = microseconds(since: start)
        let fraction = String(micros % 1000)
        return "\(micros / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}

/// Appends bytes at a pointer; the caller has sized the buffer.
private struct ByteWriter {
    let base: UnsafeMutablePointer<UInt8>
    var count = 0

    init(_ base: UnsafeMutablePointer<UInt8>) { self.base = base }

    mutating func append(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    mutating func appendDecimal(_ value: Int) {
        var value = value
        if value < 0 {
            append(UInt8(ascii: "-"))
            value = -value
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes, enough for Int.max
        withUnsafeMutableBytes(of: &digits) { scratch in
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
                value /= 10
            } while value > 0
            append(UnsafeBufferPointer(rebasing: scratch.bindMemory(to: UInt8.self)[index...]))
        }
    }
}

/// The local time as `StreamLogHandler` prints it (`2026-11-21T16:55:01+0000`), formatted
/// once a second: `localtime_r` takes glibc's time-zone lock, a per-line cost worth sparing.
private final class WallClockText: Sendable {
    static let length = 24

    private struct Cached {
        var second = -1
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)  // `length` bytes
    }

    private let cached = Mutex(Cached())

    func write(to out: inout ByteWriter) {
        let now = time(nil)
        var text = cached.withLock { $0.second == now ? $0.text : nil }
        if text == nil {
            let fresh = WallClockText.format(now)
            cached.withLock { $0 = Cached(second: now, text: fresh) }
            text = fresh
        }
        withUnsafeBytes(of: text!) { out.append($0.bindMemory(to: UInt8.self)) }
    }

    private static func format(_ second: time_t) -> (UInt64, UInt64, UInt64) {
        var seconds = second
        var parts = tm()
        localtime_r(&seconds, &parts)
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let count = strftime(buffer.baseAddress!, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
            withUnsafeMutableBytes(of: &text) { bytes in
                // Pad a shorter (odd time zone) text with spaces; never overflow.
                for index in 0..<length {
                    bytes[index] = index < count ? UInt8(bitPattern: buffer[index]) : 0x20
                }
            }
        }
        return text
    }
}
