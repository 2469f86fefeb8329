import CIPCLab
import Testing

/// The run's seccomp policy is installed in two filters (the base while a ready init waits, the late
/// one at the lockdown): stacked, they must answer every call exactly as the whole filter does. Each
/// program is run here by a small classic-BPF interpreter over every syscall number of three ABIs.
@Suite("Seccomp policy")
struct SeccompPolicyTests {
    static func program(_ which: Int32) -> [ipclab_bpf_insn] {
        let n = ipclab_seccomp_program(which, nil, 0)
        var code = [ipclab_bpf_insn](repeating: ipclab_bpf_insn(), count: n)
        _ = ipclab_seccomp_program(which, &code, n)
        return code
    }

    /// What `code` returns for a call (struct seccomp_data: nr at 0, arch at 4, args from 16, little-endian words).
    static func run(_ code: [ipclab_bpf_insn], arch: UInt32, nr: UInt32, arg0: UInt64) -> UInt32? {
        var a: UInt32 = 0
        var pc = 0
        while pc < code.count {
            let i = code[pc]
            switch i.code {
            case 0x20: // BPF_LD | BPF_W | BPF_ABS
                switch i.k {
                case 0: a = nr
                case 4: a = arch
                case 16: a = UInt32(truncatingIfNeeded: arg0)
                case 20: a = UInt32(truncatingIfNeeded: arg0 >> 32)
                default: return nil
                }
            case 0x15: pc += Int(a == i.k ? i.jt : i.jf) // JEQ
            case 0x35: pc += Int(a >= i.k ? i.jt : i.jf) // JGE
            case 0x25: pc += Int(a > i.k ? i.jt : i.jf) // JGT
            case 0x45: pc += Int(a & i.k != 0 ? i.jt : i.jf) // JSET
            case 0x06: return i.k // RET
            default: return nil
            }
            pc += 1
        }
        return nil
    }

    /// The kernel's answer under several filters: each runs, the most restrictive action wins (the
    /// newest filter's among equals), SECCOMP_RET_ALLOW when none says less.
    static func stacked(_ filters: [[ipclab_bpf_insn]], arch: UInt32, nr: UInt32, arg0: UInt64) -> UInt32? {
        var ret: UInt32 = 0x7fff_0000
        for f in filters.reversed() {
            guard let cur = run(f, arch: arch, nr: nr, arg0: arg0) else { return nil }
            if Int32(bitPattern: cur & 0xffff_0000) < Int32(bitPattern: ret & 0xffff_0000) { ret = cur }
        }
        return ret
    }

    @Test("base + late refuse exactly what the whole filter refuses, with the same errno, for every number of every ABI")
    func stackedIsTheWhole() throws {
        let whole = Self.program(0), base = Self.program(1), late = Self.program(2)
        // The native architecture, as the whole filter's first test names it.
        let native = try #require(whole.count > 1 ? whole[1].k : nil)
        #expect(late.count < 20 && late.count * 4 < base.count, "the late filter is the short one: \(late.count) instructions")
        var differs = 0, lateMatters = 0
        for arch in [native, 0x4000_0003 /* i386 */, 0] {
            for nr in Array(0..<1100) + (0..<600).map({ $0 | 0x4000_0000 }) + [0xffff_ffff] {
                for arg0: UInt64 in [0, 17, 0x2_0000, 0x1000_0000, 0x4000_0000, 0x1_0000_0000] {
                    let expected = try #require(Self.stacked([whole], arch: arch, nr: UInt32(nr), arg0: arg0))
                    let got = try #require(Self.stacked([base, late], arch: arch, nr: UInt32(nr), arg0: arg0))
                    if got != expected { differs += 1 }
                    if Self.stacked([base], arch: arch, nr: UInt32(nr), arg0: arg0) != expected { lateMatters += 1 }
                }
            }
        }
        #expect(differs == 0)
        // The base alone allows the mount calls: the test would see a late filter that refuses nothing.
        #expect(lateMatters > 0)
    }

    #if arch(x86_64)
    @Test("the whole filter refuses mount (EPERM) and allows getpid on the native ABI; the base alone allows mount")
    func interpreterSanity() throws {
        let whole = Self.program(0), base = Self.program(1)
        let native = whole[1].k
        let eperm: UInt32 = 0x0005_0000 | 1
        #expect(Self.run(whole, arch: native, nr: 165, arg0: 0) == eperm) // x86_64 mount
        #expect(Self.run(whole, arch: native, nr: 39, arg0: 0) == 0x7fff_0000) // x86_64 getpid
        #expect(Self.run(base, arch: native, nr: 165, arg0: 0) == 0x7fff_0000)
        #expect(Self.run(whole, arch: 0x4000_0003, nr: 20, arg0: 0) == eperm) // any i386 call
    }

    @Test("a run without pointer steps: base + late-without-process_vm refuses process_vm_readv/writev and otherwise answers as the whole")
    func lateWithoutProcessVm() throws {
        let whole = Self.program(0), base = Self.program(1), late = Self.program(3)
        let native = whole[1].k
        let eperm: UInt32 = 0x0005_0000 | 1
        let processVm: Set<UInt32> = [310, 311] // x86_64 process_vm_readv, process_vm_writev
        #expect(Self.stacked([base, late], arch: native, nr: 310, arg0: 1) == eperm)
        #expect(Self.stacked([base, late], arch: native, nr: 311, arg0: 1) == eperm)
        // The whole filter leaves both to each participant's own filter: they must differ there only.
        #expect(Self.stacked([whole], arch: native, nr: 310, arg0: 1) == 0x7fff_0000)
        var differs = 0
        for arch in [native, 0x4000_0003, 0] {
            for nr in Array(0..<1100) + (0..<600).map({ $0 | 0x4000_0000 }) {
                if arch == native && processVm.contains(UInt32(nr)) { continue }
                let expected = try #require(Self.stacked([whole], arch: arch, nr: UInt32(nr), arg0: 0))
                if Self.stacked([base, late], arch: arch, nr: UInt32(nr), arg0: 0) != expected { differs += 1 }
            }
        }
        #expect(differs == 0)
    }
    #endif
}
