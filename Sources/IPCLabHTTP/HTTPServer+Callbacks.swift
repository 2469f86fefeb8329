import CMicroHTTPD
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

// The C callbacks libmicrohttpd calls on its pool threads. They capture nothing: the server's
// state arrives as `cls` (an `Unmanaged<HTTPServer.Context>`, retained by the server until
// `MHD_stop_daemon` has returned), a request's state as `*req_cls` (an
// `Unmanaged<HTTPServer.RequestState>`, retained from the handler's first call until the
// request-completed callback). They are free functions, outside `main.swift`, so they run
// nonisolated on MHD's threads.

extension HTTPServer {
    /// What every callback of one running server shares. Immutable but for the last
    /// message libmicrohttpd logged, which `start()` reports when the daemon does not start.
    final class Context: @unchecked Sendable {
        let handler: any HTTPHandler
        let logger: Logger
        let maxBodyBytes: Int
        /// How much of an oversized body is read and dropped before the connection is
        /// closed instead of answered.
        var discardLimit: Int { max(64 * maxBodyBytes, 16 << 20) }
        private let lock = NSLock()
        private var lastMessage: String?

        init(handler: any HTTPHandler, logger: Logger, maxBodyBytes: Int) {
            self.handler = handler
            self.logger = logger
            self.maxBodyBytes = maxBodyBytes
        }

        var lastLibraryMessage: String? {
            get { lock.withLock { lastMessage } }
            set { lock.withLock { lastMessage = newValue } }
        }
    }

    /// One request between the handler's first call and the request-completed callback.
    /// MHD serves a connection from one thread at a time, so it needs no lock.
    final class RequestState {
        let method: String
        let path: String
        let started = ContinuousClock.now
        var body: [UInt8] = []
        /// Set once the body is known to be over the limit; from then on it is discarded.
        var tooLarge = false
        /// Body bytes read and dropped since then.
        var discarded = 0

        init(method: String, path: String) {
            self.method = method
            self.path = path
        }
    }
}

/// `MHD_AccessHandlerCallback`. MHD calls it first when the headers are in (set up
/// `*req_cls`, answer nothing: answering now would make MHD close the connection), then once
/// per piece of body (append it, mark it consumed), then with no data: answer then.
func httpServerAccessHandler(
    _ cls: UnsafeMutableRawPointer?,
    _ connection: OpaquePointer?,
    _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?,
    _ version: UnsafePointer<CChar>?,
    _ uploadData: UnsafePointer<CChar>?,
    _ uploadDataSize: UnsafeMutablePointer<Int>?,
    _ requestClosure: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let uploadDataSize, let requestClosure else { return .NO }
    let context = Unmanaged<HTTPServer.Context>.fromOpaque(cls).takeUnretainedValue()

    guard let stateRaw = requestClosure.pointee else {
        let state = HTTPServer.RequestState(method: method.map { String(cString: $0) } ?? "",
                                            path: url.map { String(cString: $0) } ?? "/")
        requestClosure.pointee = Unmanaged.passRetained(state).toOpaque()
        if let declared = MHD_lookup_connection_value(connection, .HEADER_KIND, "Content-Length"),
           let length = Int(String(cString: declared)), length >= 0 {
            if length > context.maxBodyBytes { state.tooLarge = true } else { state.body.reserveCapacity(length) }
        }
        // A client that waits for "100 Continue" has sent nothing yet: refusing now spares it
        // the upload. MHD closes the connection after this early answer, which is right here.
        if state.tooLarge, let expect = MHD_lookup_connection_value(connection, .HEADER_KIND, "Expect"),
           strcasecmp(expect, "100-continue") == 0 {
            return queue(APIError.bodyTooLarge(limit: context.maxBodyBytes).response,
                         for: state, on: connection, context: context)
        }
        return .YES
    }
    let state = Unmanaged<HTTPServer.RequestState>.fromOpaque(stateRaw).takeUnretainedValue()

    let size = uploadDataSize.pointee
    if size > 0 {
        uploadDataSize.pointee = 0
        if !state.tooLarge, let uploadData {
            if state.body.count + size > context.maxBodyBytes {
                state.tooLarge = true
                state.discarded = state.body.count
                state.body = []
            } else {
                UnsafeRawPointer(uploadData).withMemoryRebound(to: UInt8.self, capacity: size) {
                    state.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: size))
                }
                return .YES
            }
        }
        // Over the limit: MHD 0.9.75 refuses a response before the body's end, so read on
        // and discard, to answer 413 on a connection that stays usable; but not forever.
        state.discarded += size
        if state.discarded > context.discardLimit {
            context.logger.warning(
                "\(state.method) \(loggable(state.path)): closing the connection after discarding \(state.discarded) body bytes")
            return .NO
        }
        return .YES
    }

    let response: HTTPResponse
    if state.tooLarge {
        response = APIError.bodyTooLarge(limit: context.maxBodyBytes).response
    } else {
        let body = state.body
        state.body = []
        let request = HTTPRequest(
            method: state.method, path: state.path,
            query: connectionValues(connection, .GET_ARGUMENT_KIND, collect: httpServerCollectFirst),
            lowercasedHeaders: connectionValues(connection, .HEADER_KIND, collect: httpServerCollectJoined),
            body: body,
            remoteAddress: cmhd_connection_client_address(connection).map(HTTPServer.numericHost(of:)) ?? "")
        response = context.handler.handle(request)
    }
    return queue(response, for: state, on: connection, context: context)
}

