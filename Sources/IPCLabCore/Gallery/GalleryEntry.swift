/// One example of the program gallery: C programs written for the lab that run together to `ok`,
/// the claim their run shows, the catalog observations its trace carries, and checks a
/// grader can post with them unchanged.
public struct GalleryEntry: Sendable {
    /// Stable, e.g. `c.pipe_parent_child`.
    public var id: String
    public var title: String
    /// The catalog's mechanism words (`pipe`, `fifo`, `shm`, `sem`, `mq`, `signal`, `socket`).
    public var mechanism: String
    /// What a run shows, in one sentence.
    public var claim: String
    /// The catalog observations the run carries (``ProgramObservations`` finds their shape in its events).
    public var observations: [String]
    /// Checks in their request form (`{"id","kind",…}`), valid for `POST /api/v1/runs`'s `checks`.
    public var checks: [JSONValue]
    /// Started together in one run.
    public var programs: [GalleryProgram]

    public init(id: String, title: String, mechanism: String, claim: String, observations: [String],
                checks: [JSONValue], programs: [GalleryProgram]) {
        self.id = id
        self.title = title
        self.mechanism = mechanism
        self.claim = claim
        self.observations = observations
        self.checks = checks
        self.programs = programs
    }

    /// Writes the entry as `GET /api/v1/programs` lists it.
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("id", id)
            w.field("title", title)
            w.field("mechanism", mechanism)
            w.field("claim", claim)
            w.key("observations"); w.array { w in for o in observations { w.value(o) } }
            w.key("checks"); w.array { w in for c in checks { w.value(c) } }
            w.key("programs"); w.array { w in for p in programs { p.write(to: &w) } }
        }
    }
}
