extension Experiment {
    /// Writes the catalog entry; with `scenario`, also the scenario it expands to; with `roles`,
    /// each observation's roles (the process and channel names a check may bind).
    public func write(to w: inout JSONWriter, scenario: Scenario? = nil,
                      roles: (processes: [String], channels: [String])? = nil) {
        w.object { w in
            w.field("id", id)
            w.field("mechanism", mechanism)
            w.field("title", title)
            w.field("claim", claim)
            w.field("seed", seed)
            w.key("parameters")
            w.array { w in
                for p in parameters {
                    w.object { w in
                        w.field("name", p.name)
                        w.field("type", p.kind.rawValue)
                        w.field("description", p.description)
                        w.field("default", p.defaultValue)
                        w.field("minimum", p.range?.lowerBound)
                        w.field("maximum", p.range?.upperBound)
                        if p.kind == .integerArray || p.kind == .stringArray {
                            w.field("min_items", p.count?.lowerBound)
                            w.field("max_items", p.count?.upperBound)
                        }
                        if let choices = p.choices {
                            w.key("choices"); w.array { w in for c in choices { w.value(c) } }
                        }
                        if p.kind == .string {
                            w.field("max_length", p.count?.upperBound)
                        }
                    }
                }
            }
            w.field("default_wall_ms", defaultWallMs)
            w.key("observations"); w.array { w in for o in observations { w.value(o) } }
            w.key("corrections")
            w.array { w in
                for c in corrections {
                    w.object { w in
                        w.field("note", c.note)
                        w.field("says", c.says)
                        w.field("kernel", c.kernel)
                        w.field("observation", c.observation)
                    }
                }
            }
            if let roles { writeObservationRoles(roles, to: &w) }
            if let scenario { w.field("scenario", scenario.json) }
        }
    }
}

extension Catalog {
    /// `{"experiments": [...]}`, the body of `GET /api/v1/experiments`.
    public func json() -> [UInt8] {
        var w = JSONWriter()
        w.object { w in
            w.key("experiments")
            w.array { w in for p in presets { p.experiment.write(to: &w, roles: ObservationBinding.roles(of: p)) } }
        }
        return w.bytes
    }

    /// One entry with the scenario its defaults expand to, for `GET /api/v1/experiments/{id}`.
    public func json(for id: String) -> [UInt8]? {
        guard let preset = preset(id) else { return nil }
        var w = JSONWriter()
        preset.experiment.write(to: &w, scenario: preset.scenario(.defaults(for: preset.experiment)),
                                roles: ObservationBinding.roles(of: preset))
        return w.bytes
    }
}
