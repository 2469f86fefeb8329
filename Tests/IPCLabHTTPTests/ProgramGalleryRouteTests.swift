import Foundation
import IPCLabCore
import Testing

@testable import IPCLabHTTP

/// `GET /api/v1/programs`: the gallery with the sources built into the binary.
@Suite("Program gallery route")
struct ProgramGalleryRouteTests {
    static let programs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("programs")

    @Test("every program's source is the file of programs/ it names, byte for byte")
    func embeddedSources() throws {
        let gallery = ProgramGallery.embedded
        #expect(gallery.missingFiles.isEmpty, "not embedded: \(gallery.missingFiles)")
        for program in gallery.entries.flatMap(\.programs) {
            let onDisk = try String(contentsOf: Self.programs.appendingPathComponent(program.file), encoding: .utf8)
            #expect(program.source == onDisk, "\(program.file) differs from programs/\(program.file)")
        }
        // Every file of programs/ is in the gallery (a new file needs an #embed and an entry).
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.programs.path).filter { $0.hasSuffix(".c") }
        #expect(Set(files) == Set(gallery.entries.flatMap(\.programs).map(\.file)))
    }

    @Test("the route answers the gallery as JSON; other methods are 405")
    func route() throws {
        guard case .route(let r, _) = LabAPI.route("GET", "/api/v1/programs"), case .now = r.handler else {
            Issue.record("GET /api/v1/programs is not routed")
            return
        }
        guard case .notAllowed(let allowed) = LabAPI.route("POST", "/api/v1/programs") else {
            Issue.record("POST /api/v1/programs is not a 405")
            return
        }
        #expect(allowed == ["GET", "HEAD"])
        let body = try #require(try JSONSerialization.jsonObject(with: Data(ProgramGallery.embeddedJSON)) as? [String: Any])
        let entries = try #require(body["programs"] as? [[String: Any]])
        #expect(entries.count == ProgramGallery.standardEntries.count)
        let socket = try #require(entries.first { $0["id"] as? String == "c.socket_server_client" })
        let programs = try #require(socket["programs"] as? [[String: Any]])
        #expect(programs.map { $0["name"] as? String } == ["server", "client"])
        #expect((programs[0]["source"] as? String)?.contains("accept(") == true)
    }
}
