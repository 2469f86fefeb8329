import Testing

@testable import IPCLabHTTP

/// Who a run request counts as, for the fair share: a configured key's name, else the address.
@Suite("RunClients")
struct RunClientsTests {
    static let clients = RunClients(names: ["aaaaaaaaaaaaaaaaaaaaaaaa": "alice"])

    static func request(key: String?, from address: String = "10.0.0.7") -> HTTPRequest {
        HTTPRequest(method: "POST", path: "/api/v1/runs", headers: key.map { ["X-API-Key": $0] } ?? [:],
                    remoteAddress: address)
    }

    @Test("a known key is its name's client, with the header's spaces and tabs around it ignored")
    func knownKey() {
        #expect(Self.clients.client(of: Self.request(key: "aaaaaaaaaaaaaaaaaaaaaaaa")) == "key:alice")
        #expect(Self.clients.client(of: Self.request(key: " \taaaaaaaaaaaaaaaaaaaaaaaa\t ")) == "key:alice")
    }

    @Test("no key, an unknown key, or a known key with other characters in it: the address")
    func address() {
        #expect(Self.clients.client(of: Self.request(key: nil)) == "10.0.0.7")
        #expect(Self.clients.client(of: Self.request(key: "bbbbbbbbbbbbbbbbbbbbbbbb")) == "10.0.0.7")
        #expect(Self.clients.client(of: Self.request(key: "aaaaaaaaaaaa aaaaaaaaaaaa")) == "10.0.0.7")
        #expect(Self.clients.client(of: Self.request(key: "", from: "")) == "unknown")
        #expect(RunClients().client(of: Self.request(key: "aaaaaaaaaaaaaaaaaaaaaaaa")) == "10.0.0.7")
    }
}
