import CIPCLab
import Foundation
import Glibc
import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// Runners map their relocated RELRO segment from a file of their own, shared and read-only
/// (``CodePages/relro``): fork copies none of its entries, and nothing a run does can change what
/// later runs of the same runner read.
@Suite("RELRO pages", .serialized)
struct RelroPagesTests {
    /// One mapping of /proc/PID/smaps: its bounds, permissions, inode, and its size fields in kB.
    struct Mapping: Sendable {
        var start: UInt
        var end: UInt
        var perms: String
        var inode: String
        var kB: [String: Int] = [:]
        /// What a forced write of its second page's first byte through /proc/PID/mem gave (``writeBack``).
        var forcedWrite: Int32? = nil
    }

    /// The mappings of `pid` (0: this process), in address order.
    static func smaps(_ pid: Int32) -> [Mapping] {
        let fd = open(pid == 0 ? "/proc/self/smaps" : "/proc/\(pid)/smaps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        var maps: [Mapping] = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = words.first, range.contains("-"), words.count >= 5, !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                if bounds.count == 2 {
                    maps.append(Mapping(start: bounds[0], end: bounds[1], perms: String(words[1]), inode: String(words[4])))
                    continue
                }
            }
            if words.count >= 2, words[0].hasSuffix(":"), let value = Int(words[1]), !maps.isEmpty {
                maps[maps.count - 1].kB[String(words[0].dropLast())] = value
            }
        }
        return maps
    }

    /// The mapping after the executable's text (its first executable mapping): where an image linked as
    /// `ipclab-sandbox` is has its RELRO segment.
    static func relro(of pid: Int32) -> Mapping? {
        let maps = smaps(pid)
        guard let text = maps.firstIndex(where: { $0.perms.dropFirst(2).first == "x" }), text + 1 < maps.count else { return nil }
        return maps[text + 1]
    }

    /// ``relro(of:)`` with ``Mapping/forcedWrite`` (while the process is there to write to). Nil for a
    /// process gone between the two looks (an init dropped or taken by a run meanwhile: ENOENT, ESRCH).
    static func relroWritten(of pid: Int32) -> Mapping? {
        guard var mapping = relro(of: pid) else { return nil }
        mapping.forcedWrite = writeBack(pid, at: mapping.start + 4096)
        if mapping.forcedWrite == ENOENT || mapping.forcedWrite == ESRCH { return nil }
        return mapping
    }

    /// The PID namespace of `pid` (0: this process).
    static func namespace(_ pid: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 128)
        let n = readlink(pid == 0 ? "/proc/self/ns/pid" : "/proc/\(pid)/ns/pid", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    /// Writes back the byte at `address` of `pid`'s memory through /proc/PID/mem (which writes even
    /// where the process could not, as a debugger does, unless the mapping is shared and read-only):
    /// 0 when it was written, else the errno.
    static func writeBack(_ pid: Int32, at address: UInt) -> Int32 {
        let fd = open(pid == 0 ? "/proc/self/mem" : "/proc/\(pid)/mem", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var byte: UInt8 = 0
        guard pread(fd, &byte, 1, off_t(Int(bitPattern: address))) == 1 else { return errno }
        return pwrite(fd, &byte, 1, off_t(Int(bitPattern: address))) == 1 ? 0 : errno
    }

    @Test("on (the default): every waiting init maps its runner's RELRO shared and read-only (one PMD), unwritable even by /proc/PID/mem")
    func on() async throws {
        #expect(CodePages.standard.contains(.relro))
        let codePages = CodePages.standard
        let (trace, ready) = try await HugeCodePagesTests.runOnce(codePages: codePages, named: "ipclab-ready", probe: Self.relroWritten(of:)) {
            $0.allSatisfy { $0.perms == "r--s" }
        }
        expectWentWell(trace)
        #expect(!ready.isEmpty, "no init waiting for a run was found")
        for (pid, mapping) in ready {
            #expect(mapping.perms == "r--s", "init \(pid): its RELRO is not a shared read-only mapping: \(mapping)")
            #expect(mapping.start % (2 << 20) == 0 && mapping.end - mapping.start == 2 << 20, "init \(pid): \(mapping)")
            #expect(mapping.kB["Anonymous"] == 0, "init \(pid): anonymous pages in its RELRO: \(mapping)")
            #expect(mapping.forcedWrite == EIO, "init \(pid): its runner's RELRO was writable, or not there: \(mapping)")
        }
        // By one PMD (a runner whose tmpfs had no huge page at hand keeps 4-KiB pages, still shared).
        if HugeCodePagesTests.hugePagesAvailable {
            #expect(ready.values.contains { $0.kB["ShmemPmdMapped"] == 2048 }, "no waiting init maps its RELRO by one PMD: \(ready)")
        }
        // Each runner has a file of its own (its relocations are its own exec's). An init just cloned is
        // still named as its runner, but is in a PID namespace of its own.
        let (_, runners) = try await HugeCodePagesTests.runOnce(codePages: codePages, probe: { pid in
            Self.namespace(pid) == Self.namespace(0) ? Self.relro(of: pid) : nil
        }) {
            $0.count > 1 && $0.allSatisfy { $0.perms == "r--s" }
        }
        #expect(runners.count > 1 && runners.values.allSatisfy { $0.perms == "r--s" }, "\(runners)")
        #expect(Set(runners.values.map(\.inode)).count == runners.count, "runners share a RELRO file: \(runners)")
        let (plain, _) = try await HugeCodePagesTests.runOnce(codePages: .none) { _ in true }
        #expect(HugeCodePagesTests.calls(trace) == HugeCodePagesTests.calls(plain))
        #expect(trace.observations.map(\.holds) == plain.observations.map(\.holds))
    }

    @Test("off: without .relro a waiting init's RELRO stays private, as the loader left it")
    func off() async throws {
        let (trace, ready) = try await HugeCodePagesTests.runOnce(codePages: [.text], named: "ipclab-ready", probe: Self.relroWritten(of:)) { _ in true }
        expectWentWell(trace)
        #expect(!ready.isEmpty, "no init waiting for a run was found")
        #expect(ready.values.allSatisfy { $0.perms == "r--p" }, "\(ready)")
        // What the check of `on` tells apart: a private copy takes a forced write (of the byte it held).
        for (pid, mapping) in ready { #expect(mapping.forcedWrite == 0, "init \(pid): \(mapping)") }
    }

    @Test("ipclab_share_read_only: the copy reads the same, and neither mprotect nor /proc/self/mem can write it")
    func sharedReadOnly() throws {
        let dir = ipclab_huge_tmpfs()
        try #require(dir >= 0, "no huge-page tmpfs: \(dir), errno \(errno)")
        defer { close(dir) }
        let huge = 2 << 20, len = 600 << 10
        let area = try #require(mmap(nil, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        try #require(area != MAP_FAILED)
        defer { munmap(area, 2 * huge) }
        let start = (UInt(bitPattern: area) + UInt(huge) - 1) & ~UInt(huge - 1)
        let bytes = try #require(UnsafeMutablePointer<UInt8>(bitPattern: start))
        for i in 0..<len { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
        #expect(mprotect(bytes, len, PROT_READ) == 0)
        var error: Int32 = 0
        #expect(ipclab_share_read_only(dir, start, UInt64(len), UInt64(huge), &error) == Int32(IPCLAB_CODE_OK), "errno \(error)")
        let mapping = try #require(Self.smaps(0).first { $0.start == start })
        #expect(mapping.perms == "r--s" && mapping.end == start + UInt(huge) && mapping.kB["Anonymous"] == 0, "\(mapping)")
        #expect((0..<len).allSatisfy { bytes[$0] == UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }, "the copy differs")
        #expect((len..<huge).allSatisfy { bytes[$0] == 0 }, "the rest is not zeros")
        #expect(mprotect(bytes, 4096, PROT_READ | PROT_WRITE) == -1 && errno == EACCES)
        #expect(Self.writeBack(0, at: start) == EIO, "written through /proc/self/mem")
    }
}
