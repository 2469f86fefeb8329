import CIPCLab
import Glibc
import IPCLabCore

/// In a program run's init: finds what each process wrote to its standard output and error (the
/// capture files `/tmp/.ipclab/out/PID.1`, `.2`) and records each new stretch as an `output` event,
/// so a `stdout` check can cite events. printf's own `write` happens inside the C library, where the
/// interposer cannot see it; the capture sees every byte, but only when the init looks: each tick of
/// the supervisor (10 ms) while the run lasts, and once more when every process is gone. An event's
/// time is when the init found the bytes, never before they were written.
///
/// Bounded as the capture is: only the first ``TraceProcess/outputLimit`` bytes of each stream make
/// events, so a stream yields at most that many events (in practice one per tick that saw it grow).
/// The files are the run's to write (a program can write anything to them); an event says only
/// which bytes the file held, and the server checks its preview against the captured output.
struct OutputWatch {
    /// Bytes already recorded, by file name (`PID.1`).
    private var seen: [String: Int] = [:]

    /// Records the bytes each capture file gained since the last look.
    mutating func scan() {
        guard let dir = opendir(RunInit.programDir + "/out") else { return }
        defer { closedir(dir) }
        while let d = readdir(dir) {
            let name = withUnsafeBytes(of: d.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let parts = name.split(separator: ".")
            guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, let fd = Int(parts[1]), fd == 1 || fd == 2 else { continue }
            let from = seen[name, default: 0]
            let path = RunInit.programDir + "/out/" + name
            // Most looks find nothing new: one stat, no open.
            var st = stat()
            guard from < TraceProcess.outputLimit, lstat(path, &st) == 0, Int(st.st_size) > from else { continue }
            let bytes = Self.read(path, from: from, limit: TraceProcess.outputLimit - from)
            guard !bytes.isEmpty else { continue }
            seen[name] = from + bytes.count
            _ = bytes.withUnsafeBytes { payload in
                Recorder.record(IPCLAB_REC_EVENT, ProcessCall.output.rawValue, step: nil,
                                args: [Int64(fd), Int64(from), Int64(bytes.count), Int64(pid)], result: bytes.count, payload: payload)
            }
        }
    }

    /// Up to `limit` bytes of a regular file from `offset`.
    private static func read(_ path: String, from offset: Int, limit: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) > offset else { return [] }
        var bytes = [UInt8](repeating: 0, count: min(limit, Int(st.st_size) - offset))
        var got = 0
        while got < bytes.count {
            let n = bytes[got...].withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset + got)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        return Array(bytes[0..<got])
    }
}
