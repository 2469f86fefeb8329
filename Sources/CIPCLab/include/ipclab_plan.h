/*
 * ipclab_plan.h — the flat plan: a run's scenario as the C runner reads it.
 *
 * The server compiles a Scenario (its steps already expanded: loops unrolled, `{i}` substituted)
 * and its RunSchedule into this form (FlatPlan.swift) and writes it into the ring's plan area,
 * where the JSON plan goes for the Swift runner. The C runner (Sources/ipclab-runner) copies it
 * into private memory before any participant exists and validates the copy completely once
 * (runner_plan.c): every offset, count and index below is checked there, never trusted.
 *
 * Layout, little-endian, every offset from the plan's first byte, every section 8-aligned:
 *
 *   header | channels[nchannels] | processes[nprocesses] | steps[nsteps] | string pool
 *
 * A process's steps are steps[first_step ..< first_step + nsteps], in order; a step's index in
 * the trace (`step`) is its position in its process's list. Strings live in the pool, each
 * followed by a NUL; an ipclab_plan_str names one by offset and length (the NUL not counted).
 *
 * Ops are numbered by family (high byte); every family is in the C runner. The server compiles a
 * scenario to a flat plan when it fits the maxima below (FlatPlan.Refusal says why not) and sends the
 * JSON plan to the Swift runner otherwise, as it does every program run (docs/c-runner.md).
 */
#ifndef IPCLAB_PLAN_H
#define IPCLAB_PLAN_H

#include <stdint.h>

#define IPCLAB_PLAN_MAGIC 0x50435049u /* "IPCP" little-endian */
#define IPCLAB_PLAN_VERSION 1u
#define IPCLAB_PLAN_PROCESSES_MAX 16
#define IPCLAB_PLAN_CHANNELS_MAX 64
#define IPCLAB_PLAN_STEPS_MAX (16 * 65536)

/** A string of the pool: `length` bytes at `offset`, then a NUL. */
typedef struct ipclab_plan_str {
    uint32_t offset;
    uint32_t length;
} ipclab_plan_str;

/** Header flags. */
enum {
    /* The run has a socket channel: the init's deadlock watch stays off (a socket wait is not a deadlock it can see). */
    IPCLAB_PLAN_HAS_SOCKET = 1u << 0,
};

/** RunSchedule.cpus. */
enum ipclab_plan_cpus {
    IPCLAB_PLAN_CPUS_ANY = 0,
    IPCLAB_PLAN_CPUS_ONE = 1,
    IPCLAB_PLAN_CPUS_SPREAD = 2,
};

typedef struct ipclab_plan_header {
    uint32_t magic;          /* IPCLAB_PLAN_MAGIC */
    uint16_t version;        /* IPCLAB_PLAN_VERSION */
    uint16_t flags;          /* IPCLAB_PLAN_HAS_SOCKET */
    uint32_t length;         /* the whole plan in bytes (== the ring header's plan_length) */
    uint16_t nprocesses;     /* 1 ... IPCLAB_PLAN_PROCESSES_MAX */
    uint16_t nchannels;      /* 0 ... IPCLAB_PLAN_CHANNELS_MAX */
    uint32_t off_channels;
    uint32_t off_processes;
    uint32_t off_steps;
    uint32_t nsteps;         /* all processes' steps */
    uint32_t off_strings;
    uint32_t strings_length;
    int64_t seed;            /* RunSchedule.seed (JitterGenerator) */
    uint32_t jitter_us;      /* RunSchedule.jitterUs; 0: no jitter */
    uint8_t cpus;            /* enum ipclab_plan_cpus */
    uint8_t reserved0[3];
    uint8_t reserved1[8];
} ipclab_plan_header;

