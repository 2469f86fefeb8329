/* vfork and posix_spawn children: each child's output is its own, not its parent's.
 *
 * The first child of vfork() writes one line and _exit()s; the second execs echo; posix_spawn()
 * starts a third (glibc's posix_spawn clones with CLONE_VFORK inside the C library, where no
 * wrapper sees it). The parent prints only its own line after reaping all three.
 */
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void) {
    fflush(stdout);
    pid_t a = vfork();
    if (a == 0) {
        const char *msg = "vfork child writes\n";
        write(1, msg, strlen(msg));
        _exit(0);
    }
    pid_t b = vfork();
    if (b == 0) {
        execl("/bin/echo", "echo", "vfork child execs echo", (char *)NULL);
        _exit(127);
    }
    pid_t c;
    char *argv[] = {"echo", "posix_spawn child", NULL};
    if (posix_spawn(&c, "/bin/echo", NULL, NULL, argv, environ) != 0) return 1;
    int st;
    waitpid(a, &st, 0);
    waitpid(b, &st, 0);
    waitpid(c, &st, 0);
    printf("parent prints alone\n");
    return 0;
}
