/* A FIFO (named pipe): two processes meet by a path in the file system.
 *
 * Unlike pipe(), a FIFO has a name, so unrelated processes can use it. Opening it blocks until
 * the other side opens it too: the reader's open() waits for a writer, and the writer's for a
 * reader. Here a parent and its child stand in for two unrelated programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIFO_PATH "/tmp/lab.fifo"

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(void) {
    if (mkfifo(FIFO_PATH, 0600) == -1 && errno != EEXIST) die("mkfifo");

    fflush(stdout);
    pid_t child = fork();
    if (child == -1) die("fork");

    if (child == 0) {
        /* The writer: open() blocks here until the reader opens the FIFO. */
        int fd = open(FIFO_PATH, O_WRONLY);
        if (fd == -1) die("open for writing");
        const char *msg = "hello through the FIFO\n";
        if (write(fd, msg, strlen(msg)) == -1) die("write");
        close(fd);
        return 0;
    }

    /* The reader: open() blocks here until the writer opens the FIFO. */
    int fd = open(FIFO_PATH, O_RDONLY);
    if (fd == -1) die("open for reading");
    char buf[64];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf - 1)) > 0) {
        buf[n] = '\0';
        printf("reader got: %s", buf);
    }
    if (n == -1) die("read");
    close(fd);

    int status;
    if (waitpid(child, &status, 0) == -1) die("waitpid");
    unlink(FIFO_PATH); /* the name stays in the file system until someone removes it */
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
