/*
 * participant_sockets.c — socket steps, `send` on a socket, and the socket's OBJECT snapshot after
 * each send and receive. The C port of Participant+Sockets.swift, record for record and argument for
 * argument (EventArguments+Sockets.swift names them; the keys are those of Call+Sockets.swift).
 *
 * Per process and socket channel: msg_handle[c] is the socket it made (a server's listening socket,
 * or sv[0] of a socketpair), ends[c].read its connection once `accept` gave one, ends[c].write a
 * socketpair's sv[1] (the other processes' end), and msg_flag[c] is 1 once the socket is connected.
 */
#include "participant_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipclab_sockets.h"

/* The wait of wait_ready: an hour, the run's wall-clock limit ends it first. */
#define READY_TIMEOUT_NS 3600000000000LL

static const ipclab_plan_channel *channel(int c) { return &participant_self.plan->channels[c]; }

static int is_pair(int c) { return channel(c)->sub >= IPCLAB_PLAN_SOCKET_PAIR_STREAM; }

/* SocketChannel.isListening: TCP and Unix streams. */
static int is_listening(int c) {
    return channel(c)->sub == IPCLAB_PLAN_SOCKET_TCP || channel(c)->sub == IPCLAB_PLAN_SOCKET_UNIX_STREAM;
}

/* SocketChannel.isDatagram: message boundaries kept. */
static int is_datagram(int c) {
    switch (channel(c)->sub) {
    case IPCLAB_PLAN_SOCKET_UDP: case IPCLAB_PLAN_SOCKET_UNIX_DGRAM:
    case IPCLAB_PLAN_SOCKET_PAIR_DGRAM: case IPCLAB_PLAN_SOCKET_PAIR_SEQPACKET:
        return 1;
    default:
        return 0;
    }
}

/* Participant.kind(of:): the CIPCLab socket kind of the channel. */
static int kind_of(int c) {
    switch (channel(c)->sub) {
    case IPCLAB_PLAN_SOCKET_TCP: return IPCLAB_SOCKET_TCP;
    case IPCLAB_PLAN_SOCKET_UDP: return IPCLAB_SOCKET_UDP;
    case IPCLAB_PLAN_SOCKET_UNIX_STREAM: case IPCLAB_PLAN_SOCKET_PAIR_STREAM: return IPCLAB_SOCKET_UNIX_STREAM;
    case IPCLAB_PLAN_SOCKET_UNIX_DGRAM: case IPCLAB_PLAN_SOCKET_PAIR_DGRAM: return IPCLAB_SOCKET_UNIX_DGRAM;
    default: return IPCLAB_SOCKET_UNIX_SEQPACKET;
    }
}

static int made(int c) { return (int)participant_self.msg_handle[c]; }

/* This process's connection on channel `c`: the accepted socket, a socketpair's own end, or the socket it made. */
static int connection(int c) {
    participant *p = &participant_self;
    if (p->ends[c].read >= 0) return p->ends[c].read;
    if (is_pair(c) && p->index != 0) return p->ends[c].write;
    return made(c);
}

/* The channel's address, for bind, connect and sendto (zeroed for a socketpair). */
static ipclab_address address(int c) {
    const ipclab_plan_channel *ch = channel(c);
    ipclab_address a;
    memset(&a, 0, sizeof a);
    switch (ch->sub) {
    case IPCLAB_PLAN_SOCKET_TCP: case IPCLAB_PLAN_SOCKET_UDP:
        a.family = ipclab_AF_INET;
        a.ipv4 = (uint32_t)ch->a;
        a.port = (int32_t)ch->b;
        break;
    case IPCLAB_PLAN_SOCKET_UNIX_STREAM: case IPCLAB_PLAN_SOCKET_UNIX_DGRAM: {
        a.family = ipclab_AF_UNIX;
        size_t n = ch->path.length < sizeof a.path - 1 ? ch->path.length : sizeof a.path - 1;
        memcpy(a.path, participant_string(ch->path), n);
        a.path[n] = 0;
        break;
    }
    default:
        break;
    }
    return a;
}

void participant_create_socket_channel(int c) {
    participant *p = &participant_self;
    p->msg_handle[c] = -1;
    p->msg_flag[c] = 0;
    if (!p->socket_ready) {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (page != MAP_FAILED) p->socket_ready = page;
    }
    if (!is_pair(c)) return;
    int kind = kind_of(c);
    int sv[2] = { -1, -1 };
    int r = ipclab_socketpair(kind, sv);
    int err = r < 0 ? errno : 0;
    int64_t args[6] = { ipclab_AF_UNIX, ipclab_socket_type(kind), 0, c, sv[0], sv[1] };
    (void)participant_instant("socketpair", -1, args, 6, r, err);
    if (r == 0) {
        p->ends[c] = (participant_ends){ -1, sv[1] };
        p->msg_handle[c] = sv[0];
        p->msg_flag[c] = 1;
    }
}

