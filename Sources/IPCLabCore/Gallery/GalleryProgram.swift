/// One C program of a gallery example: what `POST /api/v1/runs` takes in `programs`
/// (`{"name","language","source","args","stdin"}`), with the file of `programs/` it comes from.
public struct GalleryProgram: Sendable, Equatable {
    /// The program's name in a run: its first process is named so.
    public var name: String
    /// The file under the repository's `programs/` that holds the source.
    public var file: String
    public var args: [String]
    public var stdin: String
    /// The file's text; empty until the gallery is given its sources.
    public var source: String

    public init(name: String, file: String, args: [String] = [], stdin: String = "", source: String = "") {
        self.name = name
        self.file = file
        self.args = args
        self.stdin = stdin
        self.source = source
    }

    /// Writes the object a run request's `programs` array takes.
    public func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("name", name)
            w.field("language", "c")
            w.field("source", source)
            w.key("args"); w.array { w in for a in args { w.value(a) } }
            w.field("stdin", stdin)
        }
    }
}
