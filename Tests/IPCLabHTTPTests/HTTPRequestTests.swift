import Testing

@testable import IPCLabHTTP

@Suite("HTTPRequest")
struct HTTPRequestTests {
    @Test("header names are lowercased at init; mediaType drops parameters and case")
    func headers() {
        let request = HTTPRequest(method: "POST", path: "/", headers: ["Content-Type": "Application/JSON ; charset=utf-8"])
        #expect(request.headers == ["content-type": "Application/JSON ; charset=utf-8"])
        #expect(request.header("CONTENT-TYPE") == "Application/JSON ; charset=utf-8")
        #expect(request.mediaType == "application/json")
        #expect(HTTPRequest(method: "POST", path: "/").mediaType == nil)
    }
}
