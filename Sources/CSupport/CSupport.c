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