/* The bytes queued on a socket after record `slot`: SIOCINQ, SIOCOUTQ, and SO_SNDBUF. */
static void snapshot(int c, int fd, uint32_t slot) {
    int inq = ipclab_socket_inq(fd);
    int outq = ipclab_socket_outq(fd);
    if (inq < 0 && outq < 0) return;
    int64_t sndbuf = -1;
    (void)ipclab_getsockopt(fd, IPCLAB_SO_SNDBUF, &sndbuf);
    int64_t args[5] = { c, inq, outq, slot == PARTICIPANT_NO_RECORD ? -1 : (int64_t)slot, sndbuf };
    (void)ipclab_record_now(IPCLAB_REC_OBJECT, "socket", -1, args, 5, 0, 0, NULL, 0);
}

static void mark_ready(int c) {
    if (participant_self.socket_ready) ipclab_futex_set(participant_self.socket_ready + c);
}

/* One send: send(2), sendto(2) on a datagram socket not connected, or write(2) when `write_call`. */
static participant_outcome send_on_socket(int c, const void *bytes, int64_t len, int flags, int write_call, int step) {
    int fd = connection(c);
    int connected = participant_self.msg_flag[c] == 1;
    int to = !write_call && !connected && is_datagram(c);
    const char *name = write_call ? "sock.write" : to ? "sendto" : "send";
    int64_t args[4];
    int nargs;
    if (write_call) {
        args[0] = fd; args[1] = len; args[2] = c;
        nargs = 3;
    } else {
        args[0] = fd; args[1] = len; args[2] = flags; args[3] = c;
        nargs = 4;
    }
    ipclab_address a = address(c);
    uint32_t slot = participant_begin(name, step, args, nargs);
    ssize_t r;
    if (write_call) r = write(fd, bytes, (size_t)len);
    else if (to) r = ipclab_sendto(fd, bytes, (size_t)len, flags, &a);
    else r = send(fd, bytes, (size_t)len, flags | MSG_NOSIGNAL);
    int err = r < 0 ? errno : 0;
    participant_end(slot, r, err, bytes, r < len ? r : len);
    snapshot(c, fd, slot);
    return (participant_outcome){ r, err, slot };
}

void participant_send_to_socket(const ipclab_plan_step *s, const void *bytes, int64_t len, int step) {
    int flags = (s->flags & IPCLAB_PLAN_STEP_NONBLOCKING) ? ipclab_MSG_DONTWAIT : 0;
    int write_call = (s->flags & IPCLAB_PLAN_SEND_CALL_WRITE) != 0;
    for (int64_t k = 0; k < s->n[1]; k++) {
        if (send_on_socket(s->channel, bytes, len, flags, write_call, step).result < 0) return;
    }
}

/* One receive: recv(2), recvfrom(2) on a UDP socket (the sender's port into args[4]), or read(2). */
static int64_t receive(int c, int64_t size, int nonblocking, int read_call, int step) {
    int fd = connection(c);
    int flags = nonblocking ? ipclab_MSG_DONTWAIT : 0;
    uint8_t *buffer = participant_buffer();
    int64_t cap = size < PARTICIPANT_BUFFER_BYTES ? size : PARTICIPANT_BUFFER_BYTES;
    ssize_t r;
    uint32_t slot;
    if (read_call) {
        int64_t args[3] = { fd, size, c };
        slot = participant_begin("sock.read", step, args, 3);
        r = buffer ? read(fd, buffer, (size_t)cap) : (errno = ENOMEM, -1);
        int err = r < 0 ? errno : 0;
        participant_end(slot, r, err, buffer, r);
    } else if (channel(c)->sub == IPCLAB_PLAN_SOCKET_UDP) {
        int64_t args[5] = { fd, size, flags, c, -1 };
        slot = participant_begin("recvfrom", step, args, 5);
        ipclab_address from;
        memset(&from, 0, sizeof from);
        r = buffer ? ipclab_recvfrom(fd, buffer, (size_t)cap, flags, &from) : (errno = ENOMEM, -1);
        int err = r < 0 ? errno : 0;
        ipclab_record *rec = participant_record(slot);
        if (rec && from.port != 0) rec->args[4] = from.port;
        participant_end(slot, r, err, buffer, r);
    } else {
        int64_t args[4] = { fd, size, flags, c };
        slot = participant_begin("recv", step, args, 4);
        r = buffer ? recv(fd, buffer, (size_t)cap, flags) : (errno = ENOMEM, -1);
        int err = r < 0 ? errno : 0;
        participant_end(slot, r, err, buffer, r);
    }
    snapshot(c, fd, slot);
    return r;
}

