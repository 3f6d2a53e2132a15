#ifndef NNTRAIN_CSUPPORT_H
#define NNTRAIN_CSUPPORT_H

/// Sets flush-to-zero and denormals-are-zero for the calling thread (x86 MXCSR, ARM FPCR.FZ).
/// Subnormal floats make optimizer state updates many times slower and change no result that
/// matters for training. Returns 1 when the mode was set, 0 on a platform without the switch.
int nn_set_flush_denormals(void);

/// Installs SIGINT/SIGTERM handlers that record the signal in a flag (read with
/// nn_pending_signal). A second SIGINT restores the default action and re-raises it.
void nn_install_signal_flag(void);
int nn_pending_signal(void);

#include <sys/types.h>

/// Starts `path` with `argv` (NULL-terminated) and the current environment; its stdout and
/// stderr go to `log_path` (appended; created when missing) or stay ours when NULL.
/// Returns the child's pid, or -1 with errno set.
pid_t nn_spawn(const char *path, char *const argv[], const char *log_path);

/// Reaps one finished child: `pid` (or any when -1). Without `block` returns 0 when none has
/// finished. On success stores the exit code (or -1) and the terminating signal (or 0).
pid_t nn_wait_child(pid_t pid, int block, int *exit_code, int *term_signal);

/// 1 when a process with this pid exists (ours or not), else 0.
int nn_process_alive(pid_t pid);

/// Linux: deliver `sig` to this process when its parent exits (prctl PR_SET_PDEATHSIG).
/// Returns 1 when set, 0 where unsupported.
int nn_set_parent_death_signal(int sig);

/// Sends `sig` to `pid`; 0 on success.
int nn_kill(pid_t pid, int sig);
#endif
