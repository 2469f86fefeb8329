/*
 * ipclab_pipes.h — what the pipe experiments need from C that Swift's Glibc import lacks.
 *
 * Every function is prefixed `ipclab_`.
 */
#ifndef IPCLAB_PIPES_H
#define IPCLAB_PIPES_H

#include <stddef.h>
#include <sys/types.h>

/** getrandom(buf, len, 0): the random bytes of the pipeline's `random` stage. */
ssize_t ipclab_getrandom(void *buf, size_t len);

#endif /* IPCLAB_PIPES_H */
