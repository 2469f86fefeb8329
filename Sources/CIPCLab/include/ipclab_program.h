/* ipclab_program.h — students' C programs: the minimal root they see, and how one is exec'd. */
#ifndef IPCLAB_PROGRAM_H
#define IPCLAB_PROGRAM_H

#include <stddef.h>

/**
 * Builds the minimal root of a program run (program_root.c says what is in it) on a tmpfs over
 * /tmp, bind-mounts `trace_library` at /.ipclab/trace.so, and pivots into it. For a run's init in
 * its own user and mount namespaces, before the lockdown. -1 with errno, and what failed in `failure`.
 */
int ipclab_program_root(const char *trace_library, char *failure, size_t len);

/**
 * In a forked child: stdin from `stdin_path` (or /dev/null), stdout and stderr appended to
 * `stdout_path` and `stderr_path` (created 0600), every other descriptor closed but `keep_fd`,
 * `keep_fd2` (-1 for none), the signal mask emptied, then execve. Returns only on failure (errno).
 */
int ipclab_exec_program(const char *path, char *const argv[], char *const envp[], const char *stdin_path,
                        const char *stdout_path, const char *stderr_path, int keep_fd, int keep_fd2);

#endif
