/* A filter: lines from standard input, through a pipe, to a child that transforms them.
 *
 * Run as `pipe_filter upper 2` with some lines on standard input. argv[1] chooses the transform
 * (upper, lower or reverse), argv[2] how many lines to pass on (all when left out). The parent
 * forks a child, reads its own standard input line by line and writes each line into the pipe;
 * the child reads the pipe until end-of-file, transforms what arrived and prints it. This is
 * what a shell builds for `cat | tr a-z A-Z`, in one program.
 *
 * The child reads with read() on the pipe, not with fgets(): a pipe is a byte stream, so one
 * read may return several lines, or half of one, and the child splits them itself. Its read
 * returns 0 only once every write end is closed: the child closes its own copy at once, and
 * the parent closes its end when it has sent the lines it was asked to.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_BYTES 256

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* Transforms one line (without its newline) in place, as argv[1] says. */
static void transform(const char *how, char *line, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (strcmp(how, "upper") == 0) line[i] = (char)toupper((unsigned char)line[i]);
        if (strcmp(how, "lower") == 0) line[i] = (char)tolower((unsigned char)line[i]);
    }
    if (strcmp(how, "reverse") == 0) {
        for (size_t i = 0, j = len; i + 1 < j; i++, j--) {
            char c = line[i];
            line[i] = line[j - 1];
            line[j - 1] = c;
        }
    }
}

/* The child: read the pipe until end-of-file, print each whole line transformed. */
static int filter(int in, const char *how) {
    char line[LINE_MAX_BYTES];
    size_t len = 0;
    int count = 0;
    char buf[64];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n' && len < sizeof line - 1) {
                line[len++] = buf[i];
                continue;
            }
            if (buf[i] != '\n') continue; /* a line too long: the rest of it is dropped */
            transform(how, line, len);
            line[len] = '\0';
            printf("child: %d: %s\n", ++count, line);
            len = 0;
        }
    }
    if (n == -1) die("read");
    if (len > 0) { /* a last line without its newline */
        transform(how, line, len);
        line[len] = '\0';
        printf("child: %d: %s\n", ++count, line);
    }
    printf("child: end of file after %d lines\n", count);
    close(in);
    return 0;
}

int main(int argc, char *argv[]) {
    const char *how = argc > 1 ? argv[1] : "upper";
    if (strcmp(how, "upper") != 0 && strcmp(how, "lower") != 0 && strcmp(how, "reverse") != 0) {
        fprintf(stderr, "usage: %s [upper|lower|reverse] [lines]\n", argv[0]);
        return 2;
    }
    long limit = argc > 2 ? strtol(argv[2], NULL, 10) : -1; /* -1: every line */

    int fd[2];
    if (pipe(fd) == -1) die("pipe");
    fflush(stdout);
    pid_t child = fork();
    if (child == -1) die("fork");
    if (child == 0) {
        close(fd[1]); /* the child only reads: its own write end would keep end-of-file away */
        return filter(fd[0], how);
    }

    close(fd[0]); /* the parent only writes */
    char line[LINE_MAX_BYTES];
    long sent = 0;
    while ((limit < 0 || sent < limit) && fgets(line, sizeof line, stdin) != NULL) {
        if (write(fd[1], line, strlen(line)) == -1) die("write");
        sent++;
    }
    close(fd[1]); /* end-of-file for the child */
    printf("parent: sent %ld lines through the pipe (transform: %s)\n", sent, how);

    int status;
    if (waitpid(child, &status, 0) == -1) die("waitpid");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
