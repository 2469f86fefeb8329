/* A Unix-domain stream socket server: answers one client, then exits.
 *
 * socket() makes the endpoint, bind() gives it a path, listen() makes it accept connections,
 * and accept() blocks until a client connects, returning a new descriptor for that connection.
 * Run it together with socket_client.c (the client retries until this server is listening).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SOCKET_PATH "/tmp/lab.sock"

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(void) {
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener == -1) die("socket");

    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, SOCKET_PATH, sizeof addr.sun_path - 1);
    unlink(SOCKET_PATH); /* bind fails with EADDRINUSE if the path exists */
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) == -1) die("bind");
    if (listen(listener, 1) == -1) die("listen");
    printf("server: listening on %s\n", SOCKET_PATH);
    fflush(stdout);

    int conn = accept(listener, NULL, NULL); /* blocks until the client connects */
    if (conn == -1) die("accept");

    char buf[128];
    ssize_t n = read(conn, buf, sizeof buf - 1);
    if (n == -1) die("read");
    buf[n] = '\0';
    printf("server: got \"%s\"\n", buf);

    char reply[160];
    int len = snprintf(reply, sizeof reply, "echo: %s", buf);
    if (write(conn, reply, (size_t)len) == -1) die("write");

    close(conn);
    close(listener);
    unlink(SOCKET_PATH);
    return 0;
}
