/// Pipes, and the byte-stream calls FIFOs share with them (`read`, `write`, `close`), and the
/// built-in programs of a pipeline (`getrandom`).
public enum PipeCall: String, CallTable {
    case pipe, read, write, close, fstat, fcntl, dup2, getrandom

    public var spec: CallSpec {
        let end = CallArgument.string(.end)
        return switch self {
        case .pipe:
            call(.pipes, [.init(.fds, .array), .channel], "pipe(2): makes a pipe; fds[0] is its read end, fds[1] its write end.")
        case .read:
            call(.pipes, [.integer(.fd), .integer(.count), .init(.channel, .channel, .nullable("a pipeline stage's descriptor no channel holds")), end],
                 blocks: true, moves: .receives, "read(2): takes up to count bytes out of a pipe or FIFO; 0 at end of file.")
        case .write:
            call(.pipes, [.integer(.fd), .integer(.count), .init(.channel, .channel, .nullable("a pipeline stage's descriptor no channel holds")), end],
                 blocks: true, moves: .sends, "write(2): puts count bytes into a pipe or FIFO; blocks while it is full.")
        case .close:
            call(.pipes, [.integer(.fd), .channel, end], "close(2): closes one end of a pipe or FIFO.")
        case .fstat:
            call(.pipes, [.integer(.fd), .channel, end, .integer(.stDev, .optional("fstat returned 0")), .integer(.stIno, .optional("fstat returned 0")),
                          .string(.type, .optional("fstat returned 0")), .init(.openFlags, .flags, .optional("fstat returned 0; null when F_GETFL failed"))],
                 "fstat(2) and fcntl(F_GETFL) of a pipe end: the inode it reaches, its file type, the open file's access mode (null when F_GETFL failed).")
        case .fcntl:
            call(.pipes, [.integer(.fd), .flags(.cmd), .init(.arg, .flags, .optional("F_SETFL (flag names) and F_SETPIPE_SZ (an integer)")), .channel],
                 "fcntl(2): reads or sets a descriptor's flags (O_NONBLOCK) or a pipe's capacity (F_GETPIPE_SZ, F_SETPIPE_SZ).")
        case .dup2:
            call(.pipes, [.integer(.oldfd), .integer(.newfd), .channel, end], "dup2(2): makes newfd a copy of a pipe end (then the original is closed).")
        case .getrandom:
            call(.pipes, [.integer(.count), .integer(.flags)], "getrandom(2): random bytes, for a pipeline's first stage.")
        }
    }
}

/// FIFOs: the calls that differ from a pipe's (a name in the file system, and `open`).
public enum FIFOCall: String, CallTable {
    case mkfifo, open

    public var spec: CallSpec {
        switch self {
        case .mkfifo:
            call(.fifos, [.string(.path), .flags(.mode), .channel], "mkfifo(3): makes a FIFO, a pipe with a name in the file system.")
        case .open:
            call(.fifos, [.string(.path), .flags(.flags), .channel, .string(.end)], blocks: true,
                 "open(2) of a FIFO: blocks until the other end is opened too, unless O_NONBLOCK.")
        }
    }
}
