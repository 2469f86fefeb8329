/* shim.h — libmicrohttpd for Swift. MHD_start_daemon and friends are variadic,
 * which Swift cannot call; the prefixed inline wrappers below fix their arguments. */
#ifndef CMICROHTTPD_SHIM_H
#define CMICROHTTPD_SHIM_H

#include <stdint.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <microhttpd.h>

/* MHD_OPTION_URI_LOG_CALLBACK's callback: the request target as it came (before percent-decoding
 * and before the query is split off), up to its first NUL byte. Its result becomes `*req_cls`. */
typedef void *(*cmhd_uri_log_callback)(void *cls, const char *uri, struct MHD_Connection *connection);

/* MHD_start_daemon with the options IPCLabHTTP uses. The listening address is
 * `bind_addr` (MHD binds before it returns, so the address
 * only has to live for the call); NULL with MHD_USE_NO_LISTEN_SOCKET, whose connections
 * come from MHD_add_connection (IPCLabHTTP's ConnectionAcceptor). `thread_pool_size` <= 1 means one internal
 * polling thread. `connection_memory_limit` bounds each connection's buffers
 * (request line + headers must fit; MHD's default is 32 KiB).
 * `per_ip_connection_limit` caps the connections open at once from one IP address
 * (0: no cap); connections over it are closed when accepted. `uri_logger` sees each request
 * target raw; `notify_connection` hears of every connection opened and closed (closed before
 * its socket is). MHD_OPTION_STRICT_FOR_CLIENT stays 0: at 1, 0.9.75 answers a missing Host
 * with its header block written twice and closes on whitespace before a colon without an
 * answer, so IPCLabHTTP checks those itself. */
static inline struct MHD_Daemon *cmhd_start_daemon(
    unsigned int flags,
    const struct sockaddr *bind_addr,
    MHD_AccessHandlerCallback handler, void *handler_cls,
    MHD_RequestCompletedCallback completed, void *completed_cls,
    MHD_LogCallback logger, void *logger_cls,
    cmhd_uri_log_callback uri_logger, void *uri_logger_cls,
    MHD_NotifyConnectionCallback notify_connection, void *notify_connection_cls,
    unsigned int thread_pool_size,
    unsigned int connection_timeout_seconds,
    unsigned int connection_limit,
    unsigned int per_ip_connection_limit,
    size_t connection_memory_limit)
{
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_EXTERNAL_LOGGER, logger, logger_cls,
                            MHD_OPTION_SOCK_ADDR, bind_addr,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_URI_LOG_CALLBACK, uri_logger, uri_logger_cls,
                            MHD_OPTION_NOTIFY_CONNECTION, notify_connection, notify_connection_cls,
                            MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size,
                            MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
                            MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_connection_limit,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory_limit,
                            MHD_OPTION_END);
}

/* accept4(2), which the Glibc module leaves out (it is _GNU_SOURCE's): the connection's socket
 * is born close-on-exec and non-blocking, as libmicrohttpd's own accepts make it. */
static inline int cmhd_accept(int listen_fd, struct sockaddr *addr, socklen_t *addrlen)
{
    return (int)syscall(SYS_accept4, listen_fd, addr, addrlen, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

/* The length of the request target on the wire, from the two pointers the access handler gets:
 * libmicrohttpd 0.9.75 parses the request line in place, so `url` (decoded in place, where the
 * target began) and `version` (just after the one space that ends the target) lie in one buffer.
 * -1 when they cannot be compared (no version: an HTTP/0.9-style line). A target that is longer
 * than the C string the URI log callback saw holds a NUL byte (or a space). */
static inline long cmhd_request_target_length(const char *url, const char *version)
{
    if (url == NULL || version == NULL || version[0] == '\0' || version <= url) return -1;
    long length = (long)(version - url) - 1;
    return length > (1L << 24) ? -1 : length;
}

/* MHD_get_connection_info(MHD_CONNECTION_INFO_SOCKET_CONTEXT): what the connection-notify
 * callback stored for the connection, NULL if nothing. */
static inline void *cmhd_connection_socket_context(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == NULL ? NULL : info->socket_context;
}

/* MHD_get_connection_info(MHD_CONNECTION_INFO_CONNECTION_FD), -1 if unknown. */
static inline int cmhd_connection_fd(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : info->connect_fd;
}

/* MHD_get_daemon_info(MHD_DAEMON_INFO_BIND_PORT): the port the daemon listens on,
 * 0 if unknown. */
static inline uint16_t cmhd_daemon_bind_port(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/* MHD_get_connection_info(MHD_CONNECTION_INFO_CLIENT_ADDRESS): the peer's address,
 * NULL if unknown. Valid while the connection is. */
static inline const struct sockaddr *cmhd_connection_client_address(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info == NULL ? NULL : info->client_addr;
}

/* Whether the peer of a connection hung up or the socket failed: poll(POLLRDHUP) on its
 * descriptor (MHD_CONNECTION_INFO_CONNECTION_FD), without waiting. For a suspended
 * connection, which libmicrohttpd does not watch. POLLRDHUP is Linux's (0x2000). */
static inline int cmhd_connection_peer_gone(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == NULL) return 0;
    struct pollfd pfd = { .fd = info->connect_fd, .events = 0x2000 /* POLLRDHUP */, .revents = 0 };
    if (poll(&pfd, 1, 0) <= 0) return 0;
    return (pfd.revents & (0x2000 | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

#endif