/** Channel kinds (Channel.kind). */
enum ipclab_plan_channel_kind {
    IPCLAB_PLAN_CHANNEL_PIPE = 1,
    IPCLAB_PLAN_CHANNEL_FIFO = 2,          /* path; flags: IPCLAB_PLAN_FIFO_BEFORE_FORK */
    IPCLAB_PLAN_CHANNEL_SHARED_MEMORY = 3, /* sub, flags and numbers: the shared-memory block below */
    IPCLAB_PLAN_CHANNEL_SEMAPHORE = 4,
    IPCLAB_PLAN_CHANNEL_MESSAGE_QUEUE = 5,
    IPCLAB_PLAN_CHANNEL_SOCKET = 6,
};

enum {
    IPCLAB_PLAN_FIFO_BEFORE_FORK = 1u << 0,
};

typedef struct ipclab_plan_channel {
    uint8_t kind;            /* enum ipclab_plan_channel_kind */
    uint8_t sub;             /* the kind's variant (each family's block below) */
    uint8_t flags;
    uint8_t reserved0;
    uint32_t reserved1;
    ipclab_plan_str name;
    ipclab_plan_str path;    /* FIFO path (absolute) */
    ipclab_plan_str text;    /* reserved (e.g. shared memory's initial text) */
    int64_t a, b, c;         /* the kind's numbers (each family's block below) */
} ipclab_plan_channel;

typedef struct ipclab_plan_process {
    ipclab_plan_str name;    /* PR_SET_NAME, and what the trace calls the process */
    uint32_t first_step;
    uint32_t nsteps;
} ipclab_plan_process;

/** Which end of a pipe or FIFO (PipeEnd). */
enum ipclab_plan_end {
    IPCLAB_PLAN_END_READ = 0,
    IPCLAB_PLAN_END_WRITE = 1,
};

/** Step flags. */
enum {
    IPCLAB_PLAN_STEP_NONBLOCKING = 1u << 0, /* open: O_NONBLOCK */
    IPCLAB_PLAN_STEP_DATA_SIZE = 1u << 1,   /* write: n[0] bytes 'a'+i%26 made by the runner, not `text` */
};

/**
 * Ops. Each names the Swift step it stands for and which fields it uses; the records it makes are
 * those of Participant+<Family>.swift, call for call and argument for argument.
 */
enum ipclab_plan_op {
    /* process (ProcessStep) */
    IPCLAB_OP_SLEEP = 0x0101,          /* n[0] ms */
    IPCLAB_OP_WAIT = 0x0102,           /* process: the child waited for (-1: none of that name) */
    IPCLAB_OP_EXIT = 0x0103,           /* n[0] code */
    IPCLAB_OP_SPIN = 0x0104,           /* n[0] ms */
    IPCLAB_OP_ALLOCATE = 0x0105,       /* n[0] bytes */
    IPCLAB_OP_FORK_CHILDREN = 0x0106,  /* n[0] count, n[1] sleep ms */
    IPCLAB_OP_OPEN_FILES = 0x0107,     /* n[0] count */
    IPCLAB_OP_WRITE_FILE = 0x0108,     /* text: file name under /tmp, n[0] bytes */

    /* pipes and FIFOs (PipeStep); `channel` is a pipe or FIFO channel */
    IPCLAB_OP_WRITE = 0x0201,          /* text, or n[0] bytes with IPCLAB_PLAN_STEP_DATA_SIZE; n[1] repeat */
    IPCLAB_OP_READ = 0x0202,           /* n[0] size, n[1] repeat */
    IPCLAB_OP_READ_ALL = 0x0203,       /* n[0] size */
    IPCLAB_OP_FILL = 0x0204,           /* n[0] size */
    IPCLAB_OP_CLOSE = 0x0205,          /* end */
    IPCLAB_OP_FSTAT = 0x0206,          /* end */
    IPCLAB_OP_MKFIFO = 0x0207,         /* (a FIFO channel) */
    IPCLAB_OP_OPEN = 0x0208,           /* end; IPCLAB_PLAN_STEP_NONBLOCKING */
    IPCLAB_OP_SET_NONBLOCKING = 0x0209,/* end, n[0] enabled (0/1) */
    IPCLAB_OP_SET_PIPE_SIZE = 0x020A,  /* n[0] size */
    IPCLAB_OP_GET_PIPE_SIZE = 0x020B,  /* — */
    IPCLAB_OP_DUP2 = 0x020C,           /* end, n[0] fd */
    IPCLAB_OP_STAGE = 0x020D,          /* n[0] program (0 random, 1 alnum, 2 take), n[1] count; no channel */

