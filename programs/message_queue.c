/* A POSIX message queue: messages keep their boundaries and come out by priority.
 *
 * The child sends three messages with different priorities; the parent waits for it, then
 * receives them all. mq_receive() always returns the oldest message of the highest priority,
 * so they come out in priority order, not in the order they were sent. Each mq_receive()
 * returns exactly one whole message (unlike a pipe, which is a byte stream).
 */
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define QUEUE "/lab_queue"
#define MSG_SIZE 64

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(void) {
    /* 10 messages is the default limit per queue (fs.mqueue.msg_max). */
    struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = MSG_SIZE};
    mqd_t q = mq_open(QUEUE, O_CREAT | O_RDWR, 0600, &attr);
    if (q == (mqd_t)-1) die("mq_open");

    fflush(stdout);
    pid_t child = fork();
    if (child == -1) die("fork");

    if (child == 0) {
        const char *texts[] = {"low priority", "high priority", "middle priority"};
        unsigned prios[] = {1, 9, 5};
        for (int i = 0; i < 3; i++) {
            if (mq_send(q, texts[i], strlen(texts[i]) + 1, prios[i]) == -1) die("mq_send");
        }
        mq_close(q);
        return 0;
    }

    int status;
    if (waitpid(child, &status, 0) == -1) die("waitpid"); /* all three are queued now */

    char buf[MSG_SIZE]; /* must be at least mq_msgsize, or mq_receive fails with EMSGSIZE */
    for (int i = 0; i < 3; i++) {
        unsigned prio;
        if (mq_receive(q, buf, sizeof buf, &prio) == -1) die("mq_receive");
        printf("received \"%s\" (priority %u)\n", buf, prio);
    }
    mq_close(q);
    mq_unlink(QUEUE);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
