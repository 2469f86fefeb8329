/* System V shared memory: one segment, mapped by a parent and its child.
 *
 * shmget() creates the segment, shmat() maps it into a process's address space; what one process
 * stores there, the other sees, with no system call to move the bytes. Shared memory has no
 * synchronisation of its own: here the parent simply waits for the child to exit before reading.
 * The segment outlives the processes until shmctl(IPC_RMID) removes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 4096

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(void) {
    int id = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0600);
    if (id == -1) die("shmget");

    fflush(stdout);
    pid_t child = fork();
    if (child == -1) die("fork");

    if (child == 0) {
        char *mem = shmat(id, NULL, 0);
        if (mem == (void *)-1) die("shmat (child)");
        /* A plain store: no system call moves these bytes. */
        strcpy(mem, "written by the child into shared memory");
        shmdt(mem);
        return 0;
    }

    int status;
    if (waitpid(child, &status, 0) == -1) die("waitpid");

    char *mem = shmat(id, NULL, SHM_RDONLY);
    if (mem == (void *)-1) die("shmat (parent)");
    printf("parent reads: %s\n", mem);
    shmdt(mem);

    /* Mark the segment for removal: it goes once no process is attached. */
    if (shmctl(id, IPC_RMID, NULL) == -1) die("shmctl");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