    /* signals 0x03xx, sandbox probes 0x09xx, measurements 0x0Axx */
    /* signals (SignalStep); `process` is a process index resolved by name (-1: none of that name) */
    IPCLAB_OP_SIGACTION = 0x0301,      /* sig; n[0] disposition (enum ipclab_disposition), n[1] reply signal (0: none)
                                          to `process`, n[2] exit status (-1: none); IPCLAB_PLAN_STEP_RESTART */
    IPCLAB_OP_KILL = 0x0302,           /* process, sig, n[0] repeat */
    IPCLAB_OP_SIGQUEUE = 0x0303,       /* process, sig, n[0] repeat, n[1] value kind (IPCLAB_PLAN_SIGVAL_*),
                                          n[2] the int value (INT), text the pointed-to text (POINTER, STATIC) */
    IPCLAB_OP_SIGPROCMASK = 0x0304,    /* n[0] how (0 block, 1 unblock, 2 setmask), n[1] the set (bit sig-1) */
    IPCLAB_OP_SIGPENDING = 0x0305,     /* — */
    IPCLAB_OP_WAIT_SIGNALS = 0x0306,   /* n[0] count, n[1] timeout ms */
    IPCLAB_OP_READ_POINTER = 0x0307,   /* n[0] size (1...4096), text own (length 0: none) */
    IPCLAB_OP_FAULT = 0x0308,          /* n[0] kind (enum ipclab_fault_kind) */
    IPCLAB_OP_PROC_STAT = 0x0309,      /* process */
    IPCLAB_OP_SETPGID = 0x030A,        /* process, process2 the group (its leader) */
    IPCLAB_OP_KILL_GROUP = 0x030B,     /* process2 the group (its leader), sig */
    IPCLAB_OP_SETRESGID = 0x030C,      /* n[0] gid */
    IPCLAB_OP_SETRESUID = 0x030D,      /* n[0] uid */
    /* sandbox probes (SandboxStep) */
    IPCLAB_OP_TRY_SYSCALL = 0x0901,    /* text: the call's name (ipclab_try_syscall_name), also the record's key */
    /* measurements (BenchStep); `channel` is the sync region (a shared-memory channel); n[2] the mechanism
     * (enum ipclab_bench_mechanism), n[3] the CPU (-1: none); reserved[0] the data channel, of the mechanism's
     * kind (a pipe or FIFO, a stream socketpair, a TCP socket, a POSIX queue; -1: none, for shm_ring, signal
     * and semaphore), reserved[1] the reply channel (latency over a pipe or a queue, of that kind; else -1) */
    IPCLAB_OP_BENCH_SEND = 0x0A01,     /* n[0] total bytes, n[1] chunk bytes */
    IPCLAB_OP_BENCH_RECEIVE = 0x0A02,  /* n[0] total bytes, n[1] chunk bytes */
    IPCLAB_OP_BENCH_PING = 0x0A03,     /* n[0] round trips */
    IPCLAB_OP_BENCH_PONG = 0x0A04,     /* n[0] round trips */

