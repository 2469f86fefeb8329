/* The classic mistake: the parent reads until end of file but never closed its own write end. */
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void) {
    int fds[2];
    pipe(fds);
    if (fork() == 0) {
        write(fds[1], "hi", 2);
        return 0;          /* the child is done; the parent forgot to close its write end */
    }
    char buf[16];
    while (read(fds[0], buf, sizeof buf) > 0) { }
    wait(NULL);
    return 0;
}
