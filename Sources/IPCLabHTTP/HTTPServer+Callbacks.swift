import CMicroHTTPD
import Foundation
import Logging
import Synchronization

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
    /// What every callback of one running server shares.
    final class Context: @unchecked Sendable {
        let handler: any HTTPHandler
        /// Makes the body of every error the server answers by itself.
        let errors: HTTPErrorRenderer
        let logger: Logger
        let maxBodyBytes: Int
        let accessLog: AccessLogWriter
        /// Responses built once for bodies that repeat.
        let prepared = PreparedResponses()
        /// Per-connection deadlines and the per-address cap.
        let connections: ConnectionGuard
        /// Paths still served on a connection in the reserve.
        let reservePaths: Set<String>
        /// Counts what the server turns away itself, by reason.
        let refused: @Sendable (String) -> Void
        /// How much of an oversized body is read and dropped (at least the minimum body rate)
        /// so that a client that sends it all before reading sees the 413; a declared length
        /// past it is answered 413 at once and the connection closed, and a chunked body that
        /// grows past it has its connection closed.
        var discardLimit: Int { max(8 * maxBodyBytes, 8 << 20) }
        private let lock = NSLock()
        private var lastMessage: String?

        /// Guards ``suspended``, ``refusingSuspension`` and every request's ``RequestState/stage``
        /// and ``RequestState/response``. `MHD_suspend_connection` and `MHD_resume_connection`
        /// are called with it held, so that `stop()` never sees a connection suspended that no
        /// one will resume. No deadlock: of the callbacks only the access handler takes it, and
        /// libmicrohttpd cannot be holding its connection lock there, since the access handler
        /// may call `MHD_suspend_connection`, which takes that lock.
        let answers = NSLock()
        /// The requests whose connection is suspended, waiting for `respond`.
        var suspended: [ObjectIdentifier: RequestState] = [:]
        /// Set by `stop()` once it stops waiting: from then on nothing is suspended.
        var refusingSuspension = false
        /// The streamed bodies being sent, for `stop()` to cut off (``HTTPStreamingBody/abandon()``).
        var streams: [ObjectIdentifier: HTTPStreamingBody] = [:]

        /// Guards ``unfinished``; `stop()` waits on it. Taken alone, never with ``answers``.
        let drain = NSCondition()
        /// Requests that were suspended (or are answered inline) and have not completed (response
        /// sent or connection gone).
        var unfinished = 0
        /// Which requests may be answered on the thread that took them (``InlineAnswers``).
        let inline: InlineAnswers

        init(handler: any HTTPHandler, errors: @escaping HTTPErrorRenderer, logger: Logger, maxBodyBytes: Int, accessLog: AccessLogWriter,
             connections: ConnectionGuard, reservePaths: Set<String>, poolThreads: Int, refused: @escaping @Sendable (String) -> Void) {
            self.inline = InlineAnswers(poolThreads: poolThreads)
            self.handler = handler
            self.errors = errors
            self.logger = logger
            self.maxBodyBytes = maxBodyBytes
            self.accessLog = accessLog
            self.connections = connections
            self.reservePaths = reservePaths
            self.refused = refused
        }

        var lastLibraryMessage: String? {
            get { lock.withLock { lastMessage } }
            set { lock.withLock { lastMessage = newValue } }
        }
    }

    /// Where a request stands once its body is in.
    enum Stage {
        /// Headers or body still arriving.
        case receiving
        /// The handler is running and has not responded.
        case handling
        /// The handler returned without a response: the connection is suspended.
        case suspended
        /// The response came while suspended; the connection is resumed, and the access
        /// handler, called again, queues ``RequestState/response``.
        case resumed
        /// `stop()` gave up waiting (or refused to wait): the answer is 503, a late response
        /// is dropped.
        case abandoned
        /// The response is queued.
        case answered
    }

    /// One request between the handler's first call and the request-completed callback.
    /// MHD serves a connection from one thread at a time, so the fields above `stage` need
    /// no lock; `stage` and `response` may be touched by `respond` on any thread, under
    /// ``Context/answers``, once the handler has been called.
    final class RequestState: @unchecked Sendable {
        /// The target as it came (from the URI log callback), up to a NUL byte.
        let rawTarget: [UInt8]
        /// Set by the first call of the access handler (the head is in).
        var method = ""
        var path = "/"
        var headSeen = false
        /// The header fields in order, names as they came (read once, with the head).
        var fields: [(name: String, value: String)] = []
        /// The head announced a body (`Content-Length` over 0, or `Transfer-Encoding`).
        var bodyExpected = false
        let started = ContinuousClock.now
        var body: [UInt8] = []
        /// Set once the body is known to be over the limit; from then on it is discarded.
        var tooLarge = false
        /// Body bytes read and dropped since then.
        var discarded = 0
        /// The handler has been called; a further call of the access handler is the one after
        /// a resume.
        var handlerCalled = false
        /// Counted in ``Context/unfinished``, so the completed callback uncounts it.
        var counted = false
        /// The connection, for `MHD_resume_connection`: valid while suspended.
        var connection: OpaquePointer?

        var stage = Stage.receiving
        /// The response given before it could be queued.
        var response: HTTPResponse?

        /// Whether ``rawTarget`` is what came on the wire (else the decoded path).
        let rawTargetKnown: Bool

        init(rawTarget: [UInt8], known: Bool = true) {
            self.rawTarget = rawTarget
            self.rawTargetKnown = known
        }
    }

    /// What a handler's `respond` closure holds. Should the handler drop the closure without
    /// calling it, the deinit answers 500, so that no connection stays suspended for ever.
    final class Responder: Sendable {
        private let state: RequestState
        private let context: Context
        private let called = Atomic(false)

        init(state: RequestState, context: Context) {
            self.state = state
            self.context = context
        }

        deinit {
            if !called.load(ordering: .acquiring) {
                context.logger.error(
                    "\(state.method) \(AccessLogWriter.loggable(state.path)): the handler dropped respond without calling it; answering 500")
                deliver(context.answer(.internal("the server lost this request's response")))
            }
        }

        /// Hands `response` to the connection: stored for the access handler if it is still
        /// running, else stored and the connection resumed.
        func deliver(_ response: HTTPResponse) {
            guard !called.exchange(true, ordering: .acquiringAndReleasing) else {
                context.logger.warning(
                    "\(state.method) \(AccessLogWriter.loggable(state.path)): respond called again; ignored")
                return
            }
            let answers = context.answers
            answers.lock()
            switch state.stage {
            case .handling:
                state.response = response
            case .suspended:
                state.response = response
                state.stage = .resumed
                context.suspended[ObjectIdentifier(state)] = nil
                MHD_resume_connection(state.connection)
            case .abandoned, .receiving, .resumed, .answered:
                answers.unlock()
                context.logger.notice(
                    "\(state.method) \(AccessLogWriter.loggable(state.path)): response \(response.status) came after the server stopped waiting; dropped")
                return
            }
            answers.unlock()
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

    let state: HTTPServer.RequestState
    if let stateRaw = requestClosure.pointee {
        state = Unmanaged<HTTPServer.RequestState>.fromOpaque(stateRaw).takeUnretainedValue()
    } else {
        // The URI log callback made none (it always does while installed): no raw target.
        state = HTTPServer.RequestState(rawTarget: url.map { Array(String(cString: $0).utf8) } ?? [], known: false)
        requestClosure.pointee = Unmanaged.passRetained(state).toOpaque()
    }
    if !state.headSeen {
        state.headSeen = true
        return receiveHead(state, connection: connection, url: url, method: method, version: version, context: context)
    }

    let size = uploadDataSize.pointee
    if size > 0 {
        uploadDataSize.pointee = 0
        if let entry = connectionEntry(connection) { context.connections.bodyReceived(entry, count: size) }
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
                "\(state.method) \(AccessLogWriter.loggable(state.path)): closing the connection after discarding \(state.discarded) body bytes")
            return .NO
        }
        return .YES
    }

    if state.handlerCalled {
        return answerAfterResume(state, on: connection, context: context)
    }
    let entry = connectionEntry(connection)
    // Without a body the head already put the connection in the handling phase.
    if state.bodyExpected, let entry { context.connections.handling(entry) }
    if state.tooLarge {
        return queue(context.answer(.bodyTooLarge(limit: context.maxBodyBytes)),
                     for: state, on: connection, context: context)
    }
    let body = state.body
    state.body = []
    // No '?' in the target: no query arguments to ask libmicrohttpd for.
    let hasQuery = !state.rawTargetKnown || state.rawTarget.contains(UInt8(ascii: "?"))
    let request = HTTPRequest(
        method: state.method, path: state.path,
        query: hasQuery ? connectionValues(connection, .GET_ARGUMENT_KIND, collect: httpServerCollectFirst) : [:],
        lowercasedHeaders: lowercasedHeaders(state.fields),
        body: body,
        remoteAddress: entry?.address
            ?? cmhd_connection_client_address(connection).map(HTTPServer.numericHost(of:)) ?? "")
    state.handlerCalled = true
    state.connection = connection
    // No other thread knows `state` yet: handing `respond` to one publishes these writes.
    state.stage = .handling
    let responder = HTTPServer.Responder(state: state, context: context)
    // The handler may answer here, on this thread, when that blocks no other connection (InlineAnswers).
    let current = InlineAnswers.Current(answers: context.inline) {
        let stopping = context.answers.withLock { context.refusingSuspension }
        guard !stopping else { return false }
        // Owed from now on, as a suspended request is: `stop()` waits for its answer.
        context.drain.withLock { context.unfinished += 1 }
        state.counted = true
        return true
    }
    InlineAnswers.handling(current) { context.handler.handle(request, respond: { responder.deliver($0) }) }
    return answerAfterHandler(state, on: connection, context: context)
}