    /* shared memory 0x04xx, semaphores 0x05xx */
    /* shared memory (SharedMemoryStep); `channel` is a shared-memory channel; every offset (and its
     * extent: the bytes the op touches) lies inside the channel's size `a` (runner_plan.c checks) */
    IPCLAB_OP_ATTACH = 0x0401,         /* n[0] address (0: the kernel's choice; else page-aligned) */
    IPCLAB_OP_DETACH = 0x0402,         /* — */
    IPCLAB_OP_STORE = 0x0403,          /* n[0] offset, text: the bytes (1 ... 4096) */
    IPCLAB_OP_LOAD = 0x0404,           /* n[0] offset, n[1] size (1 ... 4096) */
    IPCLAB_OP_STORE_INT = 0x0405,      /* n[0] offset (8-aligned), n[1] value */
    IPCLAB_OP_LOAD_INT = 0x0406,       /* n[0] offset (8-aligned) */
    IPCLAB_OP_STORE_POINTER = 0x0407,  /* n[0] offset (8-aligned), n[1] target offset (< size) */
    IPCLAB_OP_LOAD_POINTER = 0x0408,   /* n[0] offset (8-aligned), n[1] size (1 ... 4096) */
    IPCLAB_OP_INCREMENT = 0x0409,      /* n[0] offset (8-aligned), n[1] times, n[2] semaphore channel (-1: none),
                                        * n[3] detail (0 ... 16); IPCLAB_PLAN_STEP_SYNC_ATOMIC or _SYNC_SEMAPHORE
                                        * (neither: unsynchronised; _SEMAPHORE iff n[2] names a semaphore) */
    IPCLAB_OP_BARRIER = 0x040A,        /* n[0] offset (8-aligned), n[1] count (1 ... 64); IPCLAB_PLAN_STEP_SPREAD */
    IPCLAB_OP_LOOKUP = 0x040B,         /* — */
    IPCLAB_OP_SHM_REMOVE = 0x040C,     /* — */
    IPCLAB_OP_SHM_UNLINK = 0x040D,     /* — */
    /* semaphores (SemaphoreStep); `channel` is a semaphore channel; no other field */
    IPCLAB_OP_SEM_WAIT = 0x0501,
    IPCLAB_OP_SEM_TRYWAIT = 0x0502,
    IPCLAB_OP_SEM_POST = 0x0503,
    IPCLAB_OP_SEM_WAIT_ZERO = 0x0504,
    IPCLAB_OP_SEM_CLOSE = 0x0505,
    IPCLAB_OP_SEM_UNLINK = 0x0506,
    IPCLAB_OP_SEM_REMOVE = 0x0507,

    /* send 0x06xx, message queues 0x07xx, sockets 0x08xx */
    /* send (SendStep); `channel` is a message queue or a socket, the channel's kind picks the call */
    IPCLAB_OP_SEND = 0x0601,           /* text, or n[0] bytes with IPCLAB_PLAN_STEP_DATA_SIZE; n[1] repeat; n[2] System V
                                        * type (0: none given, 1 sent); n[3] POSIX priority (-1: none given, 0 sent);
                                        * IPCLAB_PLAN_STEP_NONBLOCKING; IPCLAB_PLAN_SEND_CALL_SEND / _WRITE (sockets) */
    /* message queues (MessageQueueStep); `channel` is a message queue */
    IPCLAB_OP_RECEIVE = 0x0701,        /* n[0] size (0: the default), n[1] repeat, n[2] msgtyp (with IPCLAB_PLAN_RECEIVE_TYPE);
                                        * text: until (empty: none); IPCLAB_PLAN_STEP_NONBLOCKING, IPCLAB_PLAN_RECEIVE_TRUNCATE */
    IPCLAB_OP_MQ_NOTIFY = 0x0702,      /* sig */
    IPCLAB_OP_OPEN_QUEUE = 0x0703,     /* — */
    IPCLAB_OP_REMOVE_QUEUE = 0x0704,   /* — */
    /* sockets (SocketStep); `channel` is a socket */
    IPCLAB_OP_SOCKET = 0x0801,         /* — */
    IPCLAB_OP_SETSOCKOPT = 0x0802,     /* n[0] option (enum ipclab_socket_option), n[1] value */
    IPCLAB_OP_GETSOCKOPT = 0x0803,     /* n[0] option */
    IPCLAB_OP_BIND = 0x0804,           /* — */
    IPCLAB_OP_LISTEN = 0x0805,         /* n[0] backlog */
    IPCLAB_OP_ACCEPT = 0x0806,         /* — */
    IPCLAB_OP_CONNECT = 0x0807,        /* — */
    IPCLAB_OP_WAIT_READY = 0x0808,     /* — */
    IPCLAB_OP_RECV = 0x0809,           /* n[0] size, n[1] repeat; IPCLAB_PLAN_STEP_NONBLOCKING, IPCLAB_PLAN_RECV_UNTIL_EOF,
                                        * IPCLAB_PLAN_RECV_CALL_READ */
    IPCLAB_OP_SHUTDOWN = 0x080A,       /* n[0] how (enum ipclab_plan_shutdown) */
    IPCLAB_OP_SEND_UNTIL_FULL = 0x080B,/* n[0] chunk size; IPCLAB_PLAN_STEP_NONBLOCKING */
    IPCLAB_OP_SEND_FD = 0x080C,        /* text: path; n[2], n[3]: the data, a second string (offset, length) of the pool;
                                        * IPCLAB_PLAN_SEND_FD_ATTACH, IPCLAB_PLAN_SEND_FD_CLOSE */
    IPCLAB_OP_RECV_FD = 0x080D,        /* n[0] size */
};

