import IPCLabCore

/// `?fields=run,checks,observations` on `POST /api/v1/runs` (and a grade's `failing_trace`):
/// less to read, the rest of the trace left out (``TraceFields``).
extension LabAPI {
    /// Checks `fields`: a list of a trace's top-level fields, with the JSON answer only (not
    /// `format=text`/`chrome`, not a stream). Nil when absent.
    static func traceFields(_ request: HTTPRequest, format: String = "json") -> Result<TraceFields?, APIError> {
        guard let text = request.query["fields"] else { return .success(nil) }
        guard format == "json", !wantsNDJSON(request) else {
            return .failure(APIError(.invalidParameter, "fields selects parts of the JSON answer; leave it out with format=\(format) or a stream",
                                     path: "fields"))
        }
        do {
            return .success(try TraceFields(text))
        } catch {
            return .failure(APIError(error))
        }
    }

    /// The checked `fields` of a request (nil when absent or bad: those were refused already).
    static func fields(of request: HTTPRequest) -> TraceFields? {
        if case .success(let fields) = traceFields(request) { return fields }
        return nil
    }
}
