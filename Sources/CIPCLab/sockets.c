/* sockets.c — sockets, SCM_RIGHTS and network namespaces (see ipclab_sockets.h). */
#include "ipclab_sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

const int ipclab_AF_INET = AF_INET;
const int ipclab_AF_UNIX = AF_UNIX;
const int ipclab_SOCK_STREAM = SOCK_STREAM;
const int ipclab_SOCK_DGRAM = SOCK_DGRAM;
const int ipclab_SOCK_SEQPACKET = SOCK_SEQPACKET;
const int ipclab_MSG_DONTWAIT = MSG_DONTWAIT;
const int ipclab_SHUT_RD = SHUT_RD;
const int ipclab_SHUT_WR = SHUT_WR;
const int ipclab_SHUT_RDWR = SHUT_RDWR;

int ipclab_socket_domain(int kind) {
    return kind == IPCLAB_SOCKET_TCP || kind == IPCLAB_SOCKET_UDP ? AF_INET : AF_UNIX;
}

int ipclab_socket_type(int kind) {
    switch (kind) {
    case IPCLAB_SOCKET_UDP:
    case IPCLAB_SOCKET_UNIX_DGRAM: return SOCK_DGRAM;
    case IPCLAB_SOCKET_UNIX_SEQPACKET: return SOCK_SEQPACKET;
    default: return SOCK_STREAM;
    }
}

int ipclab_socket(int kind) { return socket(ipclab_socket_domain(kind), ipclab_socket_type(kind), 0); }

int ipclab_socketpair(int kind, int sv[2]) { return socketpair(AF_UNIX, ipclab_socket_type(kind), 0, sv); }

/* The sockaddr of an address; returns its length. */
static socklen_t to_sockaddr(const ipclab_address *a, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (a->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)a->port);
        in->sin_addr.s_addr = htonl(a->ipv4);
        return sizeof *in;
    }
    struct sockaddr_un *un = (struct sockaddr_un *)ss;
    un->sun_family = AF_UNIX;
    /* At most 107 bytes and the NUL the memset left: a->path may fill its own 108 without one. */
    size_t n = strnlen(a->path, sizeof un->sun_path - 1);
    memcpy(un->sun_path, a->path, n);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(un->sun_path) + 1);
}

static void from_sockaddr(const struct sockaddr_storage *ss, socklen_t len, ipclab_address *a) {
    memset(a, 0, sizeof *a);
    if (len == 0) return;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        a->family = AF_INET;
        a->ipv4 = ntohl(in->sin_addr.s_addr);
        a->port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
        a->family = AF_UNIX;
        size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
        if (n >= sizeof a->path) n = sizeof a->path - 1;
        memcpy(a->path, un->sun_path, n);
        a->path[n] = 0;
    }
}

int ipclab_bind(int fd, const ipclab_address *address) {
    struct sockaddr_storage ss;
    socklen_t len = to_sockaddr(address, &ss);
    return bind(fd, (struct sockaddr *)&ss, len);
}

int ipclab_connect(int fd, const ipclab_address *address) {
    struct sockaddr_storage ss;
    socklen_t len = to_sockaddr(address, &ss);
    return connect(fd, (struct sockaddr *)&ss, len);
}

int ipclab_accept(int fd, ipclab_address *peer) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int r = accept(fd, (struct sockaddr *)&ss, &len);
    if (r >= 0) from_sockaddr(&ss, len, peer); else memset(peer, 0, sizeof *peer);
    return r;
}

ssize_t ipclab_sendto(int fd, const void *buf, size_t len, int flags, const ipclab_address *address) {
    struct sockaddr_storage ss;
    socklen_t alen = to_sockaddr(address, &ss);
    return sendto(fd, buf, len, flags | MSG_NOSIGNAL, (struct sockaddr *)&ss, alen);
}

ssize_t ipclab_recvfrom(int fd, void *buf, size_t len, int flags, ipclab_address *from) {
    struct sockaddr_storage ss;
    socklen_t alen = sizeof ss;
    ssize_t n = recvfrom(fd, buf, len, flags, (struct sockaddr *)&ss, &alen);
    if (n >= 0) from_sockaddr(&ss, alen, from); else memset(from, 0, sizeof *from);
    return n;
}

int ipclab_getsockname(int fd, ipclab_address *address) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int r = getsockname(fd, (struct sockaddr *)&ss, &len);
    if (r == 0) from_sockaddr(&ss, len, address); else memset(address, 0, sizeof *address);
    return r;
}

int ipclab_sockopt_level(int option) { return option == IPCLAB_TCP_NODELAY ? IPPROTO_TCP : SOL_SOCKET; }