/* Channel variants (`sub`), channel flags and op-specific step flags of the other families (a step
 * flag's meaning is its op's: bits from 2 up may be reused by ops of different families). */
/* signals, sandbox probes, measurements */
enum {
    IPCLAB_PLAN_STEP_RESTART = 1u << 2,     /* sigaction: SA_RESTART */
};

/** sigqueue's value (SignalStep.Value). */
enum ipclab_plan_sigval {
    IPCLAB_PLAN_SIGVAL_INT = 0,     /* sival_int = n[2] + the send's index */
    IPCLAB_PLAN_SIGVAL_POINTER = 1, /* sival_ptr = a fresh mmap'd buffer holding text */
    IPCLAB_PLAN_SIGVAL_STATIC = 2,  /* sival_ptr = the static buffer (ipclab_static_buffer) holding text */
};

/* shared memory and semaphores */
/* A shared-memory channel: `sub` SharedMemoryChannel.type, `a` size (1 ... 1 MiB); anonymous: `text`
 * the initial bytes (empty: none); sysv: `path` the ftok file (absolute), `b` the ftok id (1 ... 127);
 * posix: `path` the object's name (/name). A semaphore channel: `sub` SemaphoreChannel.type, `a` the
 * initial value (0 ... 32767); named: `path` its name (/name); sysv: `path` the ftok file, `b` the id. */
enum ipclab_plan_shm_type {
    IPCLAB_PLAN_SHM_ANONYMOUS = 0,
    IPCLAB_PLAN_SHM_SYSV = 1,
    IPCLAB_PLAN_SHM_POSIX = 2,
};
enum ipclab_plan_sem_type {
    IPCLAB_PLAN_SEM_NAMED = 0,
    IPCLAB_PLAN_SEM_UNNAMED = 1,
    IPCLAB_PLAN_SEM_SYSV = 2,
};
enum {
    IPCLAB_PLAN_SHM_PRIVATE = 1u << 0,          /* channel flag: "mapping": "private" (MAP_PRIVATE) */
    IPCLAB_PLAN_STEP_SYNC_ATOMIC = 1u << 2,     /* increment: one atomic fetch-add per iteration */
    IPCLAB_PLAN_STEP_SYNC_SEMAPHORE = 1u << 3,  /* increment: each iteration between a wait and a post on n[2] */
    IPCLAB_PLAN_STEP_SPREAD = 1u << 4,          /* barrier: the n-th arrival pins itself to the n-th CPU */
};

/* send, message queues and sockets */
/* A message queue's `sub` (MessageQueueChannel). System V: a = key. POSIX: path = the queue's name,
 * a = max messages, b = message size, flags IPCLAB_PLAN_MQ_RAISE_MSG_MAX. */
