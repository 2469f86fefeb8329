import Testing

@testable import IPCLabHTTP

@Suite("APIError renders the contract's error body")
struct APIErrorTests {
    @Test("code, escaped message and path, in that order; status from the code")
    func rendering() {
        let error = APIError(.invalidScenario, "bad \"size\"\n\u{1}", path: "scenario.processes[1].steps[3].size")
        #expect(error.status == 400)
        #expect(String(decoding: error.jsonBody, as: UTF8.self)
            == #"{"error":{"code":"invalid_scenario","message":"bad \"size\"\n\u0001","path":"scenario.processes[1].steps[3].size"}}"#)
        let response = APIError.methodNotAllowed("PUT", allowed: ["GET", "HEAD"]).response
        #expect(response.status == .methodNotAllowed)
        #expect(response.header("allow") == "GET, HEAD")
        #expect(response.contentType == "application/json; charset=utf-8")
        #expect(String(decoding: APIError.notFound(path: "/x").jsonBody, as: UTF8.self).hasSuffix(#""path":null}}"#))
    }
}