int ipclab_sockopt_name(int option) {
    switch (option) {
    case IPCLAB_SO_REUSEADDR: return SO_REUSEADDR;
    case IPCLAB_SO_REUSEPORT: return SO_REUSEPORT;
    case IPCLAB_SO_KEEPALIVE: return SO_KEEPALIVE;
    case IPCLAB_SO_SNDBUF: return SO_SNDBUF;
    case IPCLAB_SO_RCVBUF: return SO_RCVBUF;
    case IPCLAB_SO_RCVTIMEO: return SO_RCVTIMEO;
    case IPCLAB_SO_SNDTIMEO: return SO_SNDTIMEO;
    case IPCLAB_TCP_NODELAY: return TCP_NODELAY;
    case IPCLAB_SO_TYPE: return SO_TYPE;
    case IPCLAB_SO_ERROR: return SO_ERROR;
    default: return -1;
    }
}

static int is_timeout(int option) { return option == IPCLAB_SO_RCVTIMEO || option == IPCLAB_SO_SNDTIMEO; }

int ipclab_setsockopt(int fd, int option, int64_t value) {
    int level = ipclab_sockopt_level(option), name = ipclab_sockopt_name(option);
    if (is_timeout(option)) {
        struct timeval tv = { .tv_sec = value / 1000, .tv_usec = (value % 1000) * 1000 };
        return setsockopt(fd, level, name, &tv, sizeof tv);
    }
    int v = (int)value;
    return setsockopt(fd, level, name, &v, sizeof v);
}

int ipclab_getsockopt(int fd, int option, int64_t *value) {
    int level = ipclab_sockopt_level(option), name = ipclab_sockopt_name(option);
    if (is_timeout(option)) {
        struct timeval tv;
        socklen_t len = sizeof tv;
        int r = getsockopt(fd, level, name, &tv, &len);
        if (r == 0) *value = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
        return r;
    }
    int v = 0;
    socklen_t len = sizeof v;
    int r = getsockopt(fd, level, name, &v, &len);
    if (r == 0) *value = v;
    return r;
}

int ipclab_socket_inq(int fd) {
    int n = 0;
    return ioctl(fd, SIOCINQ, &n) == 0 ? n : -1;
}

int ipclab_socket_outq(int fd) {
    int n = 0;
    return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

ssize_t ipclab_sendmsg_fd(int sock, uint8_t byte, int fd) {
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

ssize_t ipclab_recvmsg_fd(int sock, uint8_t *byte, int *fd) {
    struct iovec iov = { .iov_base = byte, .iov_len = 1 };
    union { char buf[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr align; } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf, .msg_controllen = sizeof control.buf };
    *fd = -1;
    ssize_t n = recvmsg(sock, &msg, 0);
    if (n < 0) return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < count; i++) {
            int got;
            memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*fd < 0) *fd = got; else close(got);
        }
    }
    return n;
}

int ipclab_futex_wait_set(uint32_t *word, int64_t timeout_ns) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int64_t deadline = (int64_t)start.tv_sec * 1000000000LL + start.tv_nsec + timeout_ns;
    while (__atomic_load_n(word, __ATOMIC_ACQUIRE) == 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left = deadline - ((int64_t)now.tv_sec * 1000000000LL + now.tv_nsec);
        if (left <= 0) { errno = ETIMEDOUT; return -1; }
        struct timespec ts = { .tv_sec = left / 1000000000LL, .tv_nsec = left % 1000000000LL };
        /* A shared (not private) futex: the word lives in a MAP_SHARED page of several processes. */
        syscall(SYS_futex, word, FUTEX_WAIT, 0, &ts, NULL, 0);
    }
    return 0;
}

void ipclab_futex_set(uint32_t *word) {
    __atomic_store_n(word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, word, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

int ipclab_loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(s);
    errno = saved;
    return r;
}

int ipclab_netns_open_current(void) { return open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC); }

int ipclab_netns_enter(int fd) { return setns(fd, CLONE_NEWNET); }

int ipclab_netns_make(int home) {
    if (unshare(CLONE_NEWNET) != 0) return -1;
    int fd = -1;
    if (ipclab_loopback_up() == 0) fd = ipclab_netns_open_current();
    int saved = errno;
    if (setns(home, CLONE_NEWNET) != 0) {
        /* Stranded in the new namespace: the caller must not go on making runs here. */
        if (fd >= 0) close(fd);
        return -2;
    }
    errno = saved;
    return fd;
}

/* Lines after the header of a /proc/self/net table, or -1. */
static int table_rows(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1; /* no IPv6: no tcp6 table */
    char buf[4096];
    int lines = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) if (buf[i] == '\n') lines++;
    }
    close(fd);
    if (n < 0) return -1;
    return lines > 0 ? lines - 1 : 0;
}

int ipclab_netns_tcp_sockets(int fd, int home) {
    if (setns(fd, CLONE_NEWNET) != 0) return -1;
    int v4 = table_rows("/proc/self/net/tcp");
    int v6 = table_rows("/proc/self/net/tcp6");
    if (setns(home, CLONE_NEWNET) != 0) return -2;
    if (v4 < 0 || v6 < 0) return -1;
    return v4 + v6;
}
