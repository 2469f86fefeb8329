/// Typed access to an event's arguments and payload, for observations of every mechanism.
extension TraceEvent {
    /// An integer argument.
    public func int(_ name: ArgumentName) -> Int64? {
        if case .integer(let i)? = arg(name) { return i }
        return nil
    }

    /// A string argument (addresses are hex strings).
    public func string(_ name: ArgumentName) -> String? {
        if case .string(let s)? = arg(name) { return s }
        return nil
    }

    /// The bytes the call moved, up to the first NUL, as text (what `printf("%s")` would show).
    public var cString: String? {
        payload.map { String(decoding: $0.preview.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// How long the call took, in milliseconds, for a sentence.
    public var tookMs: String {
        String(format: "%.1f ms", Double((endNs ?? tNs) - tNs) / 1e6)
    }
}
