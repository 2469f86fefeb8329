import CMicroHTTPD
import Foundation

#if canImport(Glibc)
import Glibc
#endif

// The request head and the connection around it: the checks made once the head is in
// (``HTTPFraming``, the per-address reserve, an early 413), and the two callbacks that see
// more than the access handler does: the URI log callback (the target as it came) and the
// connection-notify callback (each connection opened and closed, for ``ConnectionGuard``).

/// The first call of the access handler, the head in: refuses a malformed or ambiguous head
/// (``HTTPFraming``) and a connection in the reserve (503), answers 413 at once for a declared
/// body over the limit when the client waits for "100 Continue" or the body is past what is
/// read and dropped, and starts the body's clock.
func receiveHead(
    _ state: HTTPServer.RequestState, connection: OpaquePointer, url: UnsafePointer<CChar>?,
    method: UnsafePointer<CChar>?, version: UnsafePointer<CChar>?, context: HTTPServer.Context
) -> MHD_Result {
    state.method = method.map { String(cString: $0) } ?? ""
    state.path = url.map { String(cString: $0) } ?? "/"
    let entry = connectionEntry(connection)
    let onWire = state.rawTargetKnown ? cmhd_request_target_length(url, version) : -1
    state.fields = headerFields(connection)
    let framing = HTTPFraming(version: version.map { String(cString: $0) } ?? "", rawTarget: state.rawTarget,
                              targetLengthOnWire: onWire >= 0 ? onWire : nil, fields: state.fields)
    if let refusal = framing.refusal() {
        let error = refusal.error
        context.refused(error.code.rawValue)
        context.logger.notice("\(state.method) \(AccessLogWriter.loggable(state.path)): refused: \(error.message)")
        return queue(closing(context.answer(error)), for: state, on: connection, context: context)
    }
    if let entry, entry.inReserve, !context.reservePaths.contains(state.path) {
        context.refused("per_ip_limit")
        let cap = context.connections.limits.perAddress
        return queue(closing(context.answer(.unavailable(
            "too many connections from \(entry.address): at most \(cap) at once; close one and retry",
            retryAfterSeconds: 1))), for: state, on: connection, context: context)
    }
    var bodyExpected = MHD_lookup_connection_value(connection, .HEADER_KIND, "Transfer-Encoding") != nil
    if let declared = MHD_lookup_connection_value(connection, .HEADER_KIND, "Content-Length"),
       let length = Int(String(cString: declared)), length >= 0 {
        bodyExpected = length > 0
        if length > context.maxBodyBytes {
            state.tooLarge = true
            // A client waiting for "100 Continue" is spared the upload; a body past what is
            // read and dropped is not read at all. Else it is read and dropped, so that a
            // client that sends it all before reading (Python's urllib) sees the 413, not
            // a connection reset.
            let expect = MHD_lookup_connection_value(connection, .HEADER_KIND, "Expect").map { String(cString: $0) }
            if expect.map(HTTPRequest.lowercasedASCII) == "100-continue" || length > context.discardLimit {
                return queue(closing(context.answer(.bodyTooLarge(limit: context.maxBodyBytes))),
                             for: state, on: connection, context: context)
            }
        } else {
            state.body.reserveCapacity(length)
        }
    }
    state.bodyExpected = bodyExpected
    if let entry { context.connections.headReceived(entry, bodyExpected: bodyExpected) }
    return .YES
}

/// `response` with `Connection: close`: libmicrohttpd closes the connection after it, so
/// nothing after a refused head is read as another request.
private func closing(_ response: HTTPResponse) -> HTTPResponse {
    var response = response
    response.setHeader("Connection", "close")
    return response
}

/// The ``ConnectionGuard`` entry of `connection` (its socket context).
func connectionEntry(_ connection: OpaquePointer) -> ConnectionGuard.Entry? {
    guard let raw = cmhd_connection_socket_context(connection) else { return nil }
    return Unmanaged<ConnectionGuard.Entry>.fromOpaque(raw).takeUnretainedValue()
}