/// After the handler returned: queues its response, or suspends the connection until
/// `respond` is called.
private func answerAfterHandler(
    _ state: HTTPServer.RequestState, on connection: OpaquePointer, context: HTTPServer.Context
) -> MHD_Result {
    let answers = context.answers
    answers.lock()
    if let response = state.response {
        state.stage = .answered
        state.response = nil
        answers.unlock()
        return queue(response, for: state, on: connection, context: context)
    }
    answers.unlock()

    // Counted before it is suspended, so that `stop()` waits for it.
    if !state.counted {
        context.drain.withLock { context.unfinished += 1 }
        state.counted = true
    }

    answers.lock()
    if let response = state.response {  // it came in between
        state.stage = .answered
        state.response = nil
        answers.unlock()
        return queue(response, for: state, on: connection, context: context)
    }
    if context.refusingSuspension {
        state.stage = .abandoned
        answers.unlock()
        return queue(context.stoppingResponse, for: state, on: connection, context: context)
    }
    MHD_suspend_connection(connection)
    state.stage = .suspended
    context.suspended[ObjectIdentifier(state)] = state
    answers.unlock()
    return .YES
}

/// The access handler called again after a resume: queues the response that came, or 503
/// when `stop()` gave up on it.
private func answerAfterResume(
    _ state: HTTPServer.RequestState, on connection: OpaquePointer, context: HTTPServer.Context
) -> MHD_Result {
    let response: HTTPResponse? = context.answers.withLock {
        switch state.stage {
        case .resumed:
            state.stage = .answered
            defer { state.response = nil }
            return state.response
        case .abandoned:
            return context.stoppingResponse
        case .receiving, .handling, .suspended, .answered:
            return nil
        }
    }
    guard let response else {
        context.logger.error("\(state.method) \(AccessLogWriter.loggable(state.path)): called again with no response to send; closing")
        return .NO
    }
    return queue(response, for: state, on: connection, context: context)
}

