extension Scenario {
    /// Reads and validates a scenario, expanding its loops (``StepList``). Every error names the path
    /// of the bad field, e.g. `scenario.processes[1].steps[3].size: must be 1…1048576, not 0`, and all
    /// of them are reported at once (``LabError/errors``): one per channel, process field or step.
    public static func decode(_ value: JSONValue, at path: JSONPath = JSONPath("scenario")) throws(LabError) -> Scenario {
        var errors = ErrorCollector()
        var reader = try JSONObjectReader(value, at: path, code: .invalidScenario)
        let channelValues = errors.attempt { () throws(LabError) -> [JSONValue] in try reader.array("channels") ?? [] } ?? []
        let processValues = errors.attempt { () throws(LabError) -> [JSONValue] in
            guard let values = try reader.array("processes") else {
                throw reader.fail("processes", "is required: a list of 1…\(Bounds.processes.upperBound) processes")
            }
            guard Bounds.processes.contains(values.count) else {
                throw reader.fail("processes", "must have 1…\(Bounds.processes.upperBound) processes, not \(values.count)")
            }
            return values
        } ?? []
        errors.attempt { () throws(LabError) in try reader.finish() }
        if !Bounds.channels.contains(channelValues.count) {
            errors.add(reader.fail("channels", "must have at most \(Bounds.channels.upperBound) channels"))
        }

        var channels: [Channel] = []
        for (i, item) in channelValues.prefix(Bounds.channels.upperBound).enumerated() {
            errors.attempt { () throws(LabError) in
                let channel = try Channel.decode(item, at: path.key("channels").index(i))
                if channels.contains(where: { $0.name == channel.name }) {
                    throw LabError(.invalidScenario, "another channel is already named \"\(channel.name)\"",
                                   path: path.key("channels").index(i).key("name").description)
                }
                if let p = channel.path, channels.contains(where: { $0.path == p }) {
                    // Two channels at one path would be one kernel object under two names.
                    throw LabError(.invalidScenario, "another FIFO already uses \"\(p)\"",
                                   path: path.key("channels").index(i).key("path").description)
                }
                if case .sharedMemory(let region) = channel.spec, let other = channels.lazy.compactMap({ c -> SharedMemoryChannel? in
                    guard case .sharedMemory(let o) = c.spec else { return nil }
                    return o
                }).first(where: { $0.sameObject(as: region) && $0.size != region.size }) {
                    // One kernel object has one size: the second channel would map past its end (SIGBUS).
                    throw LabError(.invalidScenario, "another shared_memory channel names the same object (\(region.objectName)) with size "
                                   + "\(other.size): one object has one size", path: path.key("channels").index(i).key("size").description)
                }
                channels.append(channel)
            }
        }

        var processes: [ProcessSpec] = []
        // Text with expressions, all processes together (Bounds.expandedTextBytes).
        var expandedTextBytes = 0
        var everyStepRead = true
        for (i, item) in processValues.enumerated() {
            let at = path.key("processes").index(i)
            let read = errors.attempt { () throws(LabError) -> (name: String, steps: [JSONValue]) in
                var p = try JSONObjectReader(item, at: at, code: .invalidScenario)
                let name = try p.requiredString("name")
                try Names.check(name, at: at.key("name"))
                if processes.contains(where: { $0.name == name }) {
                    throw LabError(.invalidScenario, "another process is already named \"\(name)\"", path: at.key("name").description)
                }
                let stepValues = try p.array("steps") ?? []
                try p.finish()
                guard Bounds.steps.contains(stepValues.count) else {
                    throw LabError(.invalidScenario, "must have at most \(Bounds.steps.upperBound) steps (a loop repeats steps)",
                                   path: at.key("steps").description)
                }
                return (name, stepValues)
            }
            guard let read else { continue }
            var list = StepList(expandedTextBytes: expandedTextBytes)
            list.read(read.steps, at: at.key("steps"), relative: "steps", scope: LoopScope(), errors: &errors)
            expandedTextBytes = list.expandedTextBytes
            everyStepRead = everyStepRead && list.complete
            let loops = list.hasLoops ? ProcessSpec.Loops(origins: list.origins, written: read.steps) : nil
            processes.append(ProcessSpec(name: read.name, steps: list.steps, loops: loops))
        }

        let scenario = Scenario(channels: channels, processes: processes)
        // A step naming a channel or process whose own declaration was refused would only repeat that error;
        // so would a family's checks across steps (a receive's send) when one of those steps was refused.
        if errors.isEmpty || (channels.count == channelValues.count && processes.count == processValues.count) {
            scenario.checkReferences(at: path, acrossSteps: everyStepRead, errors: &errors)
        }
        try errors.check()
        return scenario
    }

