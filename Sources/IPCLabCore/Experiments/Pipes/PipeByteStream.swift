/// `pipe.byte_stream` — writes of sizes W are read as sizes R: a pipe keeps no message boundaries.
public struct PipeByteStream: Preset {
    public init() {}

    /// The writer finishes before the reader starts, so every write must fit in the pipe at once.
    /// A pipe's default capacity is 16 page-sized slots (65536 bytes on 4096-byte pages), and the
    /// kernel (pipe_write) puts a write's remainder (size mod 4096) into the last page only if it fits
    /// there whole; the rest takes fresh pages. So 20 writes of 2049 bytes need 20 slots, not 41,000 bytes.
    static let slots = 16
    static let page = 4096

    /// The slots `sizes` take, written in order into an empty pipe, as the kernel packs them.
    public static func slotsNeeded(_ sizes: [Int]) -> Int {
        var used = 0, lastFill = 0
        for w in sizes {
            var left = w
            let remainder = w % page
            if remainder > 0 && used > 0 && lastFill + remainder <= page {
                lastFill += remainder
                left -= remainder
            }
            while left > 0 {
                let n = min(page, left)
                used += 1
                lastFill = n
                left -= n
            }
        }
        return used
    }

    public let experiment = Experiment(
        id: "pipe.byte_stream",
        mechanism: "pipe",
        title: "A pipe is a byte stream",
        claim: "A pipe keeps no message boundaries: bytes written in several writes can be read in any sizes the reader asks for.",
        seed: "004",
        parameters: [
            Parameter("write_sizes", .integerArray, "Sizes of the writer's writes, in order. They must all fit in the pipe at once (the writer finishes before the reader starts): 16 page-sized slots, where a write shares the last page only if it fits there whole (at most 65536 bytes in all).",
                      default: [10, 10, 10, 10], range: 1...65_536, count: 1...64),
            Parameter("read_sizes", .integerArray, "Sizes the reader asks for, in order.",
                      default: [5, 15, 15, 5], range: 1...65_536, count: 1...64),
        ],
        observations: ["pipe.byte_stream.no_boundaries", "pipe.byte_stream.bytes_conserved"]
    )

    public func validate(_ params: Parameters) throws(LabError) {
        let sizes = params.ints("write_sizes")
        let total = sizes.reduce(0, +)
        let needed = Self.slotsNeeded(sizes)
        if needed > Self.slots {
            throw LabError(.invalidParameter,
                           "the writes (\(total) bytes) need \(needed) page-sized slots of the pipe; it has \(Self.slots) (a write shares the last page only if it fits there whole), and the writer finishes before the reader starts, so it would block for ever",
                           path: "params.write_sizes")
        }
    }

    public func scenario(_ params: Parameters) -> Scenario {
        Scenario(
            channels: [.pipe("p")],
            processes: [
                ProcessSpec(name: "reader", steps: [.close(channel: "p", end: .write), .wait(process: "writer")]
                    + params.ints("read_sizes").map { .read(channel: "p", size: $0, repeat: 1) }),
                ProcessSpec(name: "writer", steps: [.close(channel: "p", end: .read)]
                    + params.ints("write_sizes").map { .write(channel: "p", data: .size($0), repeat: 1) }
                    + [.exit(code: 0)]),
            ])
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let writes = trace.calls("write", by: "writer", on: "p").filter { ($0.result ?? 0) > 0 }
        let reads = trace.calls("read", by: "reader", on: "p").filter { ($0.result ?? 0) > 0 }
        let wrote = writes.compactMap(\.result)
        let got = reads.compactMap(\.result)

        // A read that spans a boundary between writes, or ends short of one, shows the boundary is not kept.
        let crossing = StreamBoundaries.crossing(sent: wrote, received: reads)
        let total = wrote.reduce(0, +)
        let read = got.reduce(0, +)
        func list(_ xs: [Int64]) -> String { xs.map(String.init).joined(separator: ", ") }
        return [
            Observation(
                id: "pipe.byte_stream.no_boundaries",
                claim: "A pipe keeps no message boundaries: the reader gets bytes in the sizes it asks for, not in the sizes they were written.",
                holds: !crossing.isEmpty, evidence: (writes + reads).seqs,
                detail: got.isEmpty
                    ? "\(wrote.count) writes of \(list(wrote)) bytes were made, and the reader got no bytes"
                    : crossing.isEmpty
                    ? "\(wrote.count) writes of \(list(wrote)) bytes were read as \(list(got)): every read matched whole writes, so this run does not show a boundary being lost"
                    : "\(wrote.count) writes of \(list(wrote)) bytes were read as \(list(got)) bytes: \(crossing.count) read(s) took bytes across or inside a write's boundary"),
            Observation(
                id: "pipe.byte_stream.bytes_conserved",
                claim: "Every byte written into the pipe is read out of it, once.",
                holds: total == read, evidence: (writes + reads).seqs,
                detail: "\(total) bytes written, \(read) bytes read"),
        ]
    }
}
