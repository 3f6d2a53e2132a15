#ifndef NNTRAIN_CSUPPORT_H
#define NNTRAIN_CSUPPORT_H

/// Sets flush-to-zero and denormals-are-zero for the calling thread (x86 MXCSR, ARM FPCR.FZ).
/// Subnormal floats make optimizer state updates many times slower and change no result that
/// matters for training. Returns 1 when the mode was set, 0 on a platform without the switch.
int nn_set_flush_denormals(void);

/// Installs SIGINT/SIGTERM/SIGHUP handlers that record the signal in a flag (read with
/// nn_pending_signal; SIGHUP is recorded as SIGTERM) and ignores SIGPIPE. A second SIGINT
/// restores the default action and re-raises it.
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

/// A fixed pool of worker threads for data-parallel loops: `nn_pool_run(fn, ctx, count)` calls
/// fn(ctx, i) for every i in [0, count) on the calling thread and the workers, and returns when
/// all calls are done. Workers spin briefly between jobs (a step's loops follow each other
/// closely), then sleep. `nn_pool_set_threads(n)` sets the total (caller included); 1 means
/// no workers. Safe to call from any thread: while the pool runs one caller's job, another
/// caller (or a task calling it again) runs its loop serially on its own thread.
typedef void (*nn_task_fn)(void *ctx, long index);
void nn_pool_set_threads(int threads);
int nn_pool_threads(void);
void nn_pool_run(nn_task_fn fn, void *ctx, long count);
/// A per-thread tag (0 by default) that the pool's workers take on while they run a task of the
/// thread that set it: GEMMTrace records the products of one thread's work and its tasks only.
void nn_set_thread_tag(int tag);
int nn_thread_tag(void);

/// 3 AVX-512, 2 AVX2, 1 SSE2, 0 other CPUs: the kernels below use the widest available.
int nn_simd_level(void);

/// One Adam step over n elements (see Kernels.adam); vmax is NULL without amsgrad.
void nn_adam(float *w, const float *g, float *m, float *v, float *vmax, long n, float beta1, float beta2,
             float l2, float decay, float step, float inv_sqrt_bc2, float eps);

/// Inverted dropout of elements [start, end) (start even): element i's keep/drop comes from
/// draw counter + i/2 of a SplitMix64 stream keyed by `key` (bits 40–63 for even i, 8–31 for
/// odd i; kept when ≥ threshold24 = p·2²⁴); mask = scale or 0, out = x·mask.
#include <stdint.h>
void nn_dropout_forward(const float *x, float *out, float *mask, long start, long end, uint32_t threshold24, float scale,
                        uint64_t key, uint64_t counter);

/// A dense layer's output pass on a row-major rows × cols matrix: y = y + bias (bias may be NULL),
/// then max(·, 0) as Swift's max(v, 0) when `relu` (a NaN stays NaN).
void nn_bias_activate(float *y, const float *bias, long rows, long cols, int relu);
/// Asks for the cache lines of [p, p + bytes) ahead of their use (into L2; no effect on results).
void nn_prefetch(const void *p, long bytes);
/// out[i] = Float(x[i]) · scale[i] + shift[i] (a multiply, then an add).
void nn_bytes_affine(const uint8_t *x, const float *scale, const float *shift, float *out, long n);

/// im2col for stride 1 (ConvKernels.c): cols[(c·kh + i)·kw + j][oy·ow + ox] (rows row_stride
/// apart) = x[c, oy − ph + i·dh, ox − pw + j·dw], 0 outside; `pad` holds (h + 2ph)·(w + 2pw) floats.
void nn_im2col_s1(const float *x, float *cols, long row_stride, int channels, int h, int w, int kh, int kw,
                  int ph, int pw, int dh, int dw, int oh, int ow, float *pad);
/// The adjoint of nn_im2col_s1: dx (overwritten) = the sum of each column entry at its input position.
void nn_col2im_s1(const float *cols, float *dx, long row_stride, int channels, int h, int w, int kh, int kw,
                  int ph, int pw, int dh, int dw, int oh, int ow, float *pad);
/// y[b, o, s] = act(z[o, b·spatial + s] + bias[o]) for `samples` samples (act: ReLU or identity);
/// pre (optional) gets the value before the activation. bias may be NULL.
void nn_conv_output(const float *z, long width, float *y, long sample_stride, float *pre, const float *bias,
                    int out, int samples, long spatial, int relu);
