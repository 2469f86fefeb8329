import IPCLabCore
import Testing

@testable import IPCLabHTTP

@Suite("APIError renders the contract's error body")
struct APIErrorTests {
    @Test("code, escaped message and path, in that order; status from the code")
    func rendering() {
        let error = APIError(.invalidScenario, "bad \"size\"\n\u{1}", path: "scenario.processes[1].steps[3].size")
        #expect(error.status == 400)
        #expect(String(decoding: error.jsonBody, as: UTF8.self)
            == #"{"error":{"code":"invalid_scenario","message":"bad \"size\"\n\u0001","path":"scenario.processes[1].steps[3].size","#
            + #""errors":[{"code":"invalid_scenario","message":"bad \"size\"\n\u0001","path":"scenario.processes[1].steps[3].size"}]}}"#)
        let response = APIError.methodNotAllowed("PUT", allowed: ["GET", "HEAD"]).response
        #expect(response.status == .methodNotAllowed)
        #expect(response.header("allow") == "GET, HEAD")
        #expect(response.contentType == "application/json; charset=utf-8")
        #expect(String(decoding: APIError.notFound(path: "/x").jsonBody, as: UTF8.self).hasSuffix(#""path":null}}"#))
    }

    @Test("a request's errors all come in `errors`, the first being the error itself")
    func everyError() {
        var lab = LabError(.invalidScenario, "no channel named \"x\"", path: "scenario.processes[0].steps[0].channel")
        lab.errors = [lab, LabError(.invalidLimit, "must be 1…10000, not 0", path: "limits.wall_ms"), LabError(.unknownField, "unknown field", path: nil)]
        let body = String(decoding: APIError(lab).jsonBody, as: UTF8.self)
        #expect(body == #"{"error":{"code":"invalid_scenario","message":"no channel named \"x\"","path":"scenario.processes[0].steps[0].channel","errors":["#
            + #"{"code":"invalid_scenario","message":"no channel named \"x\"","path":"scenario.processes[0].steps[0].channel"},"#
            + #"{"code":"invalid_limit","message":"must be 1…10000, not 0","path":"limits.wall_ms"},"#
            + #"{"code":"unknown_field","message":"unknown field","path":null}]}}"#)
        // Errors that are not a request's validation carry no list.
        #expect(!String(decoding: APIError(LabError(.unavailable, "busy")).jsonBody, as: UTF8.self).contains("errors"))
    }
}
