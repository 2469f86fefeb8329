import CIPCLab
import Glibc
import IPCLabCore

/// Pipe and FIFO steps.
extension Participant {
    /// `pipe(2)` or `mkfifo(3)`, before anyone forks (a FIFO made `before_fork: false` waits for an `mkfifo` step).
    mutating func createPipeChannel(_ i: Int, _ spec: PipeChannel) {
        switch spec {
        case .pipe:
            var fds: [Int32] = [-1, -1]
            let r = Recorder.returned(.pipes(.pipe), step: nil, args: [Int64(fds[0]), Int64(fds[1]), Int64(i)]) { Int(ipclab_pipe2(&fds, 0)) }
            if r.result == 0 { ends[i] = ChannelEnds(read: fds[0], write: fds[1]) }
        case .fifo(let path, let beforeFork):
            if beforeFork { makeFIFO(i, path, step: nil) }
        }
    }

    /// `mkfifo(3)` of a FIFO channel's path, mode 0600.
    func makeFIFO(_ i: Int, _ path: String, step: Int?) {
        Recorder.returned(.fifos(.mkfifo), step: step, args: [0o600, Int64(i)]) { Int(mkfifo(path, 0o600)) }
    }

    mutating func runPipeStep(_ step: PipeStep, at i: Int) {
        switch step {
        case let .write(channel, data, count):
            let bytes = data.bytes
            // A repeated call stops at its first error, as a C loop checking the result would.
            for _ in 0..<count {
                if write(channel, bytes, step: i).result < 0 { break }
            }
        case let .read(channel, size, count):
            for _ in 0..<count {
                if read(channel, size, step: i) < 0 { break }
            }
        case let .readAll(channel, size):
            readAll(channel, size, step: i)
        case let .fill(channel, size):
            fill(channel, size, step: i)
        case let .close(channel, end):
            close(channel, end, step: i)
        case let .fstat(channel, end):
            fstatEnd(channel, end, step: i)
        case let .open(channel, end, nonblocking):
            open(channel, end, nonblocking: nonblocking, step: i)
        case let .setNonblocking(channel, end, enabled):
            setNonblocking(channel, end, enabled, step: i)
        case let .setPipeSize(channel, size):
            pipeSize(channel, set: size, step: i)
        case let .getPipeSize(channel):
            pipeSize(channel, set: nil, step: i)
        case let .dup2(channel, end, fd):
            dup2(channel, end, onto: Int32(fd), step: i)
        case let .stage(program):
            runStage(program, step: i)
        case let .mkfifo(channel):
            let c = channelIndex(channel)
            makeFIFO(c, scenario.channels[c].path ?? "", step: i)
        }
    }

    func channelIndex(_ name: String) -> Int {
        scenario.channels.firstIndex { $0.name == name } ?? 0
    }

    /// One `write(2)`; returns its result and the errno it left (read once, by the recorder).
    @discardableResult
    mutating func write(_ channel: String, _ bytes: [UInt8], step: Int) -> Recorder.Outcome {
        let c = channelIndex(channel)
        let fd = ends[c].write
        let r = bytes.withUnsafeBytes { buf in
            Recorder.call(.pipes(.write), step: step, args: [Int64(fd), Int64(bytes.count), Int64(c)], payload: buf) {
                Glibc.write(fd, buf.baseAddress, buf.count)
            }
        }
        snapshot(c, after: r.slot)
        return r
    }

    /// One `read(2)` of up to `size` bytes; returns its result.
    @discardableResult
    mutating func read(_ channel: String, _ size: Int, step: Int) -> Int {
        let c = channelIndex(channel)
        let fd = ends[c].read
        var buffer = [UInt8](repeating: 0, count: size)
        let r = buffer.withUnsafeMutableBytes { buf in
            Recorder.call(.pipes(.read), step: step, args: [Int64(fd), Int64(size), Int64(c)], payload: UnsafeRawBufferPointer(buf)) {
                Glibc.read(fd, buf.baseAddress, size)
            }
        }
        snapshot(c, after: r.slot)
        return r.result
    }

    /// Reads until end of file or an error.
    mutating func readAll(_ channel: String, _ size: Int, step: Int) {
        for _ in 0..<Self.loopLimit {
            if read(channel, size, step: step) <= 0 { return }
        }
    }

    /// Writes chunks until the pipe holds its capacity, then once more.
    mutating func fill(_ channel: String, _ size: Int, step: Int) {
        let c = channelIndex(channel)
        let fd = ends[c].write
        let chunk = PipeStep.Data.size(size).bytes
        // Full is what the kernel says, not arithmetic on F_GETPIPE_SZ: the capacity counts page-sized
        // slots, so chunks that do not divide a page leave room unused and the bytes waiting never reach
        // it. Writes without waiting until EAGAIN; then, if the end was blocking, one blocking write,
        // which waits for the reader.
        let flags = ipclab_fcntl(fd, F_GETFL)
        let blocking = flags >= 0 && flags & O_NONBLOCK == 0
        if blocking { setNonblocking(channel, .write, true, step: step) }
        for _ in 0..<Self.loopLimit {
            let r = write(channel, chunk, step: step)
            if r.result < 0 {
                let full = r.errno == EAGAIN
                if blocking {
                    setNonblocking(channel, .write, false, step: step)
                    if full { write(channel, chunk, step: step) }
                }
                return
            }
        }
    }