/// dz[o, b·spatial + s] = dy[b, o, s] · (relu ? y[b, o, s] > 0 : 1); db[o] += Σ of each row piece (db may be NULL).
void nn_conv_output_grad(const float *dy, const float *y, long sample_stride, float *dz, long width, float *db,
                         int out, int samples, long spatial, int relu);
/// 2×2 max pooling, stride 2, of `planes` h×w planes; winners gets each window's index in its plane.
void nn_maxpool2_forward(const float *x, float *y, int32_t *winners, long planes, int h, int w);
/// Its adjoint: dx (every element written) holds g at each winner, 0 elsewhere.
void nn_maxpool2_backward(const float *g, const int32_t *winners, float *dx, long planes, int h, int w);

/// Convolution output fused with the 2×2/2 max pooling after it: for each sample and channel, the
/// plane z[o, b·oh·ow ..] plus bias[o], pooled as PyTorch's max_pool2d (a later value wins when
/// greater or NaN), then ReLU when `relu`: y[b, o, ·] and winners[b, o, ·] (index in the plane),
/// `sample_stride` = out·(oh/2)·(ow/2) apart.
void nn_conv_pool_output(const float *z, long width, float *y, int32_t *winners, long sample_stride, const float *bias,
                         int out, int samples, int oh, int ow, int relu);
/// Its adjoint: every element of dz[o, b·oh·ow ..] written (g at the winner, masked by y > 0 when
/// `relu`; 0 elsewhere); db[o] += the sum of each plane (db may be NULL).
/// Tests: the instruction set of the convolution kernels (3 AVX-512 where the CPU has it, else
/// the portable loops; -1 detects again).
void nn_set_conv_simd_level(int level);
void nn_conv_pool_grad(const float *g, const int32_t *winners, const float *y, long sample_stride, float *dz, long width,
                       float *db, int out, int samples, int oh, int ow, int relu);

/// C[i·ldc + j] = (accumulate ? C[i·ldc + j] : 0) + Σ_p a(i, p)·b[p·ldb + j] for i < m, j < n, the terms
/// added to that start value in order of p < k, one fused multiply-add each; a(i, p) =
/// a[i·sa_row + p·sa_col] (either orientation of A). nntrain's own AVX-512 kernel (Gemm.c): returns 0 and does nothing on CPUs
/// without AVX-512.
int nn_gemm_direct(long m, long n, long k, const float *a, long sa_row, long sa_col, const float *b, long ldb, float *c,
                   long ldc, int accumulate);
/// 1 when nn_gemm_direct computes on this CPU.
int nn_gemm_direct_available(void);
/// Floats of W [n, k] packed for nn_gemm_packed: panels of 64 columns of Wᵀ.
long nn_gemm_packed_size(long n, long k);
/// Packs W [n, k] (row-major) as Wᵀ in panels of 64 columns ([p][64] per panel, zeros past n).
void nn_gemm_pack(const float *w, long n, long k, float *packed);
/// C [m, n] (row stride ldc) = act(A·Wᵀ + bias) with A [m, k] (row stride lda) and W packed by
/// nn_gemm_pack; each element 0, then the terms in order of k by fused multiply-adds, then + bias
/// (may be NULL), then ReLU as `0 >= v ? 0 : v` when relu. Returns 0 and does nothing without AVX-512.
int nn_gemm_packed(long m, long n, long k, const float *a, long lda, const float *packed, float *c, long ldc, const float *bias,
                   int relu);
/// dst[j·ldd + i] = src[i·lds + j] for a rows × cols matrix.
void nn_transpose(const float *src, long rows, long cols, long lds, float *dst, long ldd);

/* Winograd F(2×2, 3×3) for a 3×3, stride-1 convolution (Winograd.c; the tile transforms need
   AVX-512: call only where nn_gemm_direct_available()). A sample's output is
   th × tw tiles of 2×2 (th = ⌈oh/2⌉, tw = ⌈ow/2⌉); transformed data are [16][tiles][channels]
   with xi_stride floats between the 16 positions. Scratch: xp (2·th + 2)·(2·tw + 2)·C floats,
   tmp H·W·C (input) or oh·ow·O (output) floats. */
