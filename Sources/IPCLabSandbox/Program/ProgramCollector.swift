import CIPCLab
import Glibc
import IPCLabCore

/// In a program run's init, once every process is gone: reads what each process wrote to its
/// stdout and stderr (`/tmp/.ipclab/out/PID.1`, `.2`) and what the compiler said (`compile.N`),
/// each up to its limit, and writes them into the ring's output area (``ProgramOutput``).
struct ProgramCollector {
    let programs: [ProgramSpec]
    let base: UnsafeMutableRawPointer
    let capacity: Int

    func write() {
        guard capacity > 0, let dir = opendir(RunInit.programDir + "/out") else { return }
        var entries: [ProgramOutput.Entry] = []
        while let d = readdir(dir) {
            let name = withUnsafeBytes(of: d.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let parts = name.split(separator: ".")
            guard parts.count == 2 else { continue }
            let entry: (Int32, ProgramOutput.Stream, Int)?
            if parts[0] == "compile", let i = Int32(parts[1]) {
                entry = (i, .compiler, ProgramOutput.compilerLimit)
            } else if let pid = Int32(parts[0]), parts[1] == "1" || parts[1] == "2" {
                entry = (pid, parts[1] == "1" ? .stdout : .stderr, TraceProcess.outputLimit)
            } else {
                entry = nil
            }
            guard let (owner, stream, limit) = entry else { continue }
            let (bytes, cut) = Self.read(RunInit.programDir + "/out/" + name, limit: limit)
            entries.append(ProgramOutput.Entry(id: owner, stream: stream, truncated: cut, bytes: bytes))
        }
        closedir(dir)
        // The compiler's first (a compile error must reach the server), then by pid.
        entries.sort { ($0.stream == .compiler ? 0 : 1, $0.id, $0.stream.rawValue) < ($1.stream == .compiler ? 0 : 1, $1.id, $1.stream.rawValue) }
        ProgramOutput.write(entries, to: base, capacity: capacity)
    }

    /// The first `limit` bytes of a file, and whether it held more.
    static func read(_ path: String, limit: Int) -> ([UInt8], Bool) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return ([], false) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return ([], false) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var got = 0
        while got < limit {
            let n = bytes[got...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        return (Array(bytes[0..<got]), Int(st.st_size) > got)
    }
}
