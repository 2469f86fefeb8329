extension LabError {
    /// The error as the stream lines carry it: `{"code", "message", "path"}` (`path` null when none).
    func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("code", code.rawValue)
            w.field("message", message)
            w.field("path", path)
        }
    }
}
