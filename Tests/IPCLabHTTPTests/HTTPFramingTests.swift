import Testing

@testable import IPCLabHTTP

@Suite("HTTPFraming refuses heads a proxy could frame differently")
struct HTTPFramingTests {
    private func check(_ fields: [(String, String)], version: String = "HTTP/1.1", target: String = "/x",
                       onWire: Int? = nil) -> HTTPFraming.Refusal? {
        HTTPFraming(version: version, rawTarget: Array(target.utf8), targetLengthOnWire: onWire,
                    fields: fields.map { (name: $0.0, value: $0.1) }).refusal()
    }

    private func isBadRequest(_ refusal: HTTPFraming.Refusal?) -> Bool {
        if case .badRequest = refusal { return true }
        return false
    }

    @Test("sound heads pass: one Host, one or repeated equal Content-Length, chunked in any case, HTTP/1.0 without Host")
    func sound() {
        #expect(check([("Host", "lab")]) == nil)
        #expect(check([("Host", "lab"), ("Content-Length", "2"), ("content-length", "2")]) == nil)
        #expect(check([("Host", "lab"), ("Transfer-Encoding", "Chunked")]) == nil)
        #expect(check([], version: "HTTP/1.0") == nil)
        #expect(check([("Host", "lab")], target: "/a%2Fb?q=%41") == nil)
        #expect(check([("Host", "lab")], target: "/x", onWire: 2) == nil)
    }

    @Test("400: Content-Length with Transfer-Encoding, differing or malformed lengths, whitespace before a colon, Host missing or twice")
    func badRequests() {
        #expect(isBadRequest(check([("Host", "lab"), ("Content-Length", "5"), ("Transfer-Encoding", "chunked")])))
        #expect(isBadRequest(check([("Host", "lab"), ("Content-Length", "2"), ("Content-Length", "3")])))
        #expect(isBadRequest(check([("Host", "lab"), ("Content-Length", "2"), ("Content-Length", "-2")])))
        #expect(isBadRequest(check([("Host", "lab"), ("Transfer-Encoding ", "chunked")])))
        #expect(isBadRequest(check([("Host", "lab"), ("X\tY", "1")])))
        #expect(isBadRequest(check([("Host", "lab"), ("", "1")])))
        #expect(isBadRequest(check([])))
        #expect(isBadRequest(check([("Host", "a"), ("host", "b")])))
        #expect(isBadRequest(check([("Transfer-Encoding", "chunked")], version: "HTTP/1.0")))
    }

    @Test("400: a NUL byte (the target longer on the wire than up to its NUL), %00, or raw whitespace and non-ASCII in the target")
    func targets() {
        #expect(isBadRequest(check([("Host", "lab")], target: "/index.html", onWire: 15)))
        #expect(isBadRequest(check([("Host", "lab")], target: "/index.html%00.png")))
        #expect(isBadRequest(check([("Host", "lab")], target: "/a?x=%00")))
        #expect(isBadRequest(check([("Host", "lab")], target: "/a b")))
        #expect(isBadRequest(check([("Host", "lab")], target: "/caf\u{E9}")))
        #expect(check([("Host", "lab")], target: "/%0a0") == nil)
    }

    @Test("501: a transfer coding other than chunked, alone or before chunked, with status 501 not_implemented")
    func notImplemented() {
        for coding in ["gzip", "gzip, chunked", "chunked, chunked", "x-custom"] {
            guard case .notImplemented(let message) = check([("Host", "lab"), ("Transfer-Encoding", coding)]) else {
                Issue.record("\(coding) was not refused 501")
                continue
            }
            #expect(message.contains("chunked"))
        }
        let error = HTTPFraming.Refusal.notImplemented("x").error
        #expect(error.status.code == 501 && error.code.rawValue == "not_implemented")
    }
}
