/*
 * ipclab_sockets.h — sockets for IPC Lab: addresses (sockaddr_in, sockaddr_un), the option
 * table, SCM_RIGHTS (CMSG_* are macros Swift cannot use), and the network namespaces the
 * spawner keeps for runs.
 *
 * Each call wrapper makes exactly the one call its name says and leaves errno as that call
 * set it. An address is given as (family, IPv4 address in host order, port) for AF_INET or
 * a path for AF_UNIX.
 *
 * Every function is prefixed `ipclab_`.
 */
#ifndef IPCLAB_SOCKETS_H
#define IPCLAB_SOCKETS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/** The kinds of socket a scenario can make. */
enum ipclab_socket_kind {
    IPCLAB_SOCKET_TCP = 0,         /* AF_INET, SOCK_STREAM */
    IPCLAB_SOCKET_UDP = 1,         /* AF_INET, SOCK_DGRAM */
    IPCLAB_SOCKET_UNIX_STREAM = 2, /* AF_UNIX, SOCK_STREAM */
    IPCLAB_SOCKET_UNIX_DGRAM = 3,  /* AF_UNIX, SOCK_DGRAM */
    IPCLAB_SOCKET_UNIX_SEQPACKET = 4, /* AF_UNIX, SOCK_SEQPACKET (socketpair only) */
};

/** An address: AF_INET (`ipv4` in host byte order and `port`) or AF_UNIX (`path`). */
typedef struct ipclab_address {
    int32_t family;     /* AF_INET or AF_UNIX */
    uint32_t ipv4;
    int32_t port;
    char path[108];
} ipclab_address;

extern const int ipclab_AF_INET;
extern const int ipclab_AF_UNIX;
extern const int ipclab_SOCK_STREAM;
extern const int ipclab_SOCK_DGRAM;
extern const int ipclab_SOCK_SEQPACKET;
extern const int ipclab_MSG_DONTWAIT;
extern const int ipclab_SHUT_RD;
extern const int ipclab_SHUT_WR;
extern const int ipclab_SHUT_RDWR;

/** The domain and type of a kind, for the trace. */
int ipclab_socket_domain(int kind);
int ipclab_socket_type(int kind);

/** socket(domain, type, 0) for a kind. */
int ipclab_socket(int kind);

/** socketpair(AF_UNIX, type of kind, 0, sv). */
int ipclab_socketpair(int kind, int sv[2]);

/** bind(fd, address). */
int ipclab_bind(int fd, const ipclab_address *address);

/** connect(fd, address). */
int ipclab_connect(int fd, const ipclab_address *address);

/** accept(fd, &peer): the peer's address goes to `peer` (port, or the path a Unix peer bound). */
int ipclab_accept(int fd, ipclab_address *peer);

/** sendto(fd, buf, len, flags, address). */
ssize_t ipclab_sendto(int fd, const void *buf, size_t len, int flags, const ipclab_address *address);

/** recvfrom(fd, buf, len, flags, &from): the sender's address goes to `from` (family 0 when none). */
ssize_t ipclab_recvfrom(int fd, void *buf, size_t len, int flags, ipclab_address *from);

/** getsockname(fd): this socket's own address. */
int ipclab_getsockname(int fd, ipclab_address *address);

/** The socket options a scenario may set or read. */
enum ipclab_socket_option {
    IPCLAB_SO_REUSEADDR = 0,
    IPCLAB_SO_REUSEPORT = 1,
    IPCLAB_SO_KEEPALIVE = 2,
    IPCLAB_SO_SNDBUF = 3,
    IPCLAB_SO_RCVBUF = 4,
    IPCLAB_SO_RCVTIMEO = 5, /* value in milliseconds */
    IPCLAB_SO_SNDTIMEO = 6, /* value in milliseconds */
    IPCLAB_TCP_NODELAY = 7,
    IPCLAB_SO_TYPE = 8,     /* read-only */
    IPCLAB_SO_ERROR = 9,    /* read-only */
};

/** The (level, optname) of an option, for the trace. */
int ipclab_sockopt_level(int option);
int ipclab_sockopt_name(int option);

/** setsockopt(fd, level, optname, value): an int, or a timeval of `value` ms for the timeouts. */
int ipclab_setsockopt(int fd, int option, int64_t value);

/** getsockopt(fd, level, optname): the value goes to `*value` (ms for the timeouts). */
int ipclab_getsockopt(int fd, int option, int64_t *value);

/** ioctl(fd, SIOCINQ) and ioctl(fd, SIOCOUTQ): bytes waiting to be read, and bytes in the send queue; -1 on error. */
int ipclab_socket_inq(int fd);
int ipclab_socket_outq(int fd);

/**
 * sendmsg(sock, {one byte `byte`}, SCM_RIGHTS {fd}) — or, with fd < 0, the byte alone.
 * Returns sendmsg's result.
 */
ssize_t ipclab_sendmsg_fd(int sock, uint8_t byte, int fd);

/**
 * recvmsg(sock, {one byte}, control): `*fd` gets the descriptor an SCM_RIGHTS message carried
 * (-1 when none), `*byte` the byte. Returns recvmsg's result.
 */
ssize_t ipclab_recvmsg_fd(int sock, uint8_t *byte, int *fd);

/** Waits on a futex word until it is non-zero, or `timeout_ns` passed. Returns 0 once set, -1 (ETIMEDOUT) otherwise. */
int ipclab_futex_wait_set(uint32_t *word, int64_t timeout_ns);

/** Sets a futex word to 1 and wakes every waiter. */
void ipclab_futex_set(uint32_t *word);

/* --------------------------------------------------------- network namespaces */

/** Brings the loopback interface of this process's network namespace up (SIOCGIFFLAGS, then SIOCSIFFLAGS only if needed). 0 when it is up. */
int ipclab_loopback_up(void);

/** open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC): this process's network namespace. */
int ipclab_netns_open_current(void);

/**
 * Makes a new network namespace with its loopback up and returns a descriptor that keeps
 * it alive, leaving the caller in `home` (a descriptor of its own namespace).
 * unshare(CLONE_NEWNET), loopback up, open, setns(home). Only for a single-threaded caller.
 */
int ipclab_netns_make(int home);

/** setns(fd, CLONE_NEWNET). */
int ipclab_netns_enter(int fd);

/**
 * TCP sockets (IPv4 and IPv6) left in the network namespace `fd` (connections in TIME_WAIT,
 * say): enters it, counts the lines of /proc/self/net/tcp and tcp6, and returns to `home`.
 * -1 on error.
 */
int ipclab_netns_tcp_sockets(int fd, int home);

#endif /* IPCLAB_SOCKETS_H */