/* send_fd: open a file in the run's /tmp, write into it, rewind, pass the descriptor over the socket. */
static void send_fd(const ipclab_plan_step *s, int step) {
    int c = s->channel;
    const char *path = participant_string(s->text);
    ipclab_plan_str data_str = { (uint32_t)s->n[2], (uint32_t)s->n[3] };
    const char *data = participant_string(data_str);
    int flags = O_CREAT | O_RDWR | O_TRUNC;
    int64_t open_args[5] = { flags, 0600, -1, 0, c };
    uint32_t slot = participant_begin("openat", step, open_args, 5);
    int file = open(path, flags, 0600);
    participant_end(slot, file, file < 0 ? errno : 0, NULL, 0);
    if (file >= 0) {
        ssize_t w = write(file, data, data_str.length);
        int64_t write_args[2] = { file, data_str.length };
        (void)ipclab_record_now(IPCLAB_REC_EVENT, "file.write", step, write_args, 2, w, w < 0 ? errno : 0,
                                data, w > 0 ? (size_t)w : 0);
        off_t o = lseek(file, 0, SEEK_SET);
        int64_t seek_args[3] = { file, 0, SEEK_SET };
        (void)participant_instant("lseek", step, seek_args, 3, o, o < 0 ? errno : 0);
    }
    int sock = connection(c);
    int passed = (s->flags & IPCLAB_PLAN_SEND_FD_ATTACH) ? file : -1;
    int64_t send_args[3] = { sock, passed, c };
    slot = participant_begin("sendmsg", step, send_args, 3);
    ssize_t r = ipclab_sendmsg_fd(sock, (uint8_t)'F', passed);
    participant_end(slot, r, r < 0 ? errno : 0, NULL, 0);
    if ((s->flags & IPCLAB_PLAN_SEND_FD_CLOSE) && file >= 0) {
        int cr = close(file);
        int64_t close_args[1] = { file };
        (void)participant_instant("file.close", step, close_args, 1, cr, cr < 0 ? errno : 0);
    }
}

/* recv_fd: one byte and a descriptor, then a read through the descriptor. */
static void recv_fd(int c, int64_t size, int step) {
    int sock = connection(c);
    uint8_t byte = 0;
    int fd = -1;
    /* args[1] gets the descriptor the message carried (-1: none). */
    int64_t args[3] = { sock, -1, c };
    uint32_t slot = participant_begin("recvmsg", step, args, 3);
    ssize_t r = ipclab_recvmsg_fd(sock, &byte, &fd);
    int err = r < 0 ? errno : 0;
    ipclab_record *rec = participant_record(slot);
    if (rec) rec->args[1] = fd;
    participant_end(slot, r, err, NULL, 0);
    if (fd < 0) return;
    uint8_t *buffer = participant_buffer();
    int64_t cap = size < PARTICIPANT_BUFFER_BYTES ? size : PARTICIPANT_BUFFER_BYTES;
    int64_t read_args[2] = { fd, size };
    slot = participant_begin("file.read", step, read_args, 2);
    ssize_t n = buffer ? read(fd, buffer, (size_t)cap) : (errno = ENOMEM, -1);
    participant_end(slot, n, n < 0 ? errno : 0, buffer, n);
}

