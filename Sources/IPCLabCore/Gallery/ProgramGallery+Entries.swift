/// The gallery's examples, at least one per mechanism. Each runs to `ok`; its checks hold on that run, and
/// its run carries exactly the observations listed, each holding (``ProgramObservations``; the e2e
/// tests post each entry with its checks and expect both). An empty list says no catalog
/// observation's shape can be seen in its events (shared memory's plain stores and segment states
/// are not in a program's trace).
extension ProgramGallery {
    public static let standardEntries: [GalleryEntry] = [
        GalleryEntry(
            id: "c.pipe_parent_child", title: "A pipe from a child to its parent", mechanism: "pipe",
            claim: "The child's write arrives through the pipe, and the parent's read returns 0 (end-of-file) "
                + "once every write end is closed — its own included.",
            observations: ["pipe.hello.message_received", "pipe.hello.parent_waited", "pipe.eof.read_returns_zero"],
            checks: [ok, exitsZero("pipe"), call("pipe"), call("fork"),
                     stdout("pipe", "parent read 21 bytes: hello from the child")],
            programs: [GalleryProgram(name: "pipe", file: "pipe_parent_child.c")]),
        GalleryEntry(
            id: "c.pipe_filter", title: "A filter: standard input through a pipe to a child", mechanism: "pipe",
            claim: "The lines the parent reads from its standard input reach the child through the pipe as a byte "
                + "stream, and the child's read returns 0 once the parent has closed its write end.",
            observations: ["pipe.eof.read_returns_zero"],
            checks: [ok, exitsZero("filter"), exitsZero("filter.1"), call("pipe"), call("fork"),
                     stdout("filter", "parent: sent 2 lines through the pipe (transform: upper)"),
                     stdout("filter.1", "child: 1: HELLO FROM STDIN\nchild: 2: SECOND LINE\nchild: end of file after 2 lines")],
            programs: [GalleryProgram(name: "filter", file: "pipe_filter.c", args: ["upper", "2"],
                                      stdin: "hello from stdin\nsecond line\nthird line, not sent\n")]),
        GalleryEntry(
            id: "c.fifo", title: "A FIFO: two processes meet by a path", mechanism: "fifo",
            claim: "A FIFO has a name in the file system; each side's open() waits until the other side opens it too.",
            observations: ["fifo.unrelated.met_by_path"],
            checks: [ok, exitsZero("fifo"), call("mkfifo"), stdout("fifo", "reader got: hello through the FIFO")],
            programs: [GalleryProgram(name: "fifo", file: "fifo.c")]),
        GalleryEntry(
            id: "c.sysv_shm", title: "System V shared memory between a parent and its child", mechanism: "shm",
            claim: "What the child stores in a segment it attached with shmat(), the parent reads from its own "
                + "attachment: no system call moves the bytes.",
            observations: [],
            checks: [ok, exitsZero("sysv_shm"), call("shmget"), call("shmat", min: 2),
                     stdout("sysv_shm", "parent reads: written by the child into shared memory")],
            programs: [GalleryProgram(name: "sysv_shm", file: "sysv_shm.c")]),
        GalleryEntry(
            id: "c.posix_shm_sem", title: "POSIX shared memory and a semaphore that says \"ready\"", mechanism: "sem",
            claim: "The parent's sem_wait() blocks until the child has written the shared memory and called sem_post(), "
                + "so the parent never reads before the child wrote.",
            observations: ["sem.mutex.waiters_slept"],
            checks: [ok, exitsZero("posix_shm"), call("shm_open"), call("sem_post"), call("sem_wait"),
                     stdout("posix_shm", "parent reads: the child's message in POSIX shared memory")],
            programs: [GalleryProgram(name: "posix_shm", file: "posix_shm_sem.c")]),
        GalleryEntry(
            id: "c.message_queue", title: "A POSIX message queue: whole messages, by priority", mechanism: "mq",
            claim: "Each mq_receive() returns one whole message, the highest priority first — not in the order they were sent.",
            observations: ["mq.posix.highest_priority_first"],
            checks: [ok, exitsZero("mq"), call("mq_send", min: 3), call("mq_receive", min: 3),
                     stdout("mq", "received \"high priority\" (priority 9)\nreceived \"middle priority\" (priority 5)\n"
                            + "received \"low priority\" (priority 1)")],
            programs: [GalleryProgram(name: "mq", file: "message_queue.c")]),
        GalleryEntry(
            id: "c.message_queue_args", title: "A POSIX message queue fed from the command line", mechanism: "mq",
            claim: "Each argument PRIORITY:TEXT becomes one message; the receiver gets them highest priority first, "
                + "whatever order the arguments gave.",
            observations: ["mq.posix.highest_priority_first"],
            checks: [ok, exitsZero("mq_args"), call("mq_send", min: 3), call("mq_receive", min: 3),
                     stdout("mq_args", "parent: received \"fire alarm\" (priority 9)\nparent: received \"lunch is ready\" "
                            + "(priority 5)\nparent: received \"tidy up\" (priority 1)")],
            programs: [GalleryProgram(name: "mq_args", file: "message_queue_args.c",
                                      args: ["1:tidy up", "9:fire alarm", "5:lunch is ready"])]),
        GalleryEntry(
            id: "c.signal_handler", title: "Signals as IPC: a ping with SIGUSR1, a pong with SIGUSR2", mechanism: "signal",
            claim: "A handler installed with sigaction() runs when kill() delivers the signal; blocking the signals before "
                + "fork() and waiting in sigsuspend() loses none of them.",
            observations: ["signal.handshake.b_received"],
            checks: [ok, exitsZero("signals"), call("sigaction", min: 2), call("kill", min: 2),
                     stdout("signals", "parent: got SIGUSR2 back from the child")],
            programs: [GalleryProgram(name: "signals", file: "signal_handler.c")]),
        GalleryEntry(
            id: "c.socket_server_client", title: "A Unix-domain socket server and its client", mechanism: "socket",
            claim: "The server's accept() waits for the client's connect(); then each side reads what the other wrote "
                + "over one two-way connection.",
            observations: ["socket.unix_stream.bytes_conserved", "socket.unix_stream.two_way"],
            checks: [ok, exitsZero("server"), exitsZero("client"), call("accept"), call("connect"),
                     stdout("server", "server: got \"hello, server\""),
                     stdout("client", "client: server replied \"echo: hello, server\"")],
            programs: [GalleryProgram(name: "server", file: "socket_server.c"),
                       GalleryProgram(name: "client", file: "socket_client.c")]),
    ]

    private static let ok: JSONValue = ["id": "outcome_ok", "kind": "outcome", "is": "ok"]

    private static func exitsZero(_ process: String) -> JSONValue {
        ["id": .string("\(process)_exits_0"), "kind": "exit", "process": .string(process), "code": 0]
    }

    private static func call(_ name: String, min: Int64 = 1) -> JSONValue {
        ["id": .string("calls_\(name)"), "kind": "call", "match": ["call": .string(name)], "count": ["min": .integer(min)]]
    }

    private static func stdout(_ process: String, _ contains: String) -> JSONValue {
        ["id": .string("\(process)_stdout"), "kind": "stdout", "process": .string(process), "contains": .string(contains)]
    }
}
