/* ipc_trace.c — System V and POSIX IPC and sockets in a traced program. */
#include "trace_internal.h"

#include <dlfcn.h>

#define RESOLVE(name) ipclab_real.name = (typeof(ipclab_real.name))dlsym(RTLD_NEXT, #name)

void ipclab_resolve_ipc(void) {
    RESOLVE(shm_open); RESOLVE(shm_unlink); RESOLVE(ftruncate); RESOLVE(mmap); RESOLVE(munmap);
    RESOLVE(shmget); RESOLVE(shmat); RESOLVE(shmdt); RESOLVE(shmctl);
    RESOLVE(sem_open); RESOLVE(sem_init); RESOLVE(sem_wait); RESOLVE(sem_trywait); RESOLVE(sem_post);
    RESOLVE(sem_close); RESOLVE(sem_destroy); RESOLVE(sem_unlink); RESOLVE(semget); RESOLVE(semop);
    RESOLVE(msgget); RESOLVE(msgsnd); RESOLVE(msgrcv);
    RESOLVE(mq_open); RESOLVE(mq_send); RESOLVE(mq_receive); RESOLVE(mq_close); RESOLVE(mq_unlink);
    RESOLVE(socket); RESOLVE(socketpair); RESOLVE(bind); RESOLVE(listen); RESOLVE(accept); RESOLVE(connect);
    RESOLVE(send); RESOLVE(recv); RESOLVE(shutdown);
}
