/// What a run does: the channels it creates and the processes that use them.
///
/// The first process creates every channel, then forks the others in order, so it
/// is the parent of all of them (as in the course's `pipe.c`). Each process then
/// runs its steps; every step makes real system calls.
public struct Scenario: Sendable, Equatable {
    public var channels: [Channel]
    public var processes: [ProcessSpec]

    public init(channels: [Channel], processes: [ProcessSpec]) {
        self.channels = channels
        self.processes = processes
    }

    /// Bounds of the language, also stated in `openapi.yaml`.
    public enum Bounds {
        public static let processes = 1...8
        public static let channels = 0...16
        public static let steps = 0...256
        public static let bytes = 1...1_048_576
        public static let repeats = 1...4096
        public static let sleepMs = 0...10_000
        public static let pipeSize = 4096...1_048_576
        public static let exitCode = 0...255
        public static let textBytes = 1...65_536
    }

    /// The channel with this name, if declared.
    public func channel(named name: String) -> Channel? {
        channels.first { $0.name == name }
    }

    /// Index of the process with this name, if declared.
    public func processIndex(named name: String) -> Int? {
        processes.firstIndex { $0.name == name }
    }
}

/// A named process and the steps it runs, in order.
public struct ProcessSpec: Sendable, Equatable {
    public var name: String
    public var steps: [Step]

    public init(name: String, steps: [Step]) {
        self.name = name
        self.steps = steps
    }
}

/// Which end of a pipe or FIFO.
public enum PipeEnd: String, Sendable, CaseIterable {
    case read
    case write
}