/// `MHD_RequestCompletedCallback`: releases what the first call retained. MHD calls it for
/// every request that reached the access handler, also when the client went away first.
func httpServerRequestCompleted(
    _ cls: UnsafeMutableRawPointer?,
    _ connection: OpaquePointer?,
    _ requestClosure: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    _ reason: MHD_RequestTerminationCode
) {
    guard let requestClosure, let stateRaw = requestClosure.pointee else { return }
    Unmanaged<HTTPServer.RequestState>.fromOpaque(stateRaw).release()
    requestClosure.pointee = nil
}

/// `MHD_LogCallback`: libmicrohttpd's own messages (a port in use, a malformed request it
/// answered itself, a client gone mid-request), at `.notice`: most are about a client, not
/// the server. The last one is kept for `start()` to report.
func httpServerLogMessage(_ cls: UnsafeMutableRawPointer?, _ format: UnsafePointer<CChar>?, _ arguments: CVaListPointer?) {
    guard let cls, let format, let arguments else { return }
    let context = Unmanaged<HTTPServer.Context>.fromOpaque(cls).takeUnretainedValue()
    var text = [CChar](repeating: 0, count: 512)
    _ = vsnprintf(&text, text.count, format, arguments)
    var message = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    while message.last?.isNewline == true { message.removeLast() }
    context.lastLibraryMessage = message
    context.logger.notice("libmicrohttpd: \(message)")
}

/// Sends `response` (`MHD_RESPMEM_MUST_COPY`: MHD owns its copy of the body) and logs the
/// request's line. Returns `MHD_NO`, which closes the connection, only when MHD refuses.
private func queue(
    _ response: HTTPResponse, for request: HTTPServer.RequestState, on connection: OpaquePointer,
    context: HTTPServer.Context
) -> MHD_Result {
    var response = response
    if !(100...599).contains(response.status.code) {
        context.logger.error(
            "handler answered \(request.method) \(loggable(request.path)) with status \(response.status); sending 500")
        response = APIError.internal().response
    }
    let mhdResponse = response.body.withUnsafeBytes { bytes in
        MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                                        .RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else {
        context.logger.error("\(request.method) \(loggable(request.path)): MHD_create_response_from_buffer failed")
        return .NO
    }
    defer { MHD_destroy_response(mhdResponse) }
    for (name, value) in response.headers where HTTPRequest.lowercasedASCII(name) != "content-length" {
        if MHD_add_response_header(mhdResponse, name, value) != .YES {
            context.logger.warning("\(request.method) \(loggable(request.path)): header \(name) rejected")
        }
    }
    let result = MHD_queue_response(connection, UInt32(response.status.code), mhdResponse)
    let sent = request.method == "HEAD" ? 0 : response.body.count
    context.logger.info(
        "\(request.method) \(loggable(request.path)) \(response.status) \(sent) \(milliseconds(since: request.started))")
    return result
}

/// `path` for a log line: control characters, spaces and `%` percent-encoded, so a request
/// cannot forge a line or split a field.
private func loggable(_ path: String) -> String {
    guard path.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == 0x25 }) else { return path }
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for byte in path.utf8 {
        if byte <= 0x20 || byte == 0x7F || byte == 0x25 {
            out.append(contentsOf: [0x25, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        } else {
            out.append(byte)
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Elapsed time as milliseconds with three decimals: `0.123`.
private func milliseconds(since start: ContinuousClock.Instant) -> String {
    let elapsed = ContinuousClock.now - start
    let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
    let fraction = String(micros % 1000)
    return "\(micros / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}

/// The connection's values of one kind (headers, query arguments) as a dictionary, filled by
/// `collect` (`MHD_get_connection_values`).
private func connectionValues(
    _ connection: OpaquePointer, _ kind: MHD_ValueKind, collect: MHD_KeyValueIterator
) -> [String: String] {
    var values: [String: String] = [:]
    withUnsafeMutablePointer(to: &values) { pointer in
        _ = MHD_get_connection_values(connection, kind, collect, pointer)
    }
    return values
}

/// `MHD_KeyValueIterator` for headers: lowercased names, repeated fields joined with ", ".
private func httpServerCollectJoined(
    _ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
    _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let values = cls.assumingMemoryBound(to: [String: String].self)
    let name = lowercasedString(key)
    let text = value.map { String(cString: $0) } ?? ""
    if let existing = values.pointee[name] {
        values.pointee[name] = existing + ", " + text
    } else {
        values.pointee[name] = text
    }
    return .YES
}

/// `MHD_KeyValueIterator` for query arguments: the first value of a key wins.
private func httpServerCollectFirst(
    _ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
    _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let values = cls.assumingMemoryBound(to: [String: String].self)
    let name = String(cString: key)
    if values.pointee[name] == nil {
        values.pointee[name] = value.map { String(cString: $0) } ?? ""
    }
    return .YES
}

/// A C string as a Swift string with ASCII letters lowercased, in one copy.
private func lowercasedString(_ cString: UnsafePointer<CChar>) -> String {
    let length = strlen(cString)
    return String(unsafeUninitializedCapacity: length) { buffer in
        UnsafeRawPointer(cString).withMemoryRebound(to: UInt8.self, capacity: length) { source in
            for index in 0..<length {
                let byte = source[index]
                buffer[index] = (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
            }
        }
        return length
    }
}
