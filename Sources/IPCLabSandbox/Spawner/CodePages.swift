import CIPCLab
import Glibc

/// What a runner puts on huge pages at the same addresses before its warm-up ("large pages for
/// code", as Node.js `--use-largepages` does it). Run processes are forks of the runner: its text is a
/// file mapping, which fork does not copy (no anon_vma), so each of a run's three new processes faulted
/// the code it runs in again, 16 pages per fault, and its exit zapped them again. On huge pages a
/// process maps it by a few PMDs. The text comes from the spawner's code file (``spawnerFiles()``: one copy
/// on a huge-page tmpfs, mapped by every runner), else from a copy each runner makes on anonymous
/// transparent huge pages. Measured in README, "Runners" (`ipclab serve --no-huge-code-pages` turns it
/// off). The C side is `ipclab_remap_code`, `ipclab_huge_tmpfs` and `ipclab_code_file` (CIPCLab): on any failure the code
/// stays on its file pages and the run works as before; the spawner says so once on standard error.
public struct CodePages: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The executable's text on huge pages (its 2-MiB-aligned part, or all of it when the image is
    /// linked with 2-MiB-aligned segments, as `ipclab-sandbox` is).
    public static let text = CodePages(rawValue: IPCLAB_CODE_TEXT)
    /// The text's unaligned head and tail too, on 4-KiB anonymous pages (else they stay file-backed).
    public static let edges = CodePages(rawValue: IPCLAB_CODE_EDGES)
    /// The executable's first, read-only segment too (Swift metadata, unwind tables).
    public static let rodata = CodePages(rawValue: IPCLAB_CODE_RODATA)
    /// libc's text too.
    public static let libc = CodePages(rawValue: IPCLAB_CODE_LIBC)
    /// Anonymous 4-KiB pages instead of huge ones (for measuring only).
    public static let noTHP = CodePages(rawValue: IPCLAB_CODE_NO_THP)
    /// Each runner copies its text onto anonymous huge pages itself, without the spawner's shared code
    /// file (for measuring only: the copy costs each runner's start ~4 ms of CPU, ate the run processes'
    /// gain, and its 18 MB are charged to the slot's memory cgroup, which the run's limit bounds).
    public static let copy = CodePages(rawValue: IPCLAB_CODE_COPY)
    /// The executable's relocated RELRO segment (`.data.rel.ro`, `.got`, ~600 KB) too: each runner
    /// copies it, once the loader has made it read-only, into a file of its own on the spawner's
    /// huge-page tmpfs and maps that shared and read-only over it, so fork copies none of its entries
    /// and a process maps it by one PMD. Its 2 MiB are charged to the runner's slot.
    public static let relro = CodePages(rawValue: IPCLAB_CODE_RELRO)

    /// Nothing moved: the code stays on its file pages (`--no-huge-code-pages`).
    public static let none: CodePages = []
    /// The default, the best measured (README, "Runners").
    public static let standard: CodePages = [.text, .relro]

    /// Bytes of the process's executable mappings mapped by huge pages (`AnonHugePages`,
    /// `ShmemPmdMapped` in its smaps), -1 when unreadable: how a test or an operator sees it.
    public static func hugeExecutableBytes(of pid: Int32) -> Int64 { ipclab_exec_huge_bytes(pid) }

    /// Moves the code (single-threaded: the runner's start), mapping the spawner's `codeFile` over the
    /// text when it is given and made from this executable, and the RELRO segment from a file of its
    /// own in the spawner's `tmpfs`. What happened, for the hello.
    func apply(codeFile: Int32, tmpfs: Int32 = -1) -> ipclab_code_result {
        var result = ipclab_code_result()
        // Without the spawner's file the text stays on its file pages, unless a copy is asked for.
        var what = codeFile < 0 && !contains(.copy) && !contains(.noTHP) ? subtracting([.text, .edges]) : self
        if tmpfs < 0 { what.remove(.relro) }
        if !what.isEmpty { _ = ipclab_remap_code(what.rawValue, codeFile, tmpfs, &result) }
        return result
    }

    /// The spawner's side: its tmpfs on huge pages (kept for runners only when they put their RELRO
    /// there), and the text once in a file in it that its runners map (-1: none; each runner's text then
    /// stays on its file pages, which the spawner says once on stderr). The text is this executable's,
    /// or with `runner` the text of that one (the C runner, linked with its text alone in 2-MiB pages).
    func spawnerFiles(of runner: String? = nil) -> (codeFile: Int32, tmpfs: Int32) {
        let text = contains(.text) && !contains(.noTHP) && !contains(.copy)
        guard text || contains(.relro) else { return (-1, -1) }
        let dir = ipclab_huge_tmpfs()
        var fd: Int32 = -1
        if dir >= 0 && text, let runner {
            let exe = open(runner, O_RDONLY | O_CLOEXEC)
            fd = exe >= 0 ? ipclab_code_file_of(dir, exe) : -2
            if exe >= 0 { close(exe) }
        } else if dir >= 0 && text {
            fd = ipclab_code_file(dir)
        }
        let why = dir == -2 ? "a tmpfs in a mount namespace of its own could not be made: \(ErrnoName.of(errno) ?? String(errno))"
            : fd == -2 ? "the code file could not be made: \(ErrnoName.of(errno) ?? String(errno))"
            : dir == -3 ? "transparent huge pages are off (/sys/kernel/mm/transparent_hugepage/enabled)"
            : fd == -1 && runner != nil ? "\(runner!)'s text is not alone on 2-MiB pages (link it with -z separate-code -z max-page-size=0x200000)" : nil
        if let why {
            let line = Array("ipclab-sandbox: runner code stays on its file pages (\(why)); runs work as before, with more page faults\n".utf8)
            _ = Glibc.write(2, line, line.count)
        }
        // The code file keeps the tmpfs alive by itself.
        if dir >= 0 && !contains(.relro) { close(dir) }
        return (max(fd, -1), contains(.relro) ? max(dir, -1) : -1)
    }

    /// Why the code stayed on file pages, as the runner's hello carries it (0: moved, or not asked).
    static func reason(status: Int32, error: Int32) -> String {
        let cause: String
        switch status {
        case Int32(IPCLAB_CODE_THP_OFF): cause = "transparent huge pages are off (/sys/kernel/mm/transparent_hugepage/enabled)"
        case Int32(IPCLAB_CODE_THREADS): cause = "the runner was not single-threaded"
        case Int32(IPCLAB_CODE_NOT_FOUND): cause = "its code mapping was not found in /proc/self/maps"
        case Int32(IPCLAB_CODE_TOO_SMALL): cause = "its code has no 2-MiB-aligned part"
        case Int32(IPCLAB_CODE_MMAP): cause = "mapping the copy failed"
        case Int32(IPCLAB_CODE_NO_HUGE): cause = "the kernel gave no huge pages"
        case Int32(IPCLAB_CODE_MREMAP): cause = "mremap over the original failed"
        default: cause = "status \(status)"
        }
        return error != 0 ? "\(cause): \(ErrnoName.of(error) ?? String(error))" : cause
    }

    /// Whether a fallback was said already (the spawner is single-threaded: one line per spawner).
    nonisolated(unsafe) private static var reported = false

    /// The spawner's side: a runner's hello (its `errno` field) says whether its code moved; the
    /// first fallback is written to standard error (the server's), once.
    static func report(hello: Int32) {
        guard hello != 0, !reported else { return }
        reported = true
        let line = Array("ipclab-sandbox: runner code stays on its file pages (\(reason(status: hello & 0xff, error: hello >> 8))); runs work as before, with more page faults\n".utf8)
        _ = Glibc.write(2, line, line.count)
    }
}

extension ipclab_code_result {
    /// The hello's `errno` field: the status in the low byte, the errno above it.
    var helloCode: Int32 { status == 0 ? 0 : (status & 0xff) | (error << 8) }
}