enum ipclab_plan_mq_api {
    IPCLAB_PLAN_MQ_SYSV = 0,
    IPCLAB_PLAN_MQ_POSIX = 1,
};
enum {
    IPCLAB_PLAN_MQ_RAISE_MSG_MAX = 1u << 0,
};
/* A socket's `sub` (SocketChannel): tcp/udp a = IPv4 address (host order), b = port; unix: path. */
enum ipclab_plan_socket {
    IPCLAB_PLAN_SOCKET_TCP = 0,
    IPCLAB_PLAN_SOCKET_UDP = 1,
    IPCLAB_PLAN_SOCKET_UNIX_STREAM = 2,
    IPCLAB_PLAN_SOCKET_UNIX_DGRAM = 3,
    IPCLAB_PLAN_SOCKET_PAIR_STREAM = 4,
    IPCLAB_PLAN_SOCKET_PAIR_DGRAM = 5,
    IPCLAB_PLAN_SOCKET_PAIR_SEQPACKET = 6,
};
/* shutdown's `how` (SocketStep.How). */
enum ipclab_plan_shutdown {
    IPCLAB_PLAN_SHUT_READ = 0,
    IPCLAB_PLAN_SHUT_WRITE = 1,
    IPCLAB_PLAN_SHUT_BOTH = 2,
};
/* Step flags of these ops (bit 0 is IPCLAB_PLAN_STEP_NONBLOCKING, bit 1 IPCLAB_PLAN_STEP_DATA_SIZE). */
enum {
    IPCLAB_PLAN_SEND_CALL_SEND = 1u << 2,   /* send: "call": "send" given */
    IPCLAB_PLAN_SEND_CALL_WRITE = 1u << 3,  /* send: "call": "write" */
    IPCLAB_PLAN_RECEIVE_TRUNCATE = 1u << 2, /* receive: MSG_NOERROR */
    IPCLAB_PLAN_RECEIVE_TYPE = 1u << 3,     /* receive: n[2] is a msgtyp given (else none, 0 used) */
    IPCLAB_PLAN_RECV_UNTIL_EOF = 1u << 2,   /* recv: until it returns 0 */
    IPCLAB_PLAN_RECV_CALL_READ = 1u << 3,   /* recv: read(2) */
    IPCLAB_PLAN_SEND_FD_ATTACH = 1u << 2,   /* send_fd: the descriptor goes with the byte */
    IPCLAB_PLAN_SEND_FD_CLOSE = 1u << 3,    /* send_fd: close it afterwards */
};


typedef struct ipclab_plan_step {
    uint16_t op;             /* enum ipclab_plan_op */
    uint16_t flags;          /* IPCLAB_PLAN_STEP_* */
    int16_t channel;         /* channel index, -1: none */
    int16_t process;         /* another process's index (wait, kill, ...), -1: none */
    int16_t process2;        /* a second process or group, -1: none */
    int16_t end;             /* enum ipclab_plan_end, -1: none */
    int32_t sig;             /* a signal number, 0: none */
    int32_t reserved[2];
    int64_t n[4];            /* the op's numbers, as its comment says */
    ipclab_plan_str text;    /* the op's text (data, a file name), length 0: none */
} ipclab_plan_step;

#ifdef __cplusplus
#define IPCLAB_PLAN_ASSERT static_assert
#else
#define IPCLAB_PLAN_ASSERT _Static_assert
#endif
IPCLAB_PLAN_ASSERT(sizeof(ipclab_plan_header) == 64, "plan header is 64 bytes");
IPCLAB_PLAN_ASSERT(sizeof(ipclab_plan_channel) == 56, "plan channel is 56 bytes");
IPCLAB_PLAN_ASSERT(sizeof(ipclab_plan_process) == 16, "plan process is 16 bytes");
IPCLAB_PLAN_ASSERT(sizeof(ipclab_plan_step) == 64, "plan step is 64 bytes");
#undef IPCLAB_PLAN_ASSERT

#endif
