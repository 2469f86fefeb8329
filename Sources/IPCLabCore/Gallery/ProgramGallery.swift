/// The gallery of example C programs (`GET /api/v1/programs`): one starting point per mechanism.
///
/// The entries (claims, observations, checks) are data here; the sources are the files of the
/// repository's `programs/`, which the layer that owns C (CIPCLab's `#embed`) hands in, so this
/// core stays free of C and of files.
public struct ProgramGallery: Sendable {
    public let entries: [GalleryEntry]

    /// The standard entries with each program's `source` taken from `sources` (file name → text).
    /// A file missing from `sources` leaves its program's source empty (`missingFiles` names it).
    public init(sources: [String: String], entries: [GalleryEntry] = ProgramGallery.standardEntries) {
        self.entries = entries.map { entry in
            var entry = entry
            entry.programs = entry.programs.map { p in
                var p = p
                p.source = sources[p.file] ?? ""
                return p
            }
            return entry
        }
    }

    /// The program files an entry names that were not given.
    public var missingFiles: [String] {
        entries.flatMap(\.programs).filter(\.source.isEmpty).map(\.file)
    }

    public func entry(_ id: String) -> GalleryEntry? {
        entries.first { $0.id == id }
    }

    /// `{"programs": [...]}`, the body of `GET /api/v1/programs`.
    public func json() -> [UInt8] {
        var w = JSONWriter()
        w.object { w in
            w.key("programs")
            w.array { w in for e in entries { e.write(to: &w) } }
        }
        return w.bytes
    }
}
