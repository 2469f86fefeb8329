extension Scenario {
    /// The scenario in the JSON language it was written in (what a trace carries): loops as written.
    public var json: JSONValue {
        .object([
            "channels": .array(channels.map(\.json)),
            "processes": .array(processes.map { p in
                .object(["name": .string(p.name), "steps": .array(p.loops?.written ?? p.steps.map(\.json))])
            }),
        ])
    }
}

