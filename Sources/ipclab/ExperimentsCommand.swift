import ArgumentParser
import IPCLabCore

/// `ipclab experiments`: the catalog.
struct ExperimentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments",
        abstract: "List the preset experiments, with their parameters and the claims they show."
    )

    @Flag(help: "Print the catalog as JSON (the body of GET /api/v1/experiments).")
    var json = false

    func run() throws {
        let catalog = Catalog.standard
        if json {
            print(String(decoding: catalog.json(), as: UTF8.self))
            return
        }
        for e in catalog.experiments {
            print("\(e.id)  [\(e.mechanism)]  \(e.title)")
            print("    \(e.claim)")
            for p in e.parameters {
                var w = JSONWriter()
                w.value(p.defaultValue)
                let bounds = p.range.map { " (\($0.lowerBound)…\($0.upperBound))" } ?? ""
                print("    --param \(p.name)=…  \(p.kind.rawValue)\(bounds), default \(w.string): \(p.description)")
            }
            print("    observations: \(e.observations.joined(separator: ", "))")
            print("")
        }
    }
}
