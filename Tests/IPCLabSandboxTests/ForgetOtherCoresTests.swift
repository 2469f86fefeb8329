import CIPCLab
import Foundation
import Testing

/// `ipclab_forget_other_cores`, which a ready init calls once kept to the run core (docs/performance.md,
/// "The ready init forgets its first core"): what it does to the TLB shows only in a profile, so this
/// checks that it works and leaves the caller's address space as it was.
@Suite("A ready init forgets its other cores", .serialized)
struct ForgetOtherCoresTests {
    /// This process's address space (/proc/self/status `VmSize`), in KiB.
    func addressSpaceKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmSize:") })
        return try #require(Int(line.split(whereSeparator: \.isWhitespace)[1]))
    }

    /// This thread's minor page faults (/proc/thread-self/stat, field 10).
    func minorFaults() throws -> Int {
        let stat = try String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)
        let fields = try #require(stat.split(separator: ")").last).split(separator: " ")
        return try #require(Int(fields[7]))
    }

    /// The CPUs this thread may run on, as /proc says ("0-1", "0,2-3").
    func myCores() throws -> [Int32] {
        let status = try String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        return line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces).split(separator: ",")
            .flatMap { part -> [Int32] in
                let ends = part.split(separator: "-").compactMap { Int32($0) }
                guard let lo = ends.first else { return [] }
                return Array(lo...(ends.last ?? lo))
            }
    }

    @Test("not kept to one core it does nothing; kept to one, it succeeds and unmaps again the region it touched to free a page table")
    func leavesNothingMapped() throws {
        let cores = try myCores()
        // Not kept to one core of several: 64 calls touch no page (a few faults come from reading /proc).
        let untouched = try minorFaults()
        for _ in 0..<64 { #expect(ipclab_forget_other_cores() == 0, "not kept: nothing to do") }
        #expect(try minorFaults() - untouched < 32)
        // A machine of one core has no other core to forget: what is above is all there is to check.
        guard cores.count >= 2 else { return }
        // This thread only (the test is synchronous: it stays on it), given back its cores after.
        try #require(ipclab_save_cores() == 0)
        try #require(ipclab_keep_to_core(0, cores.last!) == 0)
        defer { _ = ipclab_restore_cores() }
        #expect(try myCores() == [cores.last!])
        // Each call maps 4 MiB: 64 calls that left them mapped would grow the address space by 256 MiB
        // (the regions merge with their neighbours, so it is the size that tells, not the mappings'
        // list). Other suites run meanwhile and map and unmap rings of their own, which moves the size
        // of this process now and then by tens of MiB either way: the median of three rounds of 64 calls
        // is what is checked, which a leak moves by 256 MiB in every round and such a moment in one only.
        let faults = try minorFaults()
        var grown: [Int] = []
        for _ in 0..<3 {
            let before = try addressSpaceKiB()
            for _ in 0..<64 { #expect(ipclab_forget_other_cores() == 0, "errno \(errno)") }
            grown.append(try addressSpaceKiB() - before)
        }
        #expect(grown.sorted()[1] < 64 << 10, "the address space grew by \(grown) KiB over three rounds of 64 calls")
        // And each touched its page (a fault of this thread's): the work was done, not skipped.
        #expect(try minorFaults() - faults >= 3 * 64)
    }
}
