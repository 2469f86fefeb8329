/* A parent and a child over a pipe: the two-process program of the tests and of `make bench`. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

int main(void) {
    int fds[2];
    if (pipe(fds) < 0) { perror("pipe"); return 1; }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        char buf[64];
        ssize_t n = read(fds[0], buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        printf("child got: %s\n", buf);
        return 0;
    }
    close(fds[0]);
    write(fds[1], "hello", 5);
    close(fds[1]);
    int status;
    waitpid(pid, &status, 0);
    printf("parent done, child exited %d\n", WEXITSTATUS(status));
    fprintf(stderr, "a word on stderr\n");
    return 0;
}
