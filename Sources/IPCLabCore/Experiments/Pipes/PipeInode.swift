/// `pipe.inode` — the notes' picture of a pipe: two file structures (one opened for reading, one for
/// writing) pointing at the same inode. fstat of both ends shows one inode; F_GETFL two open files.
public struct PipeInode: Preset {
    public init() {}

    public let experiment = Experiment(
        id: "pipe.inode",
        mechanism: "pipe",
        title: "A pipe is two open files on one inode",
        claim: "pipe() gives two descriptors for two open files — one opened for reading, one for writing — that point at the same inode (a FIFO in the kernel's pipefs): fstat of either end reports the same st_dev and st_ino, and a child that inherits them reaches that inode too.",
        seed: "001",
        parameters: [
            Parameter("child", .boolean, "Whether a forked child also fstats the ends it inherited.", default: true),
        ],
        observations: ["pipe.inode.one_inode", "pipe.inode.two_open_files"]
    )

    public func scenario(_ params: Parameters) -> Scenario {
        let both: [Step] = [.fstat(channel: "p", end: .read), .fstat(channel: "p", end: .write)]
        var processes = [ProcessSpec(name: "parent", steps: both)]
        if params.bool("child") ?? true {
            processes[0].steps.append(.wait(process: "child"))
            processes.append(ProcessSpec(name: "child", steps: both))
        }
        return Scenario(channels: [.pipe("p")], processes: processes)
    }

    public func observe(_ trace: Trace, _ params: Parameters) -> [Observation] {
        let stats = trace.calls("fstat", on: "p").filter { $0.result == 0 }
        let inodes = Set(stats.compactMap { s in s.int("st_ino").map { "\(s.int("st_dev") ?? -1):\($0)" } })
        let fifo = !stats.isEmpty && stats.allSatisfy { $0.string("type") == "S_IFIFO" }
        let processes = Set(stats.map(\.process))
        let expected = (params.bool("child") ?? true) ? 4 : 2
        let one = stats.count == expected && inodes.count == 1 && fifo
        let parent = stats.filter { $0.process == "parent" }
        let read = parent.first { $0.string("end") == "read" }
        let write = parent.first { $0.string("end") == "write" }
        let two = read != nil && write != nil && read?.int("fd") != write?.int("fd")
            && read?.string("open_flags") == "O_RDONLY" && write?.string("open_flags") == "O_WRONLY"
        return [
            Observation(
                id: "pipe.inode.one_inode",
                claim: "Both ends of a pipe reach one inode: fstat reports the same st_dev and st_ino for each, of type FIFO.",
                holds: one, evidence: stats.seqs,
                detail: one
                    ? "\(stats.count) fstat calls (\(processes.sorted().joined(separator: " and "))) on both ends: all st_dev:st_ino \(inodes.first ?? "?"), S_IFIFO"
                    : "\(stats.count) of \(expected) fstat calls succeeded; inodes seen: \(inodes.sorted().joined(separator: ", ")); all FIFO: \(fifo)"),
            Observation(
                id: "pipe.inode.two_open_files",
                claim: "The two descriptors are two open files: one opened for reading (O_RDONLY), one for writing (O_WRONLY).",
                holds: two, evidence: [read, write].compactMap { $0?.seq },
                detail: "read end fd \(read?.int("fd").map(String.init) ?? "?") opened \(read?.string("open_flags") ?? "?"), write end fd \(write?.int("fd").map(String.init) ?? "?") opened \(write?.string("open_flags") ?? "?")"),
        ]
    }
}
