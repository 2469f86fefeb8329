import CMicroHTTPD
import Foundation

#if canImport(Glibc)
import Glibc
#endif

// Responses whose body is written while it is sent (``HTTPStreamingBody``):
// `MHD_create_response_from_callback` with an unknown size, which libmicrohttpd sends with
// chunked transfer encoding. Its reader callback runs on the connection's pool thread and
// must not block it: with nothing queued it suspends the connection (allowed from a
// content reader callback) and returns 0; the producer's next write resumes it.

extension HTTPServer {
    /// What the reader callbacks of one streamed response share, retained from
    /// `queueStream` until libmicrohttpd frees the response.
    final class StreamState: @unchecked Sendable {
        let body: HTTPStreamingBody
        let context: Context
        /// Valid until the response is freed; suspended and resumed only through ``body``.
        let connection: OpaquePointer
        let status: Int
        let method: String
        let path: String
        let started: ContinuousClock.Instant

        init(body: HTTPStreamingBody, context: Context, connection: OpaquePointer, status: Int, request: RequestState) {
            self.body = body
            self.context = context
            self.connection = connection
            self.status = status
            method = request.method
            path = request.path
            started = request.started
        }
    }
}

/// Queues a streamed response: status, headers, then the body as ``HTTPStreamingBody`` gives
/// it. The request counts as unfinished until the connection is done with it, so `stop()`
/// waits for it like for a late answer, then cuts it off.
func queueStream(
    _ response: HTTPResponse, _ body: HTTPStreamingBody, for request: HTTPServer.RequestState,
    on connection: OpaquePointer, context: HTTPServer.Context
) -> MHD_Result {
    let state = Unmanaged.passRetained(HTTPServer.StreamState(
        body: body, context: context, connection: connection, status: response.status.code, request: request))
    // 16 KiB: the most one call of the reader may copy, so the most one chunk holds.
    guard let mhdResponse = MHD_create_response_from_callback(
        UInt64.max /* MHD_SIZE_UNKNOWN */, 16 * 1024, httpServerStreamRead, state.toOpaque(), httpServerStreamFree)
    else {
        state.release()
        body.close()
        context.logger.error("\(request.method) \(AccessLogWriter.loggable(request.path)): MHD_create_response_from_callback failed")
        return .NO
    }
    defer { MHD_destroy_response(mhdResponse) }
    addHeaders(of: response, to: mhdResponse, for: request, context: context)
    if !request.counted {
        context.drain.withLock { context.unfinished += 1 }
        request.counted = true
    }
    let handle = UncheckedConnection(connection)
    body.attach(wake: { MHD_resume_connection(handle.pointer) },
                peerGone: { cmhd_connection_peer_gone(handle.pointer) != 0 })
    let refused: Bool = context.answers.withLock {
        if context.refusingSuspension { return true }
        context.streams[ObjectIdentifier(body)] = body
        return false
    }
    if refused { body.abandon() }
    return MHD_queue_response(connection, UInt32(response.status.code), mhdResponse)
}

/// A connection pointer handed to the closures that resume it and check its socket.
/// libmicrohttpd allows `MHD_resume_connection` from any thread; the body calls them only
/// while the connection is suspended, which keeps the pointer (and its socket) valid.
private struct UncheckedConnection: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// `MHD_ContentReaderCallback`: the next bytes of a streamed body; with none yet, suspends
/// the connection and returns 0; -1 at the end (MHD then ends the chunked body); -2 when
/// the body was abandoned (MHD closes the connection).
func httpServerStreamRead(
    _ cls: UnsafeMutableRawPointer?, _ position: UInt64, _ buffer: UnsafeMutablePointer<CChar>?, _ max: Int
) -> Int {
    guard let cls, let buffer else { return -2 }
    let state = Unmanaged<HTTPServer.StreamState>.fromOpaque(cls).takeUnretainedValue()
    let next = state.body.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: max)) {
        // Called under the body's lock, which its wake (the resume) also takes: a write cannot
        // slip in between "nothing queued" and the suspension.
        MHD_suspend_connection(state.connection)
    }
    switch next {
    case .bytes(let n): return n
    case .waiting: return 0
    case .end: return -1
    case .gone: return -2
    }
}

/// `MHD_ContentReaderFreeCallback`: libmicrohttpd is done with the response (sent, or the
/// client left): the body is closed, so its producer stops, and released.
func httpServerStreamFree(_ cls: UnsafeMutableRawPointer?) {
    guard let cls else { return }
    let retained = Unmanaged<HTTPServer.StreamState>.fromOpaque(cls)
    let state = retained.takeUnretainedValue()
    let body = state.body
    state.context.answers.withLock { state.context.streams[ObjectIdentifier(body)] = nil }
    body.close()
    state.context.accessLog.record(method: state.method, path: state.path, status: state.status, bytes: body.sentBytes,
                                   started: state.started)
    retained.release()
}
