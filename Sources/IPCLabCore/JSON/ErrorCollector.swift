/// Gathers the validation errors of one request, so that it is refused with all of them at once
/// (`error.errors`) instead of one per attempt: a reader records what a part of the request got
/// wrong and goes on with the next part (the next step, channel, check or top-level field).
///
/// Within one part (a step, say) only the first error is found: its later fields may depend on
/// the bad one. A loop stops at the first iteration with an error, so one mistake in a loop's
/// body is reported once, not once per iteration.
public struct ErrorCollector {
    /// At most this many errors are reported (`openapi.yaml` states it).
    public static let cap = 100

    public private(set) var errors: [LabError] = []

    public init() {}

    public var isEmpty: Bool { errors.isEmpty }

    /// Records `error` and the errors it carries.
    public mutating func add(_ error: LabError) {
        for e in error.all {
            var e = e
            e.errors = []
            errors.append(e)
        }
    }

    /// Runs `body`; when it throws, records the error and answers nil.
    @discardableResult
    public mutating func attempt<T>(_ body: () throws(LabError) -> T) -> T? {
        do {
            return try body()
        } catch {
            add(error)
            return nil
        }
    }

    /// Throws the first error found, carrying all of them, when there is any.
    public func check() throws(LabError) {
        guard var first = errors.first else { return }
        first.errors = errors.count > 1 ? errors : []
        throw first
    }
}

extension LabError {
    /// The error with its ``errors`` in the order their paths appear in `body` (the request's
    /// bytes), at most ``ErrorCollector/cap`` of them, the first of them as the error itself.
    /// A path missing from the body (a required field left out) sorts at the object that lacks it;
    /// errors at one place keep the order they were found in.
    public func inDocumentOrder(of body: some Collection<UInt8>) -> LabError {
        guard errors.count > 1 else { return self }
        let places = JSONLocations(body)
        let sorted = errors.enumerated().sorted { a, b in
            let (pa, pb) = (places.offset(of: a.element.path), places.offset(of: b.element.path))
            return pa != pb ? pa < pb : a.offset < b.offset
        }.map(\.element).prefix(ErrorCollector.cap)
        var first = sorted.first!
        first.errors = Array(sorted)
        return first
    }
}
