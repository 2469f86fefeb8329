/* A pipe from a child to its parent.
 *
 * The parent makes a pipe and forks; the child inherits both ends. The child writes one line and
 * exits; the parent reads until end-of-file and prints what it got. A pipe is one-way, so each
 * side closes the end it does not use. That matters: read() returns 0 (end-of-file) only once
 * every write end is closed, so a parent that kept its own write end open would wait forever.
 * Finally the parent waits for the child, so that no zombie is left behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(void) {
    int fd[2]; /* fd[0] is the read end, fd[1] the write end */
    if (pipe(fd) == -1) die("pipe");

    /* Flush before fork: otherwise anything still in stdout's buffer is printed twice. */
    fflush(stdout);
    pid_t child = fork();
    if (child == -1) die("fork");

    if (child == 0) {
        close(fd[0]); /* the child only writes */
        const char *msg = "hello from the child\n";
        if (write(fd[1], msg, strlen(msg)) == -1) die("write");
        close(fd[1]);
        return 0;
    }

    close(fd[1]); /* the parent only reads: without this, the read below never sees end-of-file */
    char buf[64];
    ssize_t n;
    /* Read until end-of-file: a pipe is a byte stream, one write may arrive in several reads. */
    while ((n = read(fd[0], buf, sizeof buf - 1)) > 0) {
        buf[n] = '\0';
        printf("parent read %zd bytes: %s", n, buf);
    }
    if (n == -1) die("read");
    close(fd[0]);

    int status;
    if (waitpid(child, &status, 0) == -1) die("waitpid");
    printf("parent: child exited with status %d\n", WEXITSTATUS(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
