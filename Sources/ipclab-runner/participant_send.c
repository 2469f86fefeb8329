/*
 * participant_send.c — the `send` step, which message queues and sockets share: the C port of
 * Participant+Send.swift. The channel's kind picks the call (msgsnd/mq_send, or send/sendto/write).
 */
#include "participant_internal.h"

void participant_run_send_step(const ipclab_plan_step *s, int step) {
    const void *bytes;
    int64_t len;
    /* PipeStep.Data.bytes: the text's bytes, or `size` bytes 'a' + i % 26. */
    if (s->flags & IPCLAB_PLAN_STEP_DATA_SIZE) {
        len = s->n[0];
        bytes = participant_size_data(len);
        if (!bytes) len = 0;
    } else {
        len = s->text.length;
        bytes = participant_string(s->text);
    }
    switch (participant_self.plan->channels[s->channel].kind) {
    case IPCLAB_PLAN_CHANNEL_MESSAGE_QUEUE: participant_send_to_queue(s, bytes, len, step); break;
    case IPCLAB_PLAN_CHANNEL_SOCKET: participant_send_to_socket(s, bytes, len, step); break;
    default: break; /* the validator allows nothing else */
    }
}