    mutating func close(_ channel: String, _ end: PipeEnd, step: Int) {
        let c = channelIndex(channel)
        let key: PipeEndKey = end == .read ? .read : .write
        let fd = ends[c][key]
        Recorder.returned(.pipes(.close), step: step, args: [Int64(fd), Int64(c), end == .read ? 0 : 1]) { Int(Glibc.close(fd)) }
        ends[c][key] = -1
    }

    /// `fstat(2)` and `fcntl(F_GETFL)` of one end, in one record: what inode it reaches, and how the
    /// open file behind it was opened.
    mutating func fstatEnd(_ channel: String, _ end: PipeEnd, step: Int) {
        let c = channelIndex(channel)
        let fd = ends[c][end == .read ? .read : .write]
        var st = stat()
        var flags: Int32 = -1
        Recorder.returned(.pipes(.fstat), step: step,
                          args: [Int64(fd), Int64(c), end == .read ? 0 : 1, Int64(flags), Int64(bitPattern: UInt64(st.st_ino)),
                                 Int64(bitPattern: UInt64(st.st_dev)), Int64(st.st_mode)]) {
            let r = Glibc.fstat(fd, &st)
            // F_GETFL only once fstat succeeded: errno, read when it failed, stays fstat's.
            if r == 0 { flags = ipclab_fcntl(fd, F_GETFL) }
            return Int(r)
        }
    }

    /// `open(2)` of a FIFO: blocks until the other side opens, unless non-blocking.
    mutating func open(_ channel: String, _ end: PipeEnd, nonblocking: Bool, step: Int) {
        let c = channelIndex(channel)
        let flags = (end == .read ? O_RDONLY : O_WRONLY) | (nonblocking ? O_NONBLOCK : 0)
        let fd = Recorder.call(.fifos(.open), step: step, args: [Int64(flags), Int64(c), end == .read ? 0 : 1]) {
            Int(Glibc.open(scenario.channels[c].path ?? "", flags))
        }.result
        if fd >= 0 { ends[c][end == .read ? .read : .write] = Int32(fd) }
    }

    mutating func setNonblocking(_ channel: String, _ end: PipeEnd, _ enabled: Bool, step: Int) {
        let c = channelIndex(channel)
        let fd = ends[c][end == .read ? .read : .write]
        let flags = Int32(Recorder.returned(.pipes(.fcntl), step: step, args: [Int64(fd), Int64(F_GETFL), 0, Int64(c)]) {
            Int(ipclab_fcntl(fd, F_GETFL))
        }.result)
        guard flags >= 0 else { return }
        let new = enabled ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        Recorder.returned(.pipes(.fcntl), step: step, args: [Int64(fd), Int64(F_SETFL), Int64(new), Int64(c)]) {
            Int(ipclab_fcntl_int(fd, F_SETFL, new))
        }
    }

    /// `fcntl(F_SETPIPE_SZ)` when `set` is given, else `fcntl(F_GETPIPE_SZ)`.
    mutating func pipeSize(_ channel: String, set: Int?, step: Int) {
        let c = channelIndex(channel)
        let fd = ends[c].anyOpen ?? -1
        let cmd = set == nil ? ipclab_F_GETPIPE_SZ : ipclab_F_SETPIPE_SZ
        Recorder.returned(.pipes(.fcntl), step: step, args: [Int64(fd), Int64(cmd), Int64(set ?? 0), Int64(c)]) {
            Int(set.map { ipclab_fcntl_int(fd, ipclab_F_SETPIPE_SZ, Int32($0)) } ?? ipclab_fcntl(fd, ipclab_F_GETPIPE_SZ))
        }
    }

    /// Records the bytes waiting in a pipe (`FIONREAD`) and its capacity, after the record `after`.
    func snapshot(_ c: Int, after slot: UInt32) {
        guard let fd = ends[c].anyOpen else { return }
        let waiting = ipclab_bytes_readable(fd)
        let capacity = ipclab_fcntl(fd, ipclab_F_GETPIPE_SZ)
        guard waiting >= 0 else { return }
        Recorder.record(IPCLAB_REC_OBJECT, "pipe", step: nil,
                         args: [Int64(c), Int64(waiting), Int64(capacity), Int64(slot == Recorder.none ? -1 : Int64(slot))],
                         result: 0)
    }

    /// Upper bound on iterations of `read_all` and `fill`.
    static let loopLimit = 65_536
}
