import IPCLabCore

/// What the run's init reads from the ring before the run starts: the scenario's JSON, with the
/// perturbed schedule (when there is one) under a `schedule` key of its own.
enum RunPlan {
    /// The plan's bytes.
    static func encode(_ scenario: Scenario, schedule: RunSchedule?) -> [UInt8] {
        // Without a schedule the plan is the scenario's text, which the trace carries too.
        guard let schedule, schedule.perturbs else { return scenario.compactJSON }
        var value = scenario.json
        if case .object(var fields) = value {
            fields["schedule"] = schedule.json
            value = .object(fields)
        }
        var w = JSONWriter()
        w.value(value)
        return w.bytes
    }

    /// The scenario and schedule of a plan (parsed once by the run's init), or nil when it cannot be read.
    static func decode(_ plan: JSONValue) -> (Scenario, RunSchedule?)? {
        var json = plan
        var schedule: RunSchedule?
        if case .object(var fields) = json, let s = fields.removeValue(forKey: "schedule") {
            guard let decoded = try? RunSchedule.decode(s, at: JSONPath("schedule")) else { return nil }
            schedule = decoded
            json = .object(fields)
        }
        guard let scenario = try? Scenario.decode(json) else { return nil }
        return (scenario, schedule)
    }
}

/// The schedule of the run this process belongs to (set by the run's init before it forks).
nonisolated(unsafe) var runSchedule: RunSchedule?