extension HTTPServer.Context {
    /// The response to an error the server answers by itself, from the application's renderer.
    func answer(_ error: HTTPError) -> HTTPResponse { error.response(errors) }

    /// The answer to a request whose response `stop()` no longer waits for.
    var stoppingResponse: HTTPResponse { answer(.unavailable("the server is stopping", retryAfterSeconds: 1)) }
}

/// `MHD_RequestCompletedCallback`: releases what the first call retained. MHD calls it for
/// every request that reached the access handler, also when the client went away first.
func httpServerRequestCompleted(
    _ cls: UnsafeMutableRawPointer?,
    _ connection: OpaquePointer?,
    _ requestClosure: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    _ reason: MHD_RequestTerminationCode
) {
    if let connection, let entry = connectionEntry(connection), let cls {
        Unmanaged<HTTPServer.Context>.fromOpaque(cls).takeUnretainedValue().connections.requestCompleted(entry)
    }
    guard let cls, let requestClosure, let stateRaw = requestClosure.pointee else { return }
    let state = Unmanaged<HTTPServer.RequestState>.fromOpaque(stateRaw)
    if state.takeUnretainedValue().counted {
        let context = Unmanaged<HTTPServer.Context>.fromOpaque(cls).takeUnretainedValue()
        context.drain.withLock {
            context.unfinished -= 1
            if context.unfinished == 0 { context.drain.broadcast() }
        }
    }
    state.release()
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

/// Sends `response` (prepared once when its body repeats: ``PreparedResponses``, else built for
/// this request) and logs the request's line. Returns `MHD_NO`, which closes the connection, only when MHD refuses.
func queue(
    _ response: HTTPResponse, for request: HTTPServer.RequestState, on connection: OpaquePointer,
    context: HTTPServer.Context
) -> MHD_Result {
    var response = response
    if !(100...599).contains(response.status.code) {
        context.logger.error(
            "handler answered \(request.method) \(AccessLogWriter.loggable(request.path)) with status \(response.status); sending 500")
        response = context.answer(.internal())
        // A renderer that makes no valid status either gets the plain one.
        if !(100...599).contains(response.status.code) { response = HTTPError.internal().response(HTTPError.plainText) }
    }
    if let stream = response.stream {
        return queueStream(response, stream, for: request, on: connection, context: context)
    }
    let result: MHD_Result
    if let prepared = context.prepared.prepared(for: response, build: { build($0, for: request, context: context) }) {
        result = MHD_queue_response(connection, UInt32(response.status.code), prepared.pointer)
    } else {
        guard let mhdResponse = build(response, for: request, context: context) else { return .NO }
        result = MHD_queue_response(connection, UInt32(response.status.code), mhdResponse)
        MHD_destroy_response(mhdResponse)
    }
    context.accessLog.record(method: request.method, path: request.path, status: response.status.code,
                             bytes: request.method == "HEAD" ? 0 : response.body.count, started: request.started)
    return result
}

/// A libmicrohttpd response with `response`'s body (`MHD_RESPMEM_MUST_COPY`: MHD owns its copy)
/// and header fields; `nil` (logged) when libmicrohttpd cannot make one.
private func build(
    _ response: HTTPResponse, for request: HTTPServer.RequestState, context: HTTPServer.Context
) -> OpaquePointer? {
    let mhdResponse = response.body.withUnsafeBytes { bytes in
        MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                                        .RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else {
        context.logger.error("\(request.method) \(AccessLogWriter.loggable(request.path)): MHD_create_response_from_buffer failed")
        return nil
    }
    addHeaders(of: response, to: mhdResponse, for: request, context: context)
    return mhdResponse
}

/// Sets `response`'s header fields on `mhdResponse`, but `Content-Length` (libmicrohttpd writes
/// it, or chunks a streamed body); a field libmicrohttpd rejects is logged and left out.
func addHeaders(
    of response: HTTPResponse, to mhdResponse: OpaquePointer, for request: HTTPServer.RequestState,
    context: HTTPServer.Context
) {
    for (name, value) in response.headers where HTTPRequest.lowercasedASCII(name) != "content-length" {
        if MHD_add_response_header(mhdResponse, name, value) != .YES {
            context.logger.warning("\(request.method) \(AccessLogWriter.loggable(request.path)): header \(name) rejected")
        }
    }
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
