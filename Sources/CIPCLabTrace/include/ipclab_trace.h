/* ipclab_trace.h — the interposer library (libIPCLabTrace.so) has no API: it is LD_PRELOADed into a
 * student's program and replaces C library functions. This header only names the environment the
 * run's init gives a program: the ring's descriptor and the program's index. */
#ifndef IPCLAB_TRACE_H
#define IPCLAB_TRACE_H

#define IPCLAB_TRACE_RING_FD_ENV "IPCLAB_RING_FD"
#define IPCLAB_TRACE_PROGRAM_ENV "IPCLAB_PROGRAM"

#endif
