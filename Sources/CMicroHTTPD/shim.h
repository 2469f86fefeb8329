/* shim.h — libmicrohttpd for Swift. MHD_start_daemon and friends are variadic,
 * which Swift cannot call; the prefixed inline wrappers below fix their arguments. */
#ifndef CMICROHTTPD_SHIM_H
#define CMICROHTTPD_SHIM_H

#include <stdint.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <microhttpd.h>

/* MHD_start_daemon with the options IPCLabHTTP uses. The listening address is
 * `bind_addr` (MHD binds before it returns, so the address
 * only has to live for the call). `thread_pool_size` <= 1 means one internal
 * polling thread. `connection_memory_limit` bounds each connection's buffers
 * (request line + headers must fit; MHD's default is 32 KiB).
 * `per_ip_connection_limit` caps the connections open at once from one IP address
 * (0: no cap); connections over it are closed when accepted. */
static inline struct MHD_Daemon *cmhd_start_daemon(
    unsigned int flags,
    const struct sockaddr *bind_addr,
    MHD_AccessHandlerCallback handler, void *handler_cls,
    MHD_RequestCompletedCallback completed, void *completed_cls,
    MHD_LogCallback logger, void *logger_cls,
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
                            MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size,
                            MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
                            MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_connection_limit,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory_limit,
                            MHD_OPTION_END);
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
