// The server's allocator, tuned so that memory returns after a burst of large responses.
#include "ipclab_memory.h"

#include <malloc.h>

int ipclab_malloc_trim(void) { return malloc_trim(0); }

int ipclab_set_malloc_arenas(int arenas) { return mallopt(M_ARENA_MAX, arenas); }
