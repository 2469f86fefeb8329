/// A catalog observation applied to any scenario: `{"kind":"observation","id":…,"roles":{…},"params":{…}}`.
///
/// The observation is computed by its own preset's code, on a copy of the trace in which the
/// scenario's processes and channels carry the preset's names (its roles). So the observation
/// reads the student's events exactly as it reads its own preset's.
public struct ObservationBinding: Sendable {
    /// The observation id, e.g. `sem.producer_consumer.all_in_order`.
    public var id: String
    /// The preset that computes it.
    public var preset: any Preset
    /// Role (the preset's name) → the scenario's name. Roles left out keep their own name.
    public var roles: [String: String]
    /// The preset's parameters the observation reads (e.g. `items`); nil: the run's own
    /// parameters when the run is of that preset, else the preset's defaults.
    public var parameters: Parameters?

    /// The process and channel names an observation of `preset` reads: those of the scenario its
    /// defaults expand to. Published by `GET /api/v1/experiments` as each observation's roles.
    public static func roles(of preset: any Preset) -> (processes: [String], channels: [String]) {
        let s = preset.scenario(.defaults(for: preset.experiment))
        return (s.processes.map(\.name), s.channels.map(\.name))
    }

    /// The preset whose experiment lists the observation `id`.
    public static func preset(observing id: String, in catalog: Catalog) -> (any Preset)? {
        catalog.presets.first { $0.experiment.observations.contains(id) }
    }

    /// Reads `observation` (the catalog id; when absent, the check's own `id` is it), `roles`, `params`.
    static func decode(_ r: inout JSONObjectReader, catalog: Catalog) throws(LabError) -> ObservationBinding {
        let field = r.has("observation") ? "observation" : "id"
        let id = try r.requiredString(field)
        guard let preset = preset(observing: id, in: catalog) else {
            throw r.fail(field, "no catalog observation \"\(id)\"; GET /api/v1/experiments lists each experiment's observations")
        }
        let known = roles(of: preset)
        var roles: [String: String] = [:]
        if let value = r.value("roles") {
            var rr = try JSONObjectReader(value, at: r.path.key("roles"), code: .invalidRequest)
            guard case .object(let fields) = value else { throw r.fail("roles", "must be an object") }
            for role in fields.keys.sorted() {
                guard known.processes.contains(role) || known.channels.contains(role) else {
                    let all = (known.processes + known.channels).map { "\"\($0)\"" }.joined(separator: ", ")
                    throw rr.fail(role, "\(preset.experiment.id) has no role \"\(role)\"; its roles are \(all)")
                }
                guard let name = try rr.string(role), !name.isEmpty else { throw rr.fail(role, "must be a process or channel name") }
                roles[role] = name
            }
            try rr.finish()
        }
        var parameters: Parameters?
        if let params = r.value("params") {
            do {
                let p = try Parameters.decode(params, for: preset.experiment)
                try preset.validate(p)
                parameters = p
            } catch {
                var e = error
                let prefix = r.path.description
                e.path = e.path.map { prefix.isEmpty ? $0 : prefix + "." + $0 } ?? r.path.key("params").description
                throw e
            }
        }
        return ObservationBinding(id: id, preset: preset, roles: roles, parameters: parameters)
    }

    /// Computes the observation on `trace`. `run` is the run's own preset and parameters, if any.
    func evaluate(_ trace: Trace, run: (preset: String, parameters: Parameters)?) -> (holds: Bool, evidence: [Int], message: String) {
        switch observation(on: trace, run: run) {
        case .success(let o): (o.holds, o.evidence, o.detail)
        case .failure(let why): (false, [], why.message)
        }
    }

    /// Why an observation could not be computed on a trace.
    struct Unbound: Error { var message: String }

    /// The preset's observation computed on `trace` with the roles bound (its claim, and its detail
    /// saying the binding), or why it could not be. A role may be bound to any process of the trace
    /// (a C program's forks included) and any channel its events name (a program's `pipe1`).
    func observation(on trace: Trace, run: (preset: String, parameters: Parameters)?) -> Result<Observation, Unbound> {
        let known = Self.roles(of: preset)
        let processNames = Set(trace.scenario.processes.map(\.name)).union(trace.processes.map(\.name))
        let channelNames = Set(trace.scenario.channels.map(\.name)).union(trace.events.compactMap(\.channel))
        // A role bound to a name the trace lacks: the check fails and says so.
        for role in roles.keys.sorted() {
            let name = roles[role]!
            let isProcess = known.processes.contains(role)
            if isProcess ? !processNames.contains(name) : !channelNames.contains(name) {
                return .failure(Unbound(message: "the scenario has no \(isProcess ? "process" : "channel") \"\(name)\" (bound to the role \(role))"))
            }
        }
        var rename: [String: String] = [:]
        for (role, name) in roles { rename[name] = role }
        // A name of the trace that is also a role bound elsewhere steps aside.
        let boundRoles = Set(roles.keys)
        for name in processNames.union(channelNames) where rename[name] == nil && boundRoles.contains(name) {
            rename[name] = name + " (unbound)"
        }
        let parameters = self.parameters
            ?? (run?.preset == preset.experiment.id ? run?.parameters : nil)
            ?? Parameters.defaults(for: preset.experiment)
        let renamed = trace.renamed(rename)
        guard var observation = preset.observe(renamed, parameters).first(where: { $0.id == id }) else {
            return .failure(Unbound(message: "\(preset.experiment.id) did not compute \(id) on this trace"))
        }
        let binding = roles.filter { $0.key != $0.value }.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }
        if !binding.isEmpty { observation.detail += " (roles: \(binding.joined(separator: ", ")))" }
        return .success(observation)
    }
}
