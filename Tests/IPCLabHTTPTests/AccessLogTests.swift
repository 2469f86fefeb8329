import Foundation
import Logging
import Testing

@testable import IPCLabHTTP

#if canImport(Glibc)
import Glibc
#endif

@Suite("Access log: one line per request", .serialized)
struct AccessLogTests {
    private static func logger(label: String = "lab", level: Logger.Level = .info,
                               metadata: Logger.Metadata = [:]) -> (Logger, CollectingLogHandler.Store) {
        let store = CollectingLogHandler.Store()
        var logger = Logger(label: label, factory: { _ in CollectingLogHandler(store: store, level: level) })
        for (key, value) in metadata { logger[metadataKey: key] = value }
        return (logger, store)
    }

    @Test("a descriptor line reads like StreamLogHandler's: time, level, label, metadata, source, then the request")
    func lineFormat() throws {
        let (logger, store) = Self.logger(metadata: ["b": "2", "a": "1"])
        let writer = AccessLogWriter(.fileDescriptor(1), logger: logger)
        let started = ContinuousClock.now - .microseconds(12_345)
        let line = String(decoding: writer.line(method: "GET", path: "/a b\n%", status: 404, bytes: 93, started: started),
                          as: UTF8.self)
        let match = try #require(line.wholeMatch(of: #/(?<time>.{24}) info lab: a=1 b=2 \[IPCLabHTTP\] GET /a%20b%0A%25 404 93 (?<ms>\d+\.\d{3})\n/#),
                                 "line was: \(line)")
        // `2026-11-21T16:55:01+0000`, as StreamLogHandler prints it.
        #expect(match.output.time.wholeMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}/#) != nil, "time was: \(match.output.time)")
        let milliseconds = try #require(Double(match.output.ms))
        #expect(milliseconds >= 12.345 && milliseconds < 1000)
        #expect(store.all.isEmpty, "the descriptor sink went through the log handler")
    }

    @Test("the server writes one line per request to the descriptor, HEAD with 0 bytes, in one write each")
    func serverLines() throws {
        let pipe = Pipe2()
        let (logger, _) = Self.logger(label: "srv")
        try withServer(accessLog: .fileDescriptor(pipe.writeEnd), logger: logger, handler: EchoHandler()) { port in
            let connection = try Connection(port: port)
            connection.request("/one?x=1")
            let body = try #require(connection.receive()).body
            connection.request("HEAD", "/two")
            _ = try #require(connection.receive(head: true))
            // A line is written just after its response is queued: let both land.
            var text = ""
            _ = eventually(seconds: 2) {
                text += pipe.readAvailable()
                return text.filter { $0 == "\n" }.count >= 2
            }
            usleep(20_000)
            text += pipe.readAvailable()
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 3 && lines.last == "", "lines were: \(lines)")
            #expect(lines.first?.contains(" info srv: [IPCLabHTTP] GET /one 200 \(body.count) ") == true, "\(lines)")
            #expect(lines.dropFirst().first?.contains(" info srv: [IPCLabHTTP] HEAD /two 200 0 ") == true, "\(lines)")
        }
    }

    @Test("a logger above .info writes no access line")
    func levelGate() throws {
        let pipe = Pipe2()
        let (logger, _) = Self.logger(level: .notice)
        try withServer(accessLog: .fileDescriptor(pipe.writeEnd), logger: logger, handler: EchoHandler()) { port in
            let connection = try Connection(port: port)
            connection.request("/quiet")
            #expect(try #require(connection.receive()).status == 200)
            usleep(20_000)
            #expect(pipe.readAvailable() == "")
        }
    }

    @Test(".logger sends the line through the log handler at .info; .off writes nothing")
    func loggerSinkAndOff() throws {
        let (logger, store) = Self.logger()
        try withServer(accessLog: .logger, logger: logger, handler: EchoHandler()) { port in
            let connection = try Connection(port: port)
            connection.request("/via%20logger")  // decoded "/via logger"; a raw space is refused 400
            _ = try #require(connection.receive())
        }
        let lines = store.all.filter { $0.contains("/via") }
        #expect(lines.count == 1)
        #expect(lines.first?.wholeMatch(of: #/info GET /via%20logger 200 \d+ \d+\.\d{3}/#) != nil, "\(lines)")

        let (quiet, quietStore) = Self.logger()
        try withServer(accessLog: .off, logger: quiet, handler: EchoHandler()) { port in
            let connection = try Connection(port: port)
            connection.request("/off")
            _ = try #require(connection.receive())
        }
        #expect(!quietStore.all.contains { $0.contains("/off") })
    }

    @Test("the configuration refuses a negative descriptor and an out-of-range stop timeout")
    func validation() {
        #expect(throws: HTTPServerError.self) {
            try HTTPServerConfiguration(accessLog: .fileDescriptor(-1)).validate()
        }
        #expect(throws: HTTPServerError.self) { try HTTPServerConfiguration(stopTimeoutSeconds: -1).validate() }
        #expect(throws: Never.self) { try HTTPServerConfiguration(stopTimeoutSeconds: 0, accessLog: .off).validate() }
    }
}
