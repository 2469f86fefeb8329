import CIPCLab
import Glibc
import IPCLabCore

/// Pipelines: moving pipe ends onto the standard streams, and the built-in programs that
/// read standard input and write standard output, as `head`, `tr` and `head -c` would.
extension Participant {
    /// `dup2(2)` an end onto `fd`, then `close(2)` the original: the end now is that stream.
    mutating func dup2(_ channel: String, _ end: PipeEnd, onto fd: Int32, step: Int) {
        let c = channelIndex(channel)
        let key = PipeEndKey(end)
        let old = ends[c][key]
        let r = Recorder.returned(.pipes(.dup2), step: step, args: [Int64(old), Int64(fd), Int64(c), end == .read ? 0 : 1]) {
            Int(Glibc.dup2(old, fd))
        }.result
        guard r >= 0, old != fd else { return }
        // Whatever end sat on `fd` before was closed by dup2.
        for k in ends.indices {
            if ends[k].read == fd { ends[k].read = -1 }
            if ends[k].write == fd { ends[k].write = -1 }
        }
        close(channel, end, step: step)
        ends[c][key] = fd
    }

    /// Runs a built-in program on fds 0 and 1 until it is done, end of file, or an error.
    mutating func runStage(_ program: PipeStep.Program, step: Int) {
        switch program {
        case .random(let total):
            var left = total
            var chunk = [UInt8](repeating: 0, count: 4096)
            while left > 0 {
                let n = chunk.withUnsafeMutableBytes { buf in
                    Recorder.returned(.pipes(.getrandom), step: step, args: [Int64(min(left, buf.count)), 0]) {
                        ipclab_getrandom(buf.baseAddress, min(left, buf.count))
                    }.result
                }
                if n <= 0 { return }
                if stdoutWrite(Array(chunk[0..<n]), step: step) < 0 { return }
                left -= n
            }
        case .alnum:
            while true {
                let input = stdinRead(4096, step: step)
                guard let input, !input.isEmpty else { return }
                let kept = input.filter { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) }
                if !kept.isEmpty, stdoutWrite(kept, step: step) < 0 { return }
            }
        case .take(let count):
            var got = 0
            while got < count {
                guard let input = stdinRead(min(4096, count - got), step: step), !input.isEmpty else { return }
                got += input.count
                if stdoutWrite(input, step: step) < 0 { return }
            }
        }
    }

    /// The channel whose `end` this process holds on `fd`, or -1.
    private func channel(on fd: Int32, _ end: PipeEndKey) -> Int {
        ends.firstIndex { $0[end] == fd } ?? -1
    }

    /// One `read(2)` of standard input; nil when it failed.
    private func stdinRead(_ size: Int, step: Int) -> [UInt8]? {
        let c = channel(on: 0, .read)
        var buffer = [UInt8](repeating: 0, count: size)
        let read = buffer.withUnsafeMutableBytes { buf in
            Recorder.call(.pipes(.read), step: step, args: [0, Int64(size), Int64(c)], payload: UnsafeRawBufferPointer(buf)) {
                Glibc.read(0, buf.baseAddress, size)
            }
        }
        if c >= 0 { snapshot(c, after: read.slot) }
        return read.result < 0 ? nil : Array(buffer[0..<read.result])
    }

    /// One `write(2)` of everything to standard output (a pipe takes it whole, or blocks);
    /// returns the result.
    private func stdoutWrite(_ bytes: [UInt8], step: Int) -> Int {
        let c = channel(on: 1, .write)
        let written = bytes.withUnsafeBytes { buf in
            Recorder.call(.pipes(.write), step: step, args: [1, Int64(bytes.count), Int64(c)], payload: buf) {
                Glibc.write(1, buf.baseAddress, buf.count)
            }
        }
        if c >= 0 { snapshot(c, after: written.slot) }
        return written.result
    }
}
