/// Answers requests for an ``HTTPServer``.
///
/// The server calls ``handle(_:respond:)`` once per request, after the whole body has
/// arrived, on one of its pool threads, and for several requests at once: a handler must be
/// safe to call concurrently, hence `Sendable`. A handler cannot throw: it turns its errors
/// into responses (the lab's ``APIError`` renders itself), and should not trap, since a trap ends the
/// process.
///
/// Most handlers only implement the synchronous ``handle(_:)``; the default
/// ``handle(_:respond:)`` calls it and responds at once. That call blocks the pool thread,
/// and every other connection of that thread waits until it returns, so it must be quick
/// (a file read, a lookup). Work that may block longer (a run that lasts up to its wall
/// limit) implements ``handle(_:respond:)``: it hands the work to threads of its own
/// (``RunExecutor``) and returns at once; the server then parks the connection
/// (`MHD_suspend_connection`) and sends the response when `respond` is called, from any
/// thread.
///
/// ```swift
/// func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
///     guard request.path == "/slow" else { return respond(handle(request)) }
///     executor.respond(respond) { slowWork(request) }   // 503 at once when it is full
/// }
/// ```
public protocol HTTPHandler: Sendable {
    /// The response to `request`, computed on the calling (pool) thread.
    func handle(_ request: HTTPRequest) -> HTTPResponse

    /// Answers `request` by calling `respond` exactly once, before returning or later, from
    /// any thread. The default calls ``handle(_:)`` and responds with its result.
    ///
    /// - A second call of `respond` is ignored (and logged).
    /// - Dropping `respond` without calling it answers 500 `internal` (and logs an error),
    ///   so a lost response cannot leave a client waiting forever.
    /// - A connection waits for its response with no time limit, but ``HTTPServer/stop()``
    ///   waits only ``HTTPServerConfiguration/stopTimeoutSeconds`` for the ones still owed.
    func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder)
}

/// Sends the response to one request; see ``HTTPHandler/handle(_:respond:)``.
public typealias HTTPResponder = @Sendable (HTTPResponse) -> Void

extension HTTPHandler {
    /// Calls ``handle(_:)`` and responds with its result at once.
    public func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
        respond(handle(request))
    }
}