/// V = Bᵀ d B of every tile of one sample x [C][H][W] with zero padding (ph, pw).
void nn_wino_input(const float *x, long C, long H, long W, long ph, long pw, long th, long tw, float *xp, float *tmp, float *v,
                   long xi_stride);
/// The tiles' V from a padded plane xp [2·th + 2][2·tw + 2][C].
void nn_wino_input_tiles(const float *xp, long C, long th, long tw, float *v, long xi_stride);
/// dx [C][H][W] = the adjoint of nn_wino_input applied to dV (overwrites dx).
void nn_wino_input_grad(const float *v, long xi_stride, long C, long H, long W, long ph, long pw, long th, long tw, float *xp,
                        float *tmp, float *dx);
/// The adjoint of nn_wino_input_tiles: xp = Σ over tiles of B dV Bᵀ placed at each tile.
void nn_wino_input_grad_tiles(const float *v, long xi_stride, long C, long th, long tw, float *xp);
/// Y = Aᵀ M A of every tile into z [O][oh·ow] at row stride ldz (yt: scratch).
void nn_wino_output(const float *m, long xi_stride, long O, long oh, long ow, long th, long tw, float *yt, float *z, long ldz);
/// dM = A dY Aᵀ of every tile, dY from z [O][oh·ow] at row stride ldz (yt: scratch).
void nn_wino_output_grad(const float *z, long ldz, long O, long oh, long ow, long th, long tw, float *yt, float *m, long xi_stride);
/// U = G g Gᵀ of weights w [O][C][3][3] into u [16][O][C] and ut [16][C][O].
void nn_wino_filter(const float *w, long O, long C, float *u, float *ut);
/// dw [O][C][3][3] = Gᵀ dU G from dUᵀ [16][C][O] (overwrites dw).
void nn_wino_filter_grad(const float *dut, long O, long C, float *dw);

// Recurrent cells (Recurrent.c): one batch row of one time step, torch's gate order.
/// y = σ(x) and y = tanh(x) with the cells' exp (for tests and the pooled passes).
void nn_rnn_sigmoid(const float *x, float *y, long n);
void nn_rnn_tanh(const float *x, float *y, long n);
/// LSTM: g [i f g o] pre-activations (+ bias, may be NULL) → activations; c, tanh(c), h of the step
/// (h also to y when not NULL).
void nn_lstm_forward(float *g, const float *bias, const float *c_prev, float *c, float *tanh_c, float *h, float *y, long hidden);
/// LSTM backward from dL/dh = dh (+ dy when not NULL) over m rows of one step: pre-activation
/// gradients dg (4h), their sum over the rows added to sum (may be NULL); dc: dL/dc from the step
/// after in, dL/dc_prev out. Row b at a + b·sa, dg + b·sa, c_prev/tanh_c + b·sc, dh/dc + b·hidden,
/// dy + b·sy. portable: the portable body even on AVX-512 (tests; the same bits).
void nn_lstm_backward_rows(const float *a, long sa, const float *c_prev, const float *tanh_c, long sc, const float *dh, const float *dy,
                           long sy, float *dc, float *dg, float *sum, long m, long hidden, int portable);
/// GRU: gi [r z n] (W_i x) += b_i → activations; rec (W_h h) += b_h; h of the step, also to y when
/// not NULL (biases may be NULL).
void nn_gru_forward(float *gi, const float *bias_ih, float *rec, const float *bias_hh, const float *h_prev, float *h, float *y,
                    long hidden);
/// GRU backward from dh (+ dy when not NULL): dgi, drec (3h each; added to sum_i, sum_h when not
/// NULL) and z⊙dh in dh_direct.
void nn_gru_backward(const float *a, const float *rec, const float *h_prev, const float *dh, const float *dy, float *dgi, float *drec,
                     float *dh_direct, float *sum_i, float *sum_h, long hidden);
/// Elman RNN: a (+ bias, may be NULL) → h = tanh(a) or relu(a) (in a, h and y when not NULL);
/// backward da from dh (+ dy), added to sum when not NULL.
void nn_rnn_forward(float *a, const float *bias, float *h, float *y, long hidden, int relu);
void nn_rnn_backward(const float *h, const float *dh, const float *dy, float *da, float *sum, long hidden, int relu);

/// Sends `sig` to `pid`; 0 on success.
int nn_kill(pid_t pid, int sig);
#endif