void participant_run_socket_step(const ipclab_plan_step *s, int step) {
    participant *p = &participant_self;
    int c = s->channel;
    switch (s->op) {
    case IPCLAB_OP_SOCKET: {
        int kind = kind_of(c);
        int fd = ipclab_socket(kind);
        int64_t args[4] = { ipclab_socket_domain(kind), ipclab_socket_type(kind), 0, c };
        (void)participant_instant("socket", step, args, 4, fd, fd < 0 ? errno : 0);
        if (fd >= 0) {
            p->ends[c] = (participant_ends){ -1, -1 };
            p->msg_handle[c] = fd;
            p->msg_flag[c] = 0;
        }
        break;
    }
    case IPCLAB_OP_SETSOCKOPT: {
        int fd = connection(c);
        int o = (int)s->n[0];
        int r = ipclab_setsockopt(fd, o, s->n[1]);
        int64_t args[6] = { fd, ipclab_sockopt_level(o), ipclab_sockopt_name(o), s->n[1], c, o };
        (void)participant_instant("setsockopt", step, args, 6, r, r < 0 ? errno : 0);
        break;
    }
    case IPCLAB_OP_GETSOCKOPT: {
        int fd = connection(c);
        int o = (int)s->n[0];
        int64_t value = -1;
        int r = ipclab_getsockopt(fd, o, &value);
        int err = r < 0 ? errno : 0;
        if (r != 0) value = -1;
        int64_t args[6] = { fd, ipclab_sockopt_level(o), ipclab_sockopt_name(o), value, c, o };
        (void)participant_instant("getsockopt", step, args, 6, r, err);
        break;
    }
    case IPCLAB_OP_BIND: {
        int fd = made(c);
        ipclab_address a = address(c);
        int r = ipclab_bind(fd, &a);
        int64_t args[2] = { fd, c };
        (void)participant_instant("bind", step, args, 2, r, r < 0 ? errno : 0);
        if (r == 0 && !is_listening(c)) mark_ready(c);
        break;
    }
    case IPCLAB_OP_LISTEN: {
        int fd = made(c);
        int r = listen(fd, (int)s->n[0]);
        int64_t args[3] = { fd, s->n[0], c };
        (void)participant_instant("listen", step, args, 3, r, r < 0 ? errno : 0);
        if (r == 0) mark_ready(c);
        break;
    }
    case IPCLAB_OP_ACCEPT: {
        int fd = made(c);
        /* args[2] gets the peer's port (TCP) once known. */
        int64_t args[3] = { fd, c, -1 };
        uint32_t slot = participant_begin("accept", step, args, 3);
        ipclab_address peer;
        memset(&peer, 0, sizeof peer);
        int r = ipclab_accept(fd, &peer);
        int err = r < 0 ? errno : 0;
        ipclab_record *rec = participant_record(slot);
        if (rec && peer.family == ipclab_AF_INET) rec->args[2] = peer.port;
        participant_end(slot, r, err, NULL, 0);
        if (r >= 0) {
            p->ends[c].read = r;
            p->msg_flag[c] = 1;
        }
        break;
    }
    case IPCLAB_OP_CONNECT: {
        int fd = made(c);
        ipclab_address a = address(c);
        int64_t args[3] = { fd, c, -1 };
        uint32_t slot = participant_begin("connect", step, args, 3);
        int r = ipclab_connect(fd, &a);
        int err = r < 0 ? errno : 0;
        int connected = r == 0;
        ipclab_address own;
        memset(&own, 0, sizeof own);
        ipclab_record *rec = participant_record(slot);
        if (connected && ipclab_getsockname(fd, &own) == 0 && own.family == ipclab_AF_INET && rec) rec->args[2] = own.port;
        participant_end(slot, r, err, NULL, 0);
        if (connected) p->msg_flag[c] = 1;
        break;
    }
    case IPCLAB_OP_WAIT_READY: {
        int64_t args[2] = { c, is_listening(c) ? 0 : 1 };
        uint32_t slot = participant_begin("futex", step, args, 2);
        int r = p->socket_ready ? ipclab_futex_wait_set(p->socket_ready + c, READY_TIMEOUT_NS) : (errno = ENOMEM, -1);
        participant_end(slot, r, r < 0 ? errno : 0, NULL, 0);
        break;
    }
    case IPCLAB_OP_RECV: {
        int until_eof = (s->flags & IPCLAB_PLAN_RECV_UNTIL_EOF) != 0;
        int64_t times = until_eof ? PARTICIPANT_LOOP_LIMIT : s->n[1];
        for (int64_t k = 0; k < times; k++) {
            int64_t r = receive(c, s->n[0], (s->flags & IPCLAB_PLAN_STEP_NONBLOCKING) != 0,
                                (s->flags & IPCLAB_PLAN_RECV_CALL_READ) != 0, step);
            if (r < 0 || (until_eof && r == 0)) return;
        }
        break;
    }
    case IPCLAB_OP_SHUTDOWN: {
        int fd = connection(c);
        int how = s->n[0] == IPCLAB_PLAN_SHUT_READ ? ipclab_SHUT_RD : s->n[0] == IPCLAB_PLAN_SHUT_WRITE ? ipclab_SHUT_WR : ipclab_SHUT_RDWR;
        int r = shutdown(fd, how);
        int64_t args[3] = { fd, how, c };
        (void)participant_instant("shutdown", step, args, 3, r, r < 0 ? errno : 0);
        break;
    }
    case IPCLAB_OP_SEND_UNTIL_FULL: {
        int64_t size = s->n[0];
        const uint8_t *chunk = participant_size_data(size);
        if (!chunk) size = 0;
        for (int k = 0; k < PARTICIPANT_LOOP_LIMIT; k++) {
            participant_outcome r = send_on_socket(c, chunk, size, ipclab_MSG_DONTWAIT, 0, step);
            if (r.result < 0) {
                if (r.err == EAGAIN && !(s->flags & IPCLAB_PLAN_STEP_NONBLOCKING)) (void)send_on_socket(c, chunk, size, 0, 0, step);
                return;
            }
        }
        break;
    }
    case IPCLAB_OP_SEND_FD:
        send_fd(s, step);
        break;
    case IPCLAB_OP_RECV_FD:
        recv_fd(c, s->n[0], step);
        break;
    default:
        break;
    }
}
