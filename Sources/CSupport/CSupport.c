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
    /* SIGHUP (the terminal went away) ends a run as SIGTERM does: checkpoint, summary, 143. */
    pending_signal = sig == SIGHUP ? SIGTERM : sig;
}

void nn_install_signal_flag(void) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, 0);
    sigaction(SIGTERM, &action, 0);
    sigaction(SIGHUP, &action, 0);
    /* A closed progress stream (`nntrain run … | head -3`) must not kill the run: writes to it
       fail with EPIPE, which the writers ignore, and training goes on to write its results. */
    signal(SIGPIPE, SIG_IGN);
    /* A parent may have started us with these signals blocked (a spawned child inherits the
       mask); unblock them so Ctrl-C and `kill` always reach the handler. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
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

/* ---- Worker pool ---------------------------------------------------------------------- */
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>

/* One atomic word says which job runs and which task is next: generation (16 bits) | count
   (24 bits) | next index (24 bits). A worker takes a task with a compare-and-swap on it, so it
   can never take an index of a job other than the one whose count it compared against. */
#define NN_POOL_MAX 64
#define NN_IDX_BITS 24
#define NN_IDX_MASK ((1UL << NN_IDX_BITS) - 1)
static pthread_t pool_workers[NN_POOL_MAX];
static int pool_size = 1;                     /* threads in total, the caller included */
static _Atomic unsigned long pool_ticket = 0;
static atomic_long pool_done = 0;             /* tasks finished in the current job */
static atomic_int pool_sleepers = 0;
static atomic_int pool_stop = 0;
static unsigned long pool_gen = 0;
static nn_task_fn pool_fn = 0;
static void *pool_ctx = 0;
static int pool_tag = 0;                      /* the submitting thread's tag, for the workers */
static _Thread_local int thread_tag = 0;
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
/* Held by the thread whose job the pool runs: a second caller (another thread, or a task that
   itself calls nn_pool_run) runs its loop serially instead of waiting. */
static pthread_mutex_t pool_run_lock = PTHREAD_MUTEX_INITIALIZER;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline int ticket_has_work(unsigned long t) {
    return (t & NN_IDX_MASK) < ((t >> NN_IDX_BITS) & NN_IDX_MASK);
}

/* Takes and runs tasks until none is left. */
static void pool_work(void) {
    unsigned long t = atomic_load_explicit(&pool_ticket, memory_order_acquire);
    while (ticket_has_work(t)) {
        if (atomic_compare_exchange_weak_explicit(&pool_ticket, &t, t + 1, memory_order_acq_rel, memory_order_acquire)) {
            const int own = thread_tag;
            thread_tag = pool_tag;   /* a task runs under its submitter's tag */
            pool_fn(pool_ctx, (long)(t & NN_IDX_MASK));
            thread_tag = own;
            atomic_fetch_add_explicit(&pool_done, 1, memory_order_release);
            t = atomic_load_explicit(&pool_ticket, memory_order_acquire);
        }
    }
}

static void *pool_main(void *arg) {
    (void)arg;
    nn_set_flush_denormals();
    for (;;) {
        /* Spin a little (tens of µs: a step's loops follow each other closely), then sleep. */
        int found = 0;
        for (int spin = 0; spin < 20000 && !found; spin++) {
            if (atomic_load_explicit(&pool_stop, memory_order_relaxed)) return 0;
            found = ticket_has_work(atomic_load_explicit(&pool_ticket, memory_order_acquire));
            if (!found) cpu_relax();
        }
        if (!found) {
            pthread_mutex_lock(&pool_mutex);
            atomic_fetch_add(&pool_sleepers, 1);
            while (!ticket_has_work(atomic_load(&pool_ticket)) && !atomic_load(&pool_stop))
                pthread_cond_wait(&pool_cond, &pool_mutex);
            atomic_fetch_sub(&pool_sleepers, 1);
            pthread_mutex_unlock(&pool_mutex);
            if (atomic_load(&pool_stop)) return 0;
        }
        pool_work();
    }
}

void nn_pool_set_threads(int threads) {
    if (threads < 1) threads = 1;
    if (threads > NN_POOL_MAX) threads = NN_POOL_MAX;
    pthread_mutex_lock(&pool_run_lock);
    if (threads == pool_size) { pthread_mutex_unlock(&pool_run_lock); return; }
    if (pool_size > 1) {
        atomic_store(&pool_stop, 1);
        pthread_mutex_lock(&pool_mutex);
        pthread_cond_broadcast(&pool_cond);
        pthread_mutex_unlock(&pool_mutex);
        for (int i = 0; i < pool_size - 1; i++) pthread_join(pool_workers[i], 0);
        atomic_store(&pool_stop, 0);
    }
    pool_size = 1;
    for (int i = 0; i < threads - 1; i++) {
        if (pthread_create(&pool_workers[i], 0, pool_main, 0) != 0) break;
        pool_size++;
    }
    pthread_mutex_unlock(&pool_run_lock);
}

int nn_pool_threads(void) { return pool_size; }

void nn_set_thread_tag(int tag) { thread_tag = tag; }
int nn_thread_tag(void) { return thread_tag; }

void nn_pool_run(nn_task_fn fn, void *ctx, long count) {
    if (count <= 0) return;
    if (pool_size == 1 || count == 1 || (unsigned long)count > NN_IDX_MASK || pthread_mutex_trylock(&pool_run_lock) != 0) {
        for (long i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    if (pool_size == 1) {  /* shrunk while we waited for the lock */
        pthread_mutex_unlock(&pool_run_lock);
        for (long i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    pool_fn = fn;
    pool_ctx = ctx;
    pool_tag = thread_tag;
    atomic_store_explicit(&pool_done, 0, memory_order_relaxed);
    pool_gen = (pool_gen + 1) & 0xFFFF;
    unsigned long t = (pool_gen << (2 * NN_IDX_BITS)) | ((unsigned long)count << NN_IDX_BITS);
    atomic_store(&pool_ticket, t);   /* seq_cst: pairs with the sleepers count (no lost wake-up) */
    if (atomic_load(&pool_sleepers) > 0) {
        pthread_mutex_lock(&pool_mutex);
        pthread_cond_broadcast(&pool_cond);
        pthread_mutex_unlock(&pool_mutex);
    }
    pool_work();
    while (atomic_load_explicit(&pool_done, memory_order_acquire) < count) cpu_relax();
    pthread_mutex_unlock(&pool_run_lock);
}
