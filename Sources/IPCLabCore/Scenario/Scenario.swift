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
        /// Steps of one list as written (a process's `steps`, a loop's `do`).
        public static let steps = 0...256
        /// Steps of one process once its loops are expanded.
        public static let expandedSteps = 0...4096
        /// How many times a `loop` step runs its `do`.
        public static let loopTimes = 1...4096
        public static let bytes = 1...1_048_576
        public static let repeats = 1...4096
        public static let sleepMs = 0...10_000
        public static let pipeSize = 4096...1_048_576
        public static let exitCode = 0...255
        public static let textBytes = 1...65_536
        /// Bytes of step text with `{expressions}` in it, summed over every step of the scenario once its
        /// loops are expanded (each iteration gets a copy with its own values): a loop of 64 KiB texts
        /// would otherwise expand to gigabytes in the server before any check of the steps.
        public static let expandedTextBytes = 0...4_194_304
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
    /// The steps it runs, loops expanded.
    public var steps: [Step]
    /// When the process was written with loops: where each of ``steps`` is written and in which
    /// iteration (parallel to ``steps``), and the steps as written, which the scenario's JSON shows.
    public var loops: Loops?

    /// Where a process's loops put its steps.
    public struct Loops: Sendable, Equatable {
        /// For each step run, where it is written and which iteration made it.
        public var origins: [StepOrigin]
        /// The `steps` array as written, loops and all.
        public var written: [JSONValue]
    }

    public init(name: String, steps: [Step], loops: Loops? = nil) {
        self.name = name
        self.steps = steps
        self.loops = loops
    }
}

/// Where a step that a loop made is written (`steps[2].do[0]`, relative to its process) and the
/// loop indexes of its iteration (`i=3`): what lets a reader of a trace find which iteration did what.
public final class StepOrigin: Sendable, Equatable {
    // A class: every event of a process written with loops points at its step's origin, and a
    // trace may hold 262,144 events, so an event carries one reference (8 bytes), not the path
    // and the indexes inline.
    public let path: String
    public let iteration: LoopScope

    public init(path: String, iteration: LoopScope) {
        self.path = path
        self.iteration = iteration
    }

    public static func == (a: StepOrigin, b: StepOrigin) -> Bool {
        a.path == b.path && a.iteration == b.iteration
    }
}

/// Which end of a pipe or FIFO.
public enum PipeEnd: String, Sendable, CaseIterable {
    case read
    case write
}
