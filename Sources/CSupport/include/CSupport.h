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
#endif
