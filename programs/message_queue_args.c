/* A message-queue sender whose messages come from its arguments.
 *
 * Run as `mq_args 1:"tidy up" 9:"fire alarm" 5:"lunch is ready"`: each argument is PRIORITY:TEXT.
 * The child sends one message per argument, in the order given; the parent waits for it, then
 * receives until the queue is empty (mq_getattr says how many are left). The highest priority
 * comes out first, and among equal priorities the oldest: try arguments with the same priority,
 * or more than the queue holds (mq_maxmsg 10: the eleventh mq_send blocks, and nobody receives
 * until the child has ended — a deadlock the lab shows).
 */
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define QUEUE "/lab_args_queue"
#define MSG_SIZE 128

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* Sends "PRIORITY:TEXT" as TEXT with that priority. */
static void send_argument(mqd_t q, const char *arg) {
    char *end;
    long prio = strtol(arg, &end, 10);
    if (end == arg || *end != ':' || prio < 0 || prio > 31) {
        fprintf(stderr, "\"%s\" is not PRIORITY:TEXT with a priority 0..31\n", arg);
        exit(2);
    }
    const char *text = end + 1;
    size_t len = strlen(text);
    if (len >= MSG_SIZE) len = MSG_SIZE - 1; /* a longer text is cut to fit one message */
    if (mq_send(q, text, len, (unsigned)prio) == -1) die("mq_send");
    printf("child: sent \"%.*s\" with priority %ld\n", (int)len, text, prio);
}

int main(int argc, char *argv[]) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PRIORITY:TEXT...\n", argv[0]);
        return 2;
    }
    mq_unlink(QUEUE); /* a queue left by an earlier run would still hold its messages */
    struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = MSG_SIZE};
    mqd_t q = mq_open(QUEUE, O_CREAT | O_RDWR, 0600, &attr);
    if (q == (mqd_t)-1) die("mq_open");

    fflush(stdout);
    pid_t child = fork();
    if (child == -1) die("fork");
    if (child == 0) {
        for (int i = 1; i < argc; i++) send_argument(q, argv[i]);
        mq_close(q);
        return 0;
    }

    int status;
    if (waitpid(child, &status, 0) == -1) die("waitpid"); /* every message is queued now */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;

    char buf[MSG_SIZE + 1]; /* at least mq_msgsize, or mq_receive fails with EMSGSIZE */
    for (;;) {
        struct mq_attr now;
        if (mq_getattr(q, &now) == -1) die("mq_getattr");
        if (now.mq_curmsgs == 0) break;
        unsigned prio;
        ssize_t n = mq_receive(q, buf, MSG_SIZE, &prio);
        if (n == -1) die("mq_receive");
        buf[n] = '\0'; /* a message is bytes, not a C string: the sender sent no '\0' */
        printf("parent: received \"%s\" (priority %u)\n", buf, prio);
    }
    mq_close(q);
    mq_unlink(QUEUE);
    return 0;
}
