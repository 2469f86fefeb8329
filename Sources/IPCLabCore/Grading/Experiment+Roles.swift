/// `observation_roles` in the catalog: what an observation check's `roles` may bind.
extension Experiment {
    /// `{"<observation id>": {"processes": […], "channels": […]}}`: the names of the preset's default
    /// scenario, which each of its observations reads.
    func writeObservationRoles(_ roles: (processes: [String], channels: [String]), to w: inout JSONWriter) {
        w.key("observation_roles")
        w.object { w in
            for o in observations {
                w.key(o)
                w.object { w in
                    w.key("processes"); w.array { w in for p in roles.processes { w.value(p) } }
                    w.key("channels"); w.array { w in for c in roles.channels { w.value(c) } }
                }
            }
        }
    }
}