    /// Checks that steps name channels that exist, then lets each step's family check the rest — only
    /// when every step was read (`acrossSteps`): a family's check may look for another step.
    private func checkReferences(at path: JSONPath, acrossSteps: Bool, errors: inout ErrorCollector) {
        for (i, process) in processes.enumerated() {
            for (j, step) in process.steps.enumerated() {
                let at = path.key("processes").index(i).key(process.loops?.origins[j].path ?? "steps[\(j)]")
                do throws(LabError) {
                    if let name = step.channel, channel(named: name) == nil {
                        let known = channels.map(\.name).joined(separator: ", ")
                        throw LabError(.invalidScenario, "no channel named \"\(name)\" (channels: \(known.isEmpty ? "none" : known))",
                                       path: at.key("channel").description)
                    }
                    if acrossSteps { try step.family.check(in: self, process: i, step: j, at: at) }
                } catch {
                    guard let origin = process.loops?.origins[j] else { errors.add(error); continue }
                    // A loop's step fails the same way in each iteration: name the first, once.
                    let written = "\(at)"
                    if errors.errors.contains(where: { $0.path?.hasPrefix(written) == true }) { continue }
                    var e = error
                    e.errors = []
                    if !origin.iteration.indexes.isEmpty { e.message += " (in the iteration \(origin.iteration))" }
                    errors.add(e)
                }
            }
        }
        // A FIFO that no one makes before fork must be made by some process's mkfifo step.
        for (i, c) in channels.enumerated() {
            guard case .pipe(let fifo) = c.spec, !fifo.madeBeforeFork else { continue }
            let made = processes.contains { $0.steps.contains { $0 == .pipe(.mkfifo(channel: c.name)) } }
            if !made {
                errors.add(LabError(.invalidScenario, "no process makes \"\(c.name)\": give one an {\"op\": \"mkfifo\", \"channel\": \"\(c.name)\"} step, or leave before_fork out",
                                    path: path.key("channels").index(i).key("before_fork").description))
            }
        }
    }
}

/// Rules for FIFO paths: they must stay inside the run's private `/tmp`.
enum FIFOPath {
    static func check(_ p: String, at path: JSONPath) throws(LabError) {
        func bad(_ why: String) -> LabError { LabError(.invalidScenario, why, path: path.description) }
        guard (1...100).contains(p.utf8.count) else { throw bad("must be 1…100 bytes") }
        guard p.hasPrefix("/tmp/"), p.count > 5 else { throw bad("must be a file under /tmp/ (the run's private tmpfs)") }
        let parts = p.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard !parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            throw bad("must not contain \"..\", \".\" or \"//\": it may not leave /tmp")
        }
        guard p.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { throw bad("must be printable ASCII without spaces") }
    }
}

/// Rules for channel and process names.
enum Names {
    static func check(_ name: String, at path: JSONPath) throws(LabError) {
        let bytes = Array(name.utf8)
        let ok = (1...32).contains(bytes.count)
            && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0])
            && bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
        guard ok else {
            throw LabError(.invalidScenario, "must be 1…32 characters of a-z, 0-9 and _, starting with a letter, not \"\(name)\"",
                           path: path.description)
        }
    }
}
