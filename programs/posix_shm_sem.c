/* POSIX shared memory with a named semaphore to say "the data is ready".
 *
 * shm_open() names a shared-memory object (it lives in /dev/shm), ftruncate() sizes it, mmap()
 * maps it. The semaphore starts at 0: the parent's sem_wait() blocks until the child has written
 * and called sem_post(). Without it the parent could read before the child wrote.
 */
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHM_NAME "/lab_shm"
#define SEM_NAME "/lab_ready"
#define SIZE 4096

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(void) {
    int fd = shm_open(SHM_NAME, O_CREAT | O_RDWR, 0600);
    if (fd == -1) die("shm_open");
    if (ftruncate(fd, SIZE) == -1) die("ftruncate");
    char *mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) die("mmap");
    close(fd); /* the mapping stays valid after the descriptor is closed */

    sem_t *ready = sem_open(SEM_NAME, O_CREAT, 0600, 0);
    if (ready == SEM_FAILED) die("sem_open");

    fflush(stdout);
    pid_t child = fork();
    if (child == -1) die("fork");

    if (child == 0) {
        usleep(50 * 1000); /* make the parent wait, so its sem_wait visibly blocks */
        strcpy(mem, "the child's message in POSIX shared memory");
        if (sem_post(ready) == -1) die("sem_post"); /* 0 -> 1: wakes the parent */
        return 0;
    }

    if (sem_wait(ready) == -1) die("sem_wait"); /* blocks while the value is 0 */
    printf("parent reads: %s\n", mem);

    int status;
    if (waitpid(child, &status, 0) == -1) die("waitpid");
    sem_close(ready);
    sem_unlink(SEM_NAME);
    munmap(mem, SIZE);
    shm_unlink(SHM_NAME);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
