#include "CSupport.h"
#include <signal.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

int nn_set_flush_denormals(void) {
#if defined(__x86_64__) || defined(__i386__)
    /* bit 15: flush to zero, bit 6: denormals are zero */
    _mm_setcsr(_mm_getcsr() | 0x8040);
    return 1;
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    fpcr |= (1UL << 24);
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
    return 1;
#else
    return 0;
#endif
}

static volatile sig_atomic_t pending_signal = 0;

static void on_signal(int sig) {
    if (pending_signal != 0 && sig == SIGINT) {
        /* second Ctrl-C: leave now, the default way */
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
        return;
    }
    pending_signal = sig;
}

void nn_install_signal_flag(void) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, 0);
    sigaction(SIGTERM, &action, 0);
    /* A parent may have started us with these signals blocked (a spawned child inherits the
       mask); unblock them so Ctrl-C and `kill` always reach the handler. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &set, 0);
}

int nn_pending_signal(void) { return (int)pending_signal; }

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

extern char **environ;

pid_t nn_spawn(const char *path, char *const argv[], const char *log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (log_path != NULL) {
        posix_spawn_file_actions_addopen(&actions, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
    }
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    /* The child starts with default signal actions, whatever we ignore. */
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&attr, &all);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, path, &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) { errno = rc; return -1; }
    return pid;
}

pid_t nn_wait_child(pid_t pid, int block, int *exit_code, int *term_signal) {
    int status = 0;
    pid_t r;
    do { r = waitpid(pid, &status, block ? 0 : WNOHANG); } while (r < 0 && errno == EINTR && block);
    if (r <= 0) return r;
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    *term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return r;
}

int nn_process_alive(pid_t pid) {
    if (pid <= 0) return 0;
    if (kill(pid, 0) == 0) return 1;
    return errno == EPERM ? 1 : 0;
}

int nn_set_parent_death_signal(int sig) {
#if defined(__linux__)
    return prctl(PR_SET_PDEATHSIG, sig) == 0 ? 1 : 0;
#else
    (void)sig;
    return 0;
#endif
}

int nn_kill(pid_t pid, int sig) { return kill(pid, sig); }
