import Foundation
import Testing
@testable import IPCLabSandbox

/// The layout of the built `ipclab-sandbox` that every run process inherits (README, "Runners"): its
/// read-only data stays in a read-only segment, which fork does not copy (a file mapping without an
/// anon_vma), and its segments stay 2-MiB-aligned, which the huge code pages need.
@Suite("Runner image layout")
struct RunnerImageLayoutTests {
    /// The `ipclab-sandbox` beside the binary the tests run, parsed.
    static func image() throws -> ELFImage {
        let path = Spawner.sandboxImage(beside: try Lab.binary.get())
        try #require(path.hasSuffix("/" + Spawner.sandboxExecutableName), "no ipclab-sandbox beside \(path)")
        return try ELFImage(path: path)
    }

    @Test(".rodata is not writable and lies in a read-only segment (the linker script's rule holds)")
    func readOnlyData() throws {
        let elf = try Self.image()
        let rodata = try #require(elf.sections.first { $0.name == ".rodata" }, "no .rodata section")
        #expect(rodata.flags & ELFImage.shfWrite == 0, ".rodata is flagged writable: \(String(rodata.flags, radix: 16))")
        // Not a few bytes of it: ICU's data alone is tens of MB (a check that could not fail otherwise).
        #expect(rodata.size > 1 << 20)
        let load = try #require(elf.loads.first { $0.vaddr <= rodata.addr && rodata.addr + rodata.size <= $0.vaddr + $0.memsz },
                                "no LOAD segment holds .rodata")
        #expect(load.flags & ELFImage.pfWrite == 0, ".rodata lies in a writable segment (flags \(load.flags))")
        // What the compiler emitted writable went to RELRO, not to the RW segment a fork copies.
        let relro = try #require(elf.sections.first { $0.name == ".data.rel.ro" })
        #expect(relro.flags & ELFImage.shfWrite != 0)
        // Every writable segment together is small next to .rodata (today ~1 MB against ~37 MB).
        let writable = elf.loads.filter { $0.flags & ELFImage.pfWrite != 0 }.reduce(UInt64(0)) { $0 + $1.memsz }
        #expect(writable < rodata.size / 4, "writable segments: \(writable) bytes")
    }

    @Test("every LOAD segment is 2-MiB-aligned (the runners' code on huge pages relies on it)")
    func alignedSegments() throws {
        let elf = try Self.image()
        #expect(elf.loads.count >= 3)
        for load in elf.loads {
            #expect(load.align == 2 << 20 && load.vaddr % (2 << 20) == 0, "segment at \(String(load.vaddr, radix: 16)), align \(load.align)")
        }
    }
}

/// The few fields of a 64-bit little-endian ELF file's section and program headers a layout test reads.
struct ELFImage {
    struct Section { var name: String; var flags: UInt64; var addr: UInt64; var size: UInt64 }
    struct Load { var flags: UInt32; var vaddr: UInt64; var memsz: UInt64; var align: UInt64 }
    static let shfWrite: UInt64 = 1
    static let pfWrite: UInt32 = 2

    var sections: [Section] = []
    var loads: [Load] = []

    struct NotELF: Error { var path: String }

    init(path: String) throws {
        let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? file.close() }
        func bytes(_ offset: UInt64, _ count: Int) throws -> [UInt8] {
            try file.seek(toOffset: offset)
            let data = try file.read(upToCount: count) ?? Data()
            guard data.count == count else { throw NotELF(path: path) }
            return [UInt8](data)
        }
        func int(_ b: [UInt8], _ at: Int, _ width: Int) -> UInt64 {
            (0..<width).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) }
        }
        let header = try bytes(0, 64)
        guard header[0..<4] == [0x7f, 0x45, 0x4c, 0x46], header[4] == 2, header[5] == 1 else { throw NotELF(path: path) }
        let (phoff, phentsize, phnum) = (int(header, 0x20, 8), int(header, 0x36, 2), int(header, 0x38, 2))
        let (shoff, shentsize, shnum, shstrndx) = (int(header, 0x28, 8), int(header, 0x3a, 2), int(header, 0x3c, 2), int(header, 0x3e, 2))
        let ph = try bytes(phoff, Int(phentsize * phnum))
        for i in 0..<Int(phnum) where int(ph, i * Int(phentsize), 4) == 1 {  // PT_LOAD
            let at = i * Int(phentsize)
            loads.append(Load(flags: UInt32(int(ph, at + 4, 4)), vaddr: int(ph, at + 16, 8), memsz: int(ph, at + 40, 8),
                              align: int(ph, at + 48, 8)))
        }
        let sh = try bytes(shoff, Int(shentsize * shnum))
        let strtab = Int(shstrndx * shentsize)
        let names = try bytes(int(sh, strtab + 24, 8), Int(int(sh, strtab + 32, 8)))
        for i in 0..<Int(shnum) {
            let at = i * Int(shentsize)
            let start = Int(int(sh, at, 4))
            let end = names[start...].firstIndex(of: 0) ?? names.endIndex
            sections.append(Section(name: String(decoding: names[start..<end], as: UTF8.self), flags: int(sh, at + 8, 8),
                                    addr: int(sh, at + 16, 8), size: int(sh, at + 32, 8)))
        }
    }
}
