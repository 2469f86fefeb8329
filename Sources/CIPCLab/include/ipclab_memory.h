#ifndef IPCLAB_MEMORY_H
#define IPCLAB_MEMORY_H

/// Gives freed heap back to the kernel (glibc's malloc_trim(0)); 1 when some was released.
int ipclab_malloc_trim(void);

/// Caps glibc's malloc arenas (mallopt M_ARENA_MAX) at `arenas`; 1 on success.
int ipclab_set_malloc_arenas(int arenas);

#endif
