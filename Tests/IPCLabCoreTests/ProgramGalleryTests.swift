import IPCLabCore
import Testing

/// The gallery's data: what `GET /api/v1/programs` lists must be usable as it stands.
@Suite("Program gallery")
struct ProgramGalleryTests {
    static let gallery = ProgramGallery(sources: [:])

    @Test("ids are unique, and every mechanism the issue names has an example")
    func coverage() {
        let ids = Self.gallery.entries.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(Set(Self.gallery.entries.map(\.mechanism)).isSuperset(of: ["pipe", "fifo", "shm", "sem", "mq", "signal", "socket"]))
        #expect(Self.gallery.entries.first { $0.mechanism == "socket" }?.programs.map(\.name) == ["server", "client"])
    }

    @Test("every example's checks decode as a run request's checks", arguments: ProgramGallery.standardEntries.map(\.id))
    func checksDecode(_ id: String) throws {
        let entry = try #require(Self.gallery.entry(id))
        let checks = try Check.decodeList(.array(entry.checks), at: JSONPath("checks"), catalog: .standard)
        #expect(checks.count == entry.checks.count)
        // The programs are valid as a request's (names, bounds), once they have their sources.
        let programs = JSONValue.array(entry.programs.map { p in var p = p.spec; p.source = "int main(void) { return 0; }"; return p.json })
        #expect(try ProgramSpec.decodeList(programs, at: JSONPath("programs")).map(\.name) == entry.programs.map(\.name))
        // Each names only the example's own programs (the first process of each is named after it) or
        // their forks (`filter.1`).
        let names = Set(entry.programs.map(\.name))
        for check in checks {
            switch check.kind {
            case .exit(let p, _, _), .stdout(let p, _):
                #expect(names.contains(String(p.split(separator: ".").first ?? "")), "\(check.id) names \(p)")
            default: break
            }
        }
        #expect(checks.contains { if case .stdout = $0.kind { true } else { false } }, "each example checks what it printed")
    }

    @Test("every observation an example lists is in the catalog")
    func observationsExist() {
        let known = Set(Catalog.standard.experiments.flatMap(\.observations))
        for entry in Self.gallery.entries {
            for o in entry.observations { #expect(known.contains(o), "\(entry.id): \(o)") }
        }
    }

    @Test("an example's default arguments and standard input are listed as a request's `args` and `stdin`")
    func defaultInput() throws {
        let filter = try #require(Self.gallery.entry("c.pipe_filter")?.programs.first)
        #expect(filter.spec.args == ["upper", "2"] && filter.spec.stdin.hasPrefix("hello from stdin\n"))
        #expect(Self.gallery.entry("c.message_queue_args")?.programs.first?.spec.args.count == 3)
        let body = try JSONValue.parse(ProgramGallery(sources: ["pipe_filter.c": "int main(void) { return 0; }\n"]).json())
        guard case .object(let top) = body, case .array(let items)? = top["programs"],
              case .object(let entry)? = items.first(where: { if case .object(let o) = $0 { o["id"] == "c.pipe_filter" } else { false } }),
              case .array(let programs)? = entry["programs"], case .object(let program)? = programs.first else {
            Issue.record("unexpected shape: \(body)")
            return
        }
        #expect(program["args"] == .array(["upper", "2"]))
        #expect(program["stdin"] == .string(filter.spec.stdin))
    }

    @Test("sources are filled in by file name; a missing file is named")
    func sources() throws {
        let g = ProgramGallery(sources: ["fifo.c": "int main(void) { return 0; }\n"])
        #expect(g.entry("c.fifo")?.programs.first?.source == "int main(void) { return 0; }\n")
        #expect(g.missingFiles.contains("pipe_parent_child.c") && !g.missingFiles.contains("fifo.c"))
        let body = try JSONValue.parse(g.json())
        guard case .object(let top) = body, case .array(let items)? = top["programs"],
              case .object(let fifo)? = items.first(where: { if case .object(let o) = $0 { o["id"] == "c.fifo" } else { false } }),
              case .array(let programs)? = fifo["programs"], case .object(let program)? = programs.first else {
            Issue.record("unexpected shape: \(body)")
            return
        }
        #expect(program["language"] == "c" && program["name"] == "fifo" && program["stdin"] == "" && program["args"] == .array([]))
        #expect(Set(fifo.keys) == ["id", "title", "mechanism", "claim", "observations", "checks", "programs"])
    }
}
