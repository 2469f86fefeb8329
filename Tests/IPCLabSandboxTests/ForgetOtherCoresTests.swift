import CIPCLab
import Foundation
import Testing

/// `ipclab_forget_other_cores`, which a ready init calls once kept to the run core (docs/performance.md,
/// "The ready init forgets its first core"): what it does to the TLB shows only in a profile, so this
/// checks that it works and leaves the caller's memory as it was.
@Suite("A ready init forgets its other cores")
struct ForgetOtherCoresTests {
    /// Anonymous mappings of exactly 4 MiB in this process (the size the call maps and unmaps again).
    func fourMiBAnonymous() throws -> [String] {
        try String(contentsOfFile: "/proc/self/maps", encoding: .utf8).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 5, let range = fields.first?.split(separator: "-"), range.count == 2,
                  let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16) else { return nil }
            return end - start == 4 << 20 ? String(line) : nil
        }
    }

    @Test("it succeeds, and the region it touched to free a page table is unmapped again")
    func leavesNothingMapped() throws {
        let before = try fourMiBAnonymous()
        for _ in 0..<3 { #expect(ipclab_forget_other_cores() == 0, "errno \(errno)") }
        let after = try fourMiBAnonymous()
        #expect(Set(after).isSubset(of: Set(before)), "left mapped: \(Set(after).subtracting(before))")
    }
}
