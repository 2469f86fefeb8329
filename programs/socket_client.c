/* A Unix-domain stream socket client: sends one line to socket_server.c and prints the reply.
 *
 * Both programs start at the same time, so the server may not be listening yet: connect() then
 * fails (ENOENT before bind, ECONNREFUSED before listen), and the client tries again a little
 * later instead of giving up.
 */
#include <errno.h>
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
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, SOCKET_PATH, sizeof addr.sun_path - 1);

    int fd = -1;
    for (int attempt = 0; attempt < 200; attempt++) { /* up to about 2 s */
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd == -1) die("socket");
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) break;
        if (errno != ENOENT && errno != ECONNREFUSED) die("connect");
        close(fd); /* a socket whose connect failed cannot be reused portably */
        fd = -1;
        usleep(10 * 1000);
    }
    if (fd == -1) {
        fprintf(stderr, "client: the server never listened on %s\n", SOCKET_PATH);
        return 1;
    }

    const char *msg = "hello, server";
    if (write(fd, msg, strlen(msg)) == -1) die("write");

    char buf[160];
    ssize_t n = read(fd, buf, sizeof buf - 1); /* blocks until the server answers */
    if (n == -1) die("read");
    buf[n] = '\0';
    printf("client: server replied \"%s\"\n", buf);
    close(fd);
    return 0;
}
