/* sockets_trace.c — sockets in a traced program (the layouts of EventArguments+Sockets.swift; a
 * socket's `read`/`write` are recorded by trace.c as `sock.read`/`sock.write`). An address goes in
 * the payload, where the server reads it back for `addr` (bind, connect) or `peer` (accept). */
#include "trace_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/un.h>

/* A socket address as text: "127.0.0.1:8080", "/tmp/sock", or "" for what is neither. */
static size_t address_text(const struct sockaddr *addr, socklen_t len, char *out, size_t size) {
    out[0] = 0;
    if (!addr || len < (socklen_t)sizeof(sa_family_t)) return 0;
    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const void *)addr;
        char host[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
    } else if (addr->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const void *)addr;
        size_t n = len - offsetof(struct sockaddr_un, sun_path);
        if (n > size - 1) n = size - 1;
        memcpy(out, un->sun_path, n);
        out[n] = 0;
        if (n > 0 && out[0] == 0) out[0] = '@'; /* the abstract namespace */
    }
    return strnlen(out, size);
}

/* --- sockets ------------------------------------------------------------------------------------ */

int socket(int domain, int type, int protocol) {
    int r = REAL.socket(domain, type, protocol);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[4] = { domain, type, protocol, NO_CHANNEL };
        RECORD_NOW("socket", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

int socketpair(int domain, int type, int protocol, int sv[2]) {
    int r = REAL.socketpair(domain, type, protocol, sv);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[6] = { domain, type, protocol, NO_CHANNEL, r == 0 ? sv[0] : -1, r == 0 ? sv[1] : -1 };
        RECORD_NOW("socketpair", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    int r = REAL.bind(fd, addr, len);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        char text[IPCLAB_PAYLOAD_MAX];
        size_t n = address_text(addr, len, text, sizeof text);
        int64_t args[2] = { fd, NO_CHANNEL };
        RECORD_NOW("bind", args, r, err, text, n);
    }
    RETURN_WITH(r, err);
}

int listen(int fd, int backlog) {
    int r = REAL.listen(fd, backlog);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[3] = { fd, backlog, NO_CHANNEL };
        RECORD_NOW("listen", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
    if (!ipclab_tracing) return REAL.accept(fd, addr, len);
    int64_t args[3] = { fd, NO_CHANNEL, -1 };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "accept", -1, args, 3);
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    int r = REAL.accept(fd, (struct sockaddr *)&peer, &peer_len);
    int err = r < 0 ? errno : 0;
    char text[IPCLAB_PAYLOAD_MAX];
    size_t n = r >= 0 ? address_text((struct sockaddr *)&peer, peer_len, text, sizeof text) : 0;
    if (r >= 0 && addr && len) {
        socklen_t copy = *len < peer_len ? *len : peer_len;
        memcpy(addr, &peer, copy);
        *len = peer_len;
    }
    ipclab_end(slot, r, err, n ? text : NULL, n);
    RETURN_WITH(r, err);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    if (!ipclab_tracing) return REAL.connect(fd, addr, len);
    char text[IPCLAB_PAYLOAD_MAX];
    size_t n = address_text(addr, len, text, sizeof text);
    int64_t args[3] = { fd, NO_CHANNEL, -1 };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "connect", -1, args, 3);
    int r = REAL.connect(fd, addr, len);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, text, n);
    RETURN_WITH(r, err);
}

ssize_t send(int fd, const void *buf, size_t len, int flags) {
    if (!ipclab_tracing) return REAL.send(fd, buf, len, flags);
    int64_t args[3] = { fd, (int64_t)len, (flags & MSG_DONTWAIT) != 0 };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "send", -1, args, 3);
    ssize_t r = REAL.send(fd, buf, len, flags);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, buf, r > 0 ? (size_t)r : 0);
    RETURN_WITH(r, err);
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
    if (!ipclab_tracing) return REAL.recv(fd, buf, len, flags);
    int64_t args[3] = { fd, (int64_t)len, (flags & MSG_DONTWAIT) != 0 };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "recv", -1, args, 3);
    ssize_t r = REAL.recv(fd, buf, len, flags);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, buf, r > 0 ? (size_t)r : 0);
    RETURN_WITH(r, err);
}

int shutdown(int fd, int how) {
    int r = REAL.shutdown(fd, how);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[3] = { fd, how, NO_CHANNEL };
        RECORD_NOW("shutdown", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}
