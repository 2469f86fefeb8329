/* gallery_sources.c — the gallery's C sources (see ipclab_gallery.h). Paths are relative to this
 * file: the repository root is two directories up. Adding a program: one #embed array and one
 * table row here, one entry in IPCLabCore's ProgramGallery+Entries.swift. */
#include "ipclab_gallery.h"

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc23-extensions"
static const unsigned char pipe_parent_child[] = {
#embed "../../programs/pipe_parent_child.c"
};
static const unsigned char pipe_filter[] = {
#embed "../../programs/pipe_filter.c"
};
static const unsigned char fifo[] = {
#embed "../../programs/fifo.c"
};
static const unsigned char sysv_shm[] = {
#embed "../../programs/sysv_shm.c"
};
static const unsigned char posix_shm_sem[] = {
#embed "../../programs/posix_shm_sem.c"
};
static const unsigned char message_queue[] = {
#embed "../../programs/message_queue.c"
};
static const unsigned char message_queue_args[] = {
#embed "../../programs/message_queue_args.c"
};
static const unsigned char signal_handler[] = {
#embed "../../programs/signal_handler.c"
};
static const unsigned char socket_server[] = {
#embed "../../programs/socket_server.c"
};
static const unsigned char socket_client[] = {
#embed "../../programs/socket_client.c"
};
#pragma clang diagnostic pop

static const struct {
    const char *name;
    const unsigned char *bytes;
    size_t size;
} files[] = {
    {"pipe_parent_child.c", pipe_parent_child, sizeof pipe_parent_child},
    {"pipe_filter.c", pipe_filter, sizeof pipe_filter},
    {"fifo.c", fifo, sizeof fifo},
    {"sysv_shm.c", sysv_shm, sizeof sysv_shm},
    {"posix_shm_sem.c", posix_shm_sem, sizeof posix_shm_sem},
    {"message_queue.c", message_queue, sizeof message_queue},
    {"message_queue_args.c", message_queue_args, sizeof message_queue_args},
    {"signal_handler.c", signal_handler, sizeof signal_handler},
    {"socket_server.c", socket_server, sizeof socket_server},
    {"socket_client.c", socket_client, sizeof socket_client},
};

size_t ipclab_gallery_file_count(void) { return sizeof files / sizeof files[0]; }

const char *ipclab_gallery_file_name(size_t index) {
    return index < ipclab_gallery_file_count() ? files[index].name : NULL;
}

const unsigned char *ipclab_gallery_file_bytes(size_t index, size_t *size) {
    if (index >= ipclab_gallery_file_count()) return NULL;
    *size = files[index].size;
    return files[index].bytes;
}
