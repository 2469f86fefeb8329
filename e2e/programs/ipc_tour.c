/* A tour of the mechanisms in one small program: POSIX shared memory, a named semaphore, a POSIX
 * message queue, a signal with a handler, and a TCP socket (e2e/test_programs.py). */
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

static volatile int got;
static void on_usr1(int sig) { got = sig; }

int main(void) {
    int fd = shm_open("/counter", O_CREAT | O_RDWR, 0600);
    ftruncate(fd, 4096);
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    sem_t *sem = sem_open("/lock", O_CREAT, 0600, 0);
    struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 32 };
    mqd_t mq = mq_open("/q", O_CREAT | O_RDWR, 0600, &attr);
    signal(SIGUSR1, on_usr1);
    pid_t child = fork();
    if (child == 0) {
        *shared = 42;
        sem_post(sem);
        mq_send(mq, "ping", 4, 1);
        kill(getppid(), SIGUSR1);
        return 0;
    }
    sem_wait(sem);
    char buf[32];
    unsigned prio;
    ssize_t n = mq_receive(mq, buf, sizeof buf, &prio);
    waitpid(child, NULL, 0);
    printf("shared=%d mq=%.*s prio=%u signal=%d\n", *shared, (int)n, buf, prio, got);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9000) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, 1);
    shm_unlink("/counter"); sem_unlink("/lock"); mq_unlink("/q");
    return 0;
}
