/// One C program of a gallery example: the request's program (``ProgramSpec``, what `POST /api/v1/runs`
/// takes in `programs`) and the file of the repository's `programs/` its source comes from.
public struct GalleryProgram: Sendable, Equatable {
    public var spec: ProgramSpec
    /// The file under the repository's `programs/` that holds the source.
    public var file: String

    /// A program whose source is given later (``ProgramGallery/init(sources:entries:)``).
    public init(name: String, file: String, args: [String] = [], stdin: String = "") {
        self.spec = ProgramSpec(name: name, source: "", args: args, stdin: stdin)
        self.file = file
    }

    /// The program's name in a run: its first process is named so.
    public var name: String { spec.name }

    /// The file's text; empty until the gallery is given its sources.
    public var source: String {
        get { spec.source }
        set { spec.source = newValue }
    }

    /// Writes the object a run request's `programs` array takes.
    public func write(to w: inout JSONWriter) { w.value(spec.json) }
}
