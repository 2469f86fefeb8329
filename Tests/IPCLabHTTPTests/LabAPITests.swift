import Foundation
import IPCLabCore
import IPCLabSandbox
import Synchronization
import Testing

@testable import IPCLabHTTP

/// `LabAPI` without sockets: `HTTPRequest` is a plain value, so every route and every error the
/// router answers is checked by calling the handler (as Hummingbird's `app.test(.router)` does).
@Suite("LabAPI routes, without sockets", .serialized)
struct LabAPITests {
    /// An API over a real runner (the spawner is the built `ipclab`, beside the test bundle).
    static let api: LabAPI? = {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = ProcessInfo.processInfo.environment["IPCLAB_BIN"] ?? package.appendingPathComponent(".build/debug/ipclab").path
        guard FileManager.default.isExecutableFile(atPath: binary),
              let spawner = try? SpawnerClient(executable: binary, logger: silentLogger) else { return nil }
        return LabAPI(runner: LabRunner(spawner: spawner), staticFiles: nil, openAPI: Array("openapi: 3.1.0\n".utf8), version: "test",
                      sandbox: SandboxReport(namespaces: [], setup: []), logger: silentLogger)
    }()

    private func api() throws -> LabAPI { try #require(Self.api, "no ipclab binary to spawn runs with") }

    private func json(_ r: HTTPResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
    }

    private func errorCode(_ r: HTTPResponse) throws -> String? {
        (try json(r)["error"] as? [String: Any])?["code"] as? String
    }

    /// The answer of the asynchronous entry point (the one the server calls), waited for.
    private func answer(_ request: HTTPRequest) async throws -> HTTPResponse {
        let api = try api()
        return await withCheckedContinuation { c in
            let once = Mutex(false)
            api.handle(request) { r in
                if once.withLock({ let first = !$0; $0 = true; return first }) { c.resume(returning: r) }
            }
        }
    }

    @Test("every GET route answers 200, and HEAD wherever GET", arguments: [
        "/healthz", "/openapi.yaml", "/metrics", "/api/v1/experiments", "/api/v1/calls", "/api/v1/experiments/pipe.hello", "/api/v1/programs",
    ])
    func getRoutes(_ path: String) throws {
        let api = try api()
        let get = api.handle(HTTPRequest(method: "GET", path: path))
        #expect(get.status.code == 200 || (path == "/healthz" && get.status.code == 503), "\(path): \(get.status)")
        #expect(!get.body.isEmpty)
        #expect(api.handle(HTTPRequest(method: "HEAD", path: path)).status == get.status)
    }

    @Test("a path that exists answers another method 405 with Allow")
    func methodNotAllowed() throws {
        let api = try api()
        for (method, path, allow) in [("POST", "/api/v1/experiments", "GET, HEAD"), ("DELETE", "/healthz", "GET, HEAD"),
                                      ("PUT", "/api/v1/experiments/pipe.hello", "GET, HEAD"), ("PUT", "/api/v1/runs", "GET, HEAD, POST"),
                                      ("GET", "/api/v1/grades", "POST"), ("DELETE", "/api/v1/grades/x", "GET, HEAD"),
                                      ("POST", "/api/v1/calls", "GET, HEAD")] {
            let r = api.handle(HTTPRequest(method: method, path: path))
            #expect(r.status.code == 405, "\(method) \(path)")
            #expect(r.headers["Allow"] == allow, "\(method) \(path): \(r.headers)")
            #expect(try errorCode(r) == "method_not_allowed")
        }
    }

    @Test("the page's files answer 404 and 405 in the lab's JSON, whatever renderer they were built with")
    func staticFileErrors() throws {
        let base = try api()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("labapi-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = try StaticFiles(directory: root)  // plain text on its own
        #expect(files.handle(HTTPRequest(method: "GET", path: "/nope.html")).contentType == HTTPResponse.ContentType.plainText)
        let api = LabAPI(runner: base.runner, staticFiles: files, openAPI: nil, version: "test", sandbox: base.sandbox,
                         executor: base.executor, logger: silentLogger)
        let missing = api.handle(HTTPRequest(method: "GET", path: "/nope.html"))
        #expect(missing.status == .notFound)
        #expect(try errorCode(missing) == "not_found")
        let posted = api.handle(HTTPRequest(method: "POST", path: "/index.html"))
        #expect(posted.status == .methodNotAllowed && posted.header("Allow") == "GET, HEAD")
        #expect(try errorCode(posted) == "method_not_allowed")
    }

    @Test("unknown paths under /api, and everything without a page, are 404 not_found")
    func notFound() throws {
        let api = try api()
        for path in ["/api", "/api/v2/experiments", "/api/v1/nothing", "/index.html", "/"] {
            let r = api.handle(HTTPRequest(method: "GET", path: path))
            #expect(r.status.code == 404, "\(path)")
            #expect(try errorCode(r) == "not_found")
        }
    }

    @Test("an unknown experiment is 404 unknown_experiment, naming the field")
    func unknownExperiment() throws {
        let r = try api().handle(HTTPRequest(method: "GET", path: "/api/v1/experiments/pipe.nothing"))
        #expect(r.status.code == 404)
        #expect(try errorCode(r) == "unknown_experiment")
        #expect((try json(r)["error"] as? [String: Any])?["path"] as? String == "experiment")
    }

    @Test("GET /api/v1/calls lists every call of every family")
    func calls() throws {
        let body = try json(try api().handle(HTTPRequest(method: "GET", path: "/api/v1/calls")))
        let calls = try #require(body["calls"] as? [[String: Any]])
        #expect(calls.count == Call.all.count)
        #expect(Set(calls.compactMap { $0["family"] as? String }) == Set(CallFamily.allCases.map(\.rawValue)))
    }

    @Test("POST /api/v1/runs: its errors, answered before any run", arguments: [
        (["content-type": "text/plain"], #"{"experiment": "pipe.hello"}"#, [String: String](), 415, "unsupported_media_type"),
        (["content-type": "application/json"], #"{"experiment": "#, [:], 400, "invalid_json"),
        (["content-type": "application/json"], #"{"experiment": "pipe.nothing"}"#, [:], 404, "unknown_experiment"),
        (["content-type": "application/json"], #"{"experiment": "pipe.hello", "extra": 1}"#, [:], 400, "unknown_field"),
        (["content-type": "application/json"], #"{"experiment": "pipe.hello"}"#, ["format": "xml"], 400, "invalid_parameter"),
        (["content-type": "application/json", "accept": "application/x-ndjson"], #"{"experiment": "pipe.hello"}"#, ["format": "text"], 400,
         "invalid_parameter"),
    ])
    func runErrors(_ headers: [String: String], _ body: String, _ query: [String: String], _ status: Int, _ code: String) async throws {
        let r = try await answer(HTTPRequest(method: "POST", path: "/api/v1/runs", query: query, headers: headers, body: Array(body.utf8)))
        #expect(r.status.code == status, "\(body)")
        #expect(try errorCode(r) == code)
    }

    @Test("POST /api/v1/runs runs the experiment and answers its trace, with transfers")
    func run() async throws {
        let r = try await answer(HTTPRequest(method: "POST", path: "/api/v1/runs", headers: ["content-type": "application/json"],
                                             body: Array(#"{"experiment": "pipe.hello"}"#.utf8)))
        #expect(r.status.code == 200)
        let trace = try json(r)
        #expect((trace["run"] as? [String: Any])?["experiment"] as? String == "pipe.hello")
        #expect((trace["transfers"] as? [[String: Any]])?.count == 1)
    }

    @Test("bodies sent again are checked requests kept by body: each answer is its own body's run")
    func keptRequestsByBody() async throws {
        func post(_ body: String) async throws -> [String: Any] {
            let r = try await answer(HTTPRequest(method: "POST", path: "/api/v1/runs", headers: ["content-type": "application/json"],
                                                 body: Array(body.utf8)))
            #expect(r.status.code == 200, "\(body)")
            return try json(r)
        }
        func message(_ trace: [String: Any]) -> String? {
            let events = trace["events"] as? [[String: Any]] ?? []
            let write = events.first { $0["call"] as? String == "write" }
            return (write?["payload"] as? [String: Any])?["text"] as? String
        }
        let a = #"{"experiment": "pipe.hello", "params": {"message": "first"}}"#
        let b = #"{"experiment": "pipe.hello", "params": {"message": "second"}}"#
        for body in [a, b, a, b] {
            let trace = try await post(body)
            #expect(message(trace) == (body == a ? "first\u{0}" : "second\u{0}"))
        }
        // A body that fails is not kept: it fails again, with its error.
        for _ in 0..<2 {
            let r = try await answer(HTTPRequest(method: "POST", path: "/api/v1/runs", headers: ["content-type": "application/json"],
                                                 body: Array(#"{"experiment": "pipe.hello", "params": {"message": 7}}"#.utf8)))
            #expect(r.status.code == 400)
        }
        #expect(try api().recentRuns.count >= 2)
    }
}
