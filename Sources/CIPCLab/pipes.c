/* pipes.c — calls of the pipe experiments that Swift cannot make directly. */
#include "ipclab_pipes.h"

#include <sys/random.h>

ssize_t ipclab_getrandom(void *buf, size_t len) { return getrandom(buf, len, 0); }
