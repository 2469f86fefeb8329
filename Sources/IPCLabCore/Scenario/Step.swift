/// One thing a process does. Each case makes the system calls its name says.
public enum Step: Sendable, Equatable {
    /// What a write sends.
    public enum Data: Sendable, Equatable {
        /// These UTF-8 bytes (JSON `"data"`).
        case text(String)
        /// This many bytes of a repeating `a`…`z` pattern (JSON `"size"`).
        case size(Int)

        /// The bytes to write.
        public var bytes: [UInt8] {
            switch self {
            case .text(let s): return Array(s.utf8)
            case .size(let n): return (0..<n).map { UInt8(ascii: "a") + UInt8($0 % 26) }
            }
        }

        public var count: Int {
            switch self {
            case .text(let s): s.utf8.count
            case .size(let n): n
            }
        }
    }

    /// `write(2)` the data into the channel's write end, `repeat` times.
    case write(channel: String, data: Data, repeat: Int)
    /// `read(2)` up to `size` bytes from the channel's read end, `repeat` times.
    case read(channel: String, size: Int, repeat: Int)
    /// `read(2)` chunks of `size` until it returns 0 (end of file) or fails.
    case readAll(channel: String, size: Int)
    /// `write(2)` chunks of `size` until the pipe holds its capacity, then once more:
    /// that last write blocks, or fails with `EAGAIN` on a non-blocking end.
    case fill(channel: String, size: Int)
    /// `close(2)` one end.
    case close(channel: String, end: PipeEnd)
    /// `open(2)` a FIFO for reading or writing (blocks until the other side opens).
    case open(channel: String, end: PipeEnd)
    /// `fcntl(F_SETFL)` to set or clear `O_NONBLOCK` on one end.
    case setNonblocking(channel: String, end: PipeEnd, enabled: Bool)
    /// `fcntl(F_SETPIPE_SZ)`.
    case setPipeSize(channel: String, size: Int)
    /// `fcntl(F_GETPIPE_SZ)`.
    case getPipeSize(channel: String)
    /// `nanosleep(2)` for `ms` milliseconds.
    case sleep(ms: Int)
    /// `wait4(2)` for a named child process.
    case wait(process: String)
    /// `_exit(2)` with a status code.
    case exit(code: Int)

    /// The `op` word of this step in the scenario language.
    public var op: String {
        switch self {
        case .write: "write"
        case .read: "read"
        case .readAll: "read_all"
        case .fill: "fill"
        case .close: "close"
        case .open: "open"
        case .setNonblocking: "set_nonblocking"
        case .setPipeSize: "set_pipe_size"
        case .getPipeSize: "get_pipe_size"
        case .sleep: "sleep"
        case .wait: "wait"
        case .exit: "exit"
        }
    }

    /// Every `op` of the language, for error messages and documentation.
    public static let ops = [
        "write", "read", "read_all", "fill", "close", "open", "set_nonblocking",
        "set_pipe_size", "get_pipe_size", "sleep", "wait", "exit",
    ]

    /// The channel the step uses, if any.
    public var channel: String? {
        switch self {
        case .write(let c, _, _), .read(let c, _, _), .readAll(let c, _), .fill(let c, _),
             .close(let c, _), .open(let c, _), .setNonblocking(let c, _, _),
             .setPipeSize(let c, _), .getPipeSize(let c):
            c
        case .sleep, .wait, .exit:
            nil
        }
    }
}