/// The request's header fields in order, names as they came.
private func headerFields(_ connection: OpaquePointer) -> [(name: String, value: String)] {
    var fields: [(name: String, value: String)] = []
    withUnsafeMutablePointer(to: &fields) { pointer in
        _ = MHD_get_connection_values_n(connection, .HEADER_KIND, httpServerCollectFields, pointer)
    }
    return fields
}

/// The header fields as ``HTTPRequest/headers`` holds them: names lowercased, a repeated
/// field's values joined with ", " in order; each name and value cut at a NUL byte, as
/// libmicrohttpd's C strings of them are.
func lowercasedHeaders(_ fields: [(name: String, value: String)]) -> [String: String] {
    var headers: [String: String] = Dictionary(minimumCapacity: fields.count)
    for field in fields {
        let name = HTTPRequest.lowercasedASCII(cutAtNUL(field.name))
        let value = cutAtNUL(field.value)
        if let existing = headers[name] {
            headers[name] = existing + ", " + value
        } else {
            headers[name] = value
        }
    }
    return headers
}

/// `text` up to its first NUL byte.
private func cutAtNUL(_ text: String) -> String {
    guard let nul = text.utf8.firstIndex(of: 0) else { return text }
    return String(decoding: text.utf8[..<nul], as: UTF8.self)
}

/// `MHD_KeyValueIteratorN` for ``headerFields(_:)``.
private func httpServerCollectFields(
    _ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
    _ key: UnsafePointer<CChar>?, _ keySize: Int, _ value: UnsafePointer<CChar>?, _ valueSize: Int
) -> MHD_Result {
    guard let cls else { return .YES }
    let fields = cls.assumingMemoryBound(to: [(name: String, value: String)].self)
    func text(_ pointer: UnsafePointer<CChar>?, _ count: Int) -> String {
        guard let pointer, count > 0 else { return "" }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }
    fields.pointee.append((name: text(key, keySize), value: text(value, valueSize)))
    return .YES
}

/// `MHD_OPTION_URI_LOG_CALLBACK`: the request line is in; keeps the target as it came for
/// ``HTTPFraming``. What it returns is the request's `*req_cls`, released by the
/// request-completed callback (libmicrohttpd calls it for every request that got this far).
func httpServerURILog(
    _ cls: UnsafeMutableRawPointer?, _ uri: UnsafePointer<CChar>?, _ connection: OpaquePointer?
) -> UnsafeMutableRawPointer? {
    let raw: [UInt8] = uri.map { pointer in
        let length = strlen(pointer)
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    } ?? []
    return Unmanaged.passRetained(HTTPServer.RequestState(rawTarget: raw)).toOpaque()
}

/// `MHD_NotifyConnectionCallback`: a connection opened (entered in the ``ConnectionGuard``,
/// kept as its socket context) or is about to close (taken out, before its descriptor closes).
func httpServerConnectionNotify(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ code: MHD_ConnectionNotificationCode
) {
    guard let cls, let connection, let socketContext else { return }
    let context = Unmanaged<HTTPServer.Context>.fromOpaque(cls).takeUnretainedValue()
    switch code.rawValue {
    case 0:  // MHD_CONNECTION_NOTIFY_STARTED
        let address = cmhd_connection_client_address(connection).map(HTTPServer.numericHost(of:)) ?? ""
        let descriptor = cmhd_connection_fd(connection)
        let entry = context.connections.opened(descriptor: descriptor, address: address)
        socketContext.pointee = Unmanaged.passRetained(entry).toOpaque()
        context.inline.opened(descriptor: descriptor)
    case 1:  // MHD_CONNECTION_NOTIFY_CLOSED
        guard let raw = socketContext.pointee else { return }
        context.inline.closed()
        let entry = Unmanaged<ConnectionGuard.Entry>.fromOpaque(raw)
        context.connections.closed(entry.takeUnretainedValue())
        entry.release()
        socketContext.pointee = nil
    default:
        break
    }
}
