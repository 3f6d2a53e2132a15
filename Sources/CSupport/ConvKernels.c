/* The memory-bound passes around a convolution's matrix products: im2col and its adjoint for
   stride 1 (any padding and dilation) — im2col through a zero-padded copy of each input plane, so
   every row of the column matrix is made of whole-row copies with no bounds tests, col2im as a
   gather on AVX-512; the output pass (bias, ReLU, [out, n·S] → NCHW) and its adjoint (ReLU mask,
   NCHW → [out, n·S], bias sums) in one sweep each; and 2×2/2 max pooling with its winners, fused
   into the output pass or on its own. AVX-512 versions are chosen at run time (masked loads and
   stores: a 14-float row is one of each); the portable ones copy short rows in 8-float pieces,
   never by a call to memcpy, and give the same bits. No reassociation: sums run in the order
   written. */
#include "CSupport.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#pragma clang fp contract(off)

/* Each kernel is compiled for AVX-512, AVX2 and the baseline; the loader picks one (ifunc). */
#if defined(__x86_64__) && defined(__linux__)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif

/* d[0..<n] = s[0..<n] for short rows. */
static inline void copy_row(float *restrict d, const float *restrict s, long n) {
    if (n >= 8) {
        long k = 0;
        for (; k + 8 <= n; k += 8) __builtin_memcpy_inline(d + k, s + k, 32);
        if (k < n) __builtin_memcpy_inline(d + n - 8, s + n - 8, 32);
    } else {
        for (long k = 0; k < n; k++) d[k] = s[k];
    }
}

static inline void add_row(float *restrict d, const float *restrict s, long n) {
    for (long k = 0; k < n; k++) d[k] += s[k];
}

/* im2col and col2im bodies, instantiated with the row helpers of each instruction set. */
#define IM2COL_BODY(COPY)                                                                                  \
    const long pwid = w + 2L * pw, phgt = h + 2L * ph;                                                     \
    memset(pad, 0, sizeof(float) * (size_t)(pwid * phgt));                                                 \
    for (int c = 0; c < channels; c++) {                                                                   \
        const float *src = x + (long)c * h * w;                                                            \
        for (int y = 0; y < h; y++) COPY(pad + (y + ph) * pwid + pw, src + (long)y * w, w);                \
        for (int i = 0; i < kh; i++) {                                                                     \
            for (int j = 0; j < kw; j++) {                                                                 \
                float *row = cols + ((long)(c * kh + i) * kw + j) * row_stride;                            \
                const float *p = pad + (long)i * dh * pwid + (long)j * dw;                                 \
                for (int oy = 0; oy < oh; oy++) COPY(row + (long)oy * ow, p + oy * pwid, ow);              \
            }                                                                                              \
        }                                                                                                  \
    }

#define COL2IM_BODY(COPY, ADD)                                                                             \
    const long pwid = w + 2L * pw, phgt = h + 2L * ph;                                                     \
    for (int c = 0; c < channels; c++) {                                                                   \
        memset(pad, 0, sizeof(float) * (size_t)(pwid * phgt));                                             \
        for (int i = 0; i < kh; i++) {                                                                     \
            for (int j = 0; j < kw; j++) {                                                                 \
                const float *row = cols + ((long)(c * kh + i) * kw + j) * row_stride;                      \
                float *p = pad + (long)i * dh * pwid + (long)j * dw;                                       \
                for (int oy = 0; oy < oh; oy++) ADD(p + oy * pwid, row + (long)oy * ow, ow);               \
            }                                                                                              \
        }                                                                                                  \
        float *dst = dx + (long)c * h * w;                                                                 \
        for (int y = 0; y < h; y++) COPY(dst + (long)y * w, pad + (y + ph) * pwid + pw, w);                \
    }

static void im2col_portable(const float *x, float *cols, long row_stride, int channels, int h, int w, int kh, int kw,
                            int ph, int pw, int dh, int dw, int oh, int ow, float *pad) {
    IM2COL_BODY(copy_row)
}

static void col2im_portable(const float *cols, float *dx, long row_stride, int channels, int h, int w, int kh, int kw,
                            int ph, int pw, int dh, int dw, int oh, int ow, float *pad) {
    COL2IM_BODY(copy_row, add_row)
}

#if defined(__x86_64__)
/* A row of any length in 16-float pieces, the last one masked: one load and one store per piece. */
__attribute__((target("avx512f"))) static inline void copy_row_512(float *restrict d, const float *restrict s, long n) {
    long k = 0;
    for (; k + 16 <= n; k += 16) _mm512_storeu_ps(d + k, _mm512_loadu_ps(s + k));
    if (k < n) {
        const __mmask16 m = (__mmask16)((1u << (n - k)) - 1);
        _mm512_mask_storeu_ps(d + k, m, _mm512_maskz_loadu_ps(m, s + k));
    }
}

__attribute__((target("avx512f")))
static void im2col_avx512(const float *x, float *cols, long row_stride, int channels, int h, int w, int kh, int kw,
                          int ph, int pw, int dh, int dw, int oh, int ow, float *pad) {
    IM2COL_BODY(copy_row_512)
}

/* col2im as a gather: each 16-column piece of an input row sums, in registers and in the
   portable loop's order (taps i, then j), the column entries that came from it — masked loads at
   the shifted positions, no padded plane, and no re-reading of rows just stored (the scatter form's
   overlapping row adds spent most of their time waiting on those loads). */
__attribute__((target("avx512f")))
static void col2im_avx512(const float *cols, float *dx, long row_stride, int channels, int h, int w, int kh, int kw,
                          int ph, int pw, int dh, int dw, int oh, int ow, float *pad) {
    const int blocks = (w + 15) / 16;
    if (kw * blocks > 256) { col2im_portable(cols, dx, row_stride, channels, h, w, kh, kw, ph, pw, dh, dw, oh, ow, pad); return; }
    /* Per tap column j and 16-column piece: the lanes that have a source column, and its offset. */
    __mmask16 masks[256];
    int shifts[256];
    for (int j = 0; j < kw; j++) {
        for (int blk = 0; blk < blocks; blk++) {
            const int x0 = 16 * blk, n = w - x0 < 16 ? w - x0 : 16;
            const int shift = x0 + pw - j * dw;  /* the column ox of lane 0 */
            const int lo = shift < 0 ? -shift : 0, hi = ow - shift < n ? ow - shift : n;
            masks[j * blocks + blk] = lo < hi ? (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1)) : 0;
            shifts[j * blocks + blk] = shift;
        }
    }
    for (int c = 0; c < channels; c++) {
        float *dst = dx + (long)c * h * w;
        const float *tap = cols + (long)c * kh * kw * row_stride;
        for (int y = 0; y < h; y++) {
            for (int blk = 0; blk < blocks; blk++) {
                const int x0 = 16 * blk, n = w - x0 < 16 ? w - x0 : 16;
                __m512 acc = _mm512_setzero_ps();
                for (int i = 0; i < kh; i++) {
                    const int oy = y + ph - i * dh;
                    if (oy < 0 || oy >= oh) continue;
                    const float *row = tap + (long)i * kw * row_stride + (long)oy * ow;
                    for (int j = 0; j < kw; j++) {
                        const __mmask16 m = masks[j * blocks + blk];
                        acc = _mm512_mask_add_ps(acc, m, acc, _mm512_maskz_loadu_ps(m, row + (long)j * row_stride + shifts[j * blocks + blk]));
                    }
                }
                _mm512_mask_storeu_ps(dst + (long)y * w + x0, (__mmask16)((1u << n) - 1), acc);
            }
        }
    }
}
#endif

/* The instruction set the kernels below use: 3 AVX-512 where the CPU has it, else portable. */
static int simd_level = -1;

void nn_set_conv_simd_level(int level) { simd_level = level; }

static inline int level(void) {
    if (simd_level < 0) simd_level = nn_simd_level();
    return simd_level;
}

void nn_im2col_s1(const float *x, float *cols, long row_stride, int channels, int h, int w, int kh, int kw,
                  int ph, int pw, int dh, int dw, int oh, int ow, float *pad) {
#if defined(__x86_64__)
    if (level() == 3) { im2col_avx512(x, cols, row_stride, channels, h, w, kh, kw, ph, pw, dh, dw, oh, ow, pad); return; }
#endif
    im2col_portable(x, cols, row_stride, channels, h, w, kh, kw, ph, pw, dh, dw, oh, ow, pad);
}

void nn_col2im_s1(const float *cols, float *dx, long row_stride, int channels, int h, int w, int kh, int kw,
                  int ph, int pw, int dh, int dw, int oh, int ow, float *pad) {
#if defined(__x86_64__)
    if (level() == 3) { col2im_avx512(cols, dx, row_stride, channels, h, w, kh, kw, ph, pw, dh, dw, oh, ow, pad); return; }
#endif
    col2im_portable(cols, dx, row_stride, channels, h, w, kh, kw, ph, pw, dh, dw, oh, ow, pad);
}

NN_CLONES
void nn_conv_output(const float *z, long width, float *y, long sample_stride, float *pre, const float *bias,
                    int out, int samples, long spatial, int relu) {
    for (int b = 0; b < samples; b++) {
        for (int o = 0; o < out; o++) {
            const float *src = z + (long)o * width + (long)b * spatial;
            float *dst = y + (long)b * sample_stride + (long)o * spatial;
            const float bo = bias ? bias[o] : 0.0f;
            if (pre) {
                float *pd = pre + (long)b * sample_stride + (long)o * spatial;
                for (long k = 0; k < spatial; k++) pd[k] = src[k] + bo;
            }
            if (relu) {
                for (long k = 0; k < spatial; k++) { float v = src[k] + bo; dst[k] = v < 0.0f ? 0.0f : v; }
            } else {
                for (long k = 0; k < spatial; k++) dst[k] = src[k] + bo;
            }
        }
    }
}

/* Σ x[0..<n] in 32 interleaved partial sums, added pairwise in a fixed order (a bias gradient:
   short dependency chains, and the same bits from every instruction set). */
NN_CLONES
static float sum32(const float *x, long n) {
    float acc[32] = {0};
    long i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 32; l++) acc[l] += x[i + l];
    for (int l = 0; l < 16; l++) acc[l] += acc[l + 16];
    for (int l = 0; l < 8; l++) acc[l] += acc[l + 8];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) s += x[i];
    return s;
}

NN_CLONES
void nn_conv_output_grad(const float *dy, const float *y, long sample_stride, float *dz, long width, float *db,
                         int out, int samples, long spatial, int relu) {
    for (int b = 0; b < samples; b++) {
        for (int o = 0; o < out; o++) {
            const float *g = dy + (long)b * sample_stride + (long)o * spatial;
            float *dst = dz + (long)o * width + (long)b * spatial;
            if (relu) {
                const float *yy = y + (long)b * sample_stride + (long)o * spatial;
                for (long k = 0; k < spatial; k++) { const float v = g[k]; dst[k] = yy[k] > 0.0f ? v : 0.0f; }
            } else {
                for (long k = 0; k < spatial; k++) dst[k] = g[k];
            }
            if (db) db[o] += sum32(dst, spatial);
        }
    }
}

NN_CLONES
void nn_maxpool2_forward(const float *x, float *y, int32_t *winners, long planes, int h, int w) {
    const int oh = h / 2, ow = w / 2;
    for (long p = 0; p < planes; p++) {
        const float *src = x + p * h * w;
        float *out = y + p * oh * ow;
        int32_t *win = winners + p * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            const int r0 = 2 * oy * w, r1 = r0 + w;
            for (int ox = 0; ox < ow; ox++) {
                const int c = 2 * ox;
                /* As PyTorch's scan of the window in order (a later value wins when greater or
                   NaN), taken pairwise without branches: each row's winner, then the two rows'. */
                const float a = src[r0 + c], b = src[r0 + c + 1], e = src[r1 + c], f = src[r1 + c + 1];
                const int tb = (b > a) | (b != b), tf = (f > e) | (f != f);
                const float top = tb ? b : a, bottom = tf ? f : e;
                const int32_t at = r0 + c + tb, ab = r1 + c + tf;
                const int t = (bottom > top) | (bottom != bottom);
                out[oy * ow + ox] = t ? bottom : top;
                win[oy * ow + ox] = t ? ab : at;
            }
        }
    }
}

NN_CLONES
void nn_maxpool2_backward(const float *g, const int32_t *winners, float *dx, long planes, int h, int w) {
    const int oh = h / 2, ow = w / 2;
    for (long p = 0; p < planes; p++) {
        const float *gp = g + p * oh * ow;
        const int32_t *win = winners + p * oh * ow;
        float *d = dx + p * h * w;
        for (int oy = 0; oy < oh; oy++) {
            const int r0 = 2 * oy * w, r1 = r0 + w;
            for (int ox = 0; ox < ow; ox++) {
                const int c = 2 * ox;
                const int32_t a = win[oy * ow + ox];
                const float v = gp[oy * ow + ox];
                d[r0 + c] = a == r0 + c ? v : 0.0f;
                d[r0 + c + 1] = a == r0 + c + 1 ? v : 0.0f;
                d[r1 + c] = a == r1 + c ? v : 0.0f;
                d[r1 + c + 1] = a == r1 + c + 1 ? v : 0.0f;
            }
            if (w & 1) { d[r0 + w - 1] = 0.0f; d[r1 + w - 1] = 0.0f; }
        }
        if (h & 1) memset(d + (long)(h - 1) * w, 0, sizeof(float) * (size_t)w);
    }
}

/* The 2×2/2 window at (r0 + c, r0 + c + 1, r1 + c, r1 + c + 1) of plane `p` plus `bo`, scanned as
   PyTorch's max_pool2d (a later value wins when greater or NaN): its value and index. */
static inline float window_max(const float *p, int r0, int r1, int c, float bo, int32_t *arg) {
    const float a = p[r0 + c] + bo, b = p[r0 + c + 1] + bo, e = p[r1 + c] + bo, f = p[r1 + c + 1] + bo;
    const int tb = (b > a) | (b != b), tf = (f > e) | (f != f);
    const float top = tb ? b : a, bottom = tf ? f : e;
    const int t = (bottom > top) | (bottom != bottom);
    *arg = t ? r1 + c + tf : r0 + c + tb;
    return t ? bottom : top;
}

/* One plane (oh×ow, row stride ow) pooled into dst/win (ph×pw): the portable loop. */
NN_CLONES
static void pool_plane(const float *plane, int oh, int ow, float bo, int relu, float *dst, int32_t *win) {
    const int ph = oh / 2, pw = ow / 2;
    for (int py = 0; py < ph; py++) {
        const int r0 = 2 * py * ow, r1 = r0 + ow;
#pragma clang loop vectorize_width(8)
        for (int px = 0; px < pw; px++) {
            int32_t arg;
            const float v = window_max(plane, r0, r1, 2 * px, bo, &arg);
            dst[py * pw + px] = relu ? (v < 0.0f ? 0.0f : v) : v;
            win[py * pw + px] = arg;
        }
    }
}

/* Its adjoint for one plane: every element of d written. */
NN_CLONES
static void unpool_plane(const float *gp, const int32_t *win, const float *yp, int oh, int ow, int relu, float *d) {
    const int ph = oh / 2, pw = ow / 2;
    for (int py = 0; py < ph; py++) {
        const int r0 = 2 * py * ow, r1 = r0 + ow;
#pragma clang loop vectorize_width(8)
        for (int px = 0; px < pw; px++) {
            const int c = 2 * px;
            const int32_t a = win[py * pw + px];
            const float gv = gp[py * pw + px];
            const float v = relu ? (yp[py * pw + px] > 0.0f ? gv : 0.0f) : gv;
            d[r0 + c] = a == r0 + c ? v : 0.0f;
            d[r0 + c + 1] = a == r0 + c + 1 ? v : 0.0f;
            d[r1 + c] = a == r1 + c ? v : 0.0f;
            d[r1 + c + 1] = a == r1 + c + 1 ? v : 0.0f;
        }
        if (ow & 1) { d[r0 + ow - 1] = 0.0f; d[r1 + ow - 1] = 0.0f; }
    }
    if (oh & 1) for (int k = 0; k < ow; k++) d[(long)(oh - 1) * ow + k] = 0.0f;
}

#if defined(__x86_64__)
/* The same two with AVX-512, 16 windows of a row pair at a time: masked loads of the two rows,
   even/odd lanes split by permutes, the same comparisons as window_max lane by lane. */
/* The masks of a piece of n ≤ 16 windows: its n outputs, and the 2n inputs of each of its rows
   over two vectors (lo, hi). */
static inline void piece_masks(int n, __mmask16 *m, __mmask16 *mlo, __mmask16 *mhi) {
    *m = (__mmask16)((1u << n) - 1);
    *mlo = (__mmask16)(2 * n >= 16 ? 0xFFFF : (1u << (2 * n)) - 1);
    *mhi = (__mmask16)(2 * n > 16 ? (1u << (2 * n - 16)) - 1 : 0);
}

/* A pooled gradient g routed to each window's winner w (i0 / i1: the indices of the window's
   top-left and bottom-left inputs): the values for its four inputs, 0 where they did not win. */
__attribute__((target("avx512f")))
static inline void route_512(__m512 g, __m512i w, __m512i i0, __m512i i1, __m512 *da, __m512 *db, __m512 *de, __m512 *df) {
    const __m512i one = _mm512_set1_epi32(1);
    *da = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(w, i0), g);
    *db = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(w, _mm512_add_epi32(i0, one)), g);
    *de = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(w, i1), g);
    *df = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(w, _mm512_add_epi32(i1, one)), g);
}

/* window_max lane by lane. The windows' top inputs are the even (left) and odd (right) elements of
   the 32 floats t0:t1 as picked by the index vectors E and O, the bottom inputs those of u0:u1;
   i0 / i1 are the plane indices of each window's top-left and bottom-left inputs. Returns the
   maxima plus bias (after ReLU when `relu`) and sets *arg to the winners. */
__attribute__((target("avx512f")))
static inline __m512 window_max_512(__m512 t0, __m512 t1, __m512 u0, __m512 u1, __m512i E, __m512i O, __m512 vb,
                                    __m512i i0, __m512i i1, int relu, __m512i *arg) {
    const __m512 a = _mm512_add_ps(_mm512_permutex2var_ps(t0, E, t1), vb), b = _mm512_add_ps(_mm512_permutex2var_ps(t0, O, t1), vb);
    const __m512 e = _mm512_add_ps(_mm512_permutex2var_ps(u0, E, u1), vb), f = _mm512_add_ps(_mm512_permutex2var_ps(u0, O, u1), vb);
    const __mmask16 tb = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
    const __mmask16 tf = _mm512_cmp_ps_mask(f, e, _CMP_GT_OQ) | _mm512_cmp_ps_mask(f, f, _CMP_UNORD_Q);
    const __m512 top = _mm512_mask_blend_ps(tb, a, b), bottom = _mm512_mask_blend_ps(tf, e, f);
    const __mmask16 t = _mm512_cmp_ps_mask(bottom, top, _CMP_GT_OQ) | _mm512_cmp_ps_mask(bottom, bottom, _CMP_UNORD_Q);
    __m512 v = _mm512_mask_blend_ps(t, top, bottom);
    const __m512 zero = _mm512_setzero_ps();
    if (relu) v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), zero);
    const __m512i one = _mm512_set1_epi32(1);
    *arg = _mm512_mask_blend_epi32(t, _mm512_mask_add_epi32(i0, tb, i0, one), _mm512_mask_add_epi32(i1, tf, i1, one));
    return v;
}

/* Planes at most 16 wide (8 windows a row): two row pairs share one vector, lanes 0..pw−1 for the
   first, pw..2pw−1 for the second, whose outputs are contiguous in the pooled plane. */
__attribute__((target("avx512f")))
static void pool_pairs_avx512(const float *plane, int oh, int ow, float bo, int relu, float *dst, int32_t *win) {
    const int ph = oh / 2, pw = ow / 2;
    int32_t e_idx[16], col[16], shift[16];
    for (int l = 0; l < 16; l++) {
        const int second = l >= pw && l < 2 * pw;
        col[l] = l < pw ? 2 * l : second ? 2 * (l - pw) : 0;
        e_idx[l] = col[l] + (second ? 16 : 0);
        shift[l] = second ? 2 * ow : 0;
    }
    const __m512i E = _mm512_loadu_si512(e_idx), O = _mm512_add_epi32(E, _mm512_set1_epi32(1));
    const __m512i base = _mm512_add_epi32(_mm512_loadu_si512(col), _mm512_loadu_si512(shift));
    const __m512 vb = _mm512_set1_ps(bo);
    const __mmask16 mrow = (__mmask16)((1u << (2 * pw)) - 1);
    for (int py = 0; py < ph; py += 2) {
        const int two = py + 1 < ph;
        const int r0 = 2 * py * ow, r1 = r0 + ow;
        const __mmask16 m2 = two ? mrow : 0, mo = (__mmask16)((1u << ((two ? 2 : 1) * pw)) - 1);
        const __m512 x0 = _mm512_maskz_loadu_ps(mrow, plane + r0), x1 = _mm512_maskz_loadu_ps(mrow, plane + r1);
        const __m512 x2 = _mm512_maskz_loadu_ps(m2, plane + r0 + 2 * ow), x3 = _mm512_maskz_loadu_ps(m2, plane + r1 + 2 * ow);
        __m512i arg;
        const __m512 v = window_max_512(x0, x2, x1, x3, E, O, vb, _mm512_add_epi32(base, _mm512_set1_epi32(r0)),
                                        _mm512_add_epi32(base, _mm512_set1_epi32(r1)), relu, &arg);
        _mm512_mask_storeu_ps(dst + py * pw, mo, v);
        _mm512_mask_storeu_epi32(win + py * pw, mo, arg);
    }
}

__attribute__((target("avx512f")))
static void unpool_pairs_avx512(const float *gp, const int32_t *win, const float *yp, int oh, int ow, int relu, float *d) {
    const int ph = oh / 2, pw = ow / 2;
    int32_t col[16], shift[16], first[16], second[16];
    for (int l = 0; l < 16; l++) {
        const int two = l >= pw && l < 2 * pw;
        col[l] = l < pw ? 2 * l : two ? 2 * (l - pw) : 0;
        shift[l] = two ? 2 * ow : 0;
        /* Row k of a pair: even k from da (or de), odd k from db (or df), windows k/2 (+ pw). */
        first[l] = (l & 1 ? 16 : 0) + l / 2;
        second[l] = (l & 1 ? 16 : 0) + (pw + l / 2 < 16 ? pw + l / 2 : 0);
    }
    const __m512i base = _mm512_add_epi32(_mm512_loadu_si512(col), _mm512_loadu_si512(shift));
    const __m512i I1 = _mm512_loadu_si512(first), I2 = _mm512_loadu_si512(second);
    const __m512 zero = _mm512_setzero_ps();
    const __mmask16 mrow = (__mmask16)((1u << (2 * pw)) - 1);
    for (int py = 0; py < ph; py += 2) {
        const int two = py + 1 < ph;
        const int r0 = 2 * py * ow, r1 = r0 + ow;
        const __mmask16 mo = (__mmask16)((1u << ((two ? 2 : 1) * pw)) - 1);
        __m512 g = _mm512_maskz_loadu_ps(mo, gp + py * pw);
        if (relu) g = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(mo, yp + py * pw), zero, _CMP_GT_OQ), g);
        const __m512i w = _mm512_maskz_loadu_epi32(mo, win + py * pw);
        const __m512i i0 = _mm512_add_epi32(base, _mm512_set1_epi32(r0)), i1 = _mm512_add_epi32(base, _mm512_set1_epi32(r1));
        __m512 da, db, de, df;
        route_512(g, w, i0, i1, &da, &db, &de, &df);
        _mm512_mask_storeu_ps(d + r0, mrow, _mm512_permutex2var_ps(da, I1, db));
        _mm512_mask_storeu_ps(d + r1, mrow, _mm512_permutex2var_ps(de, I1, df));
        if (two) {
            _mm512_mask_storeu_ps(d + r0 + 2 * ow, mrow, _mm512_permutex2var_ps(da, I2, db));
            _mm512_mask_storeu_ps(d + r1 + 2 * ow, mrow, _mm512_permutex2var_ps(de, I2, df));
        }
    }
    if (ow & 1) for (int py = 0; py < ph; py++) { d[2 * py * ow + ow - 1] = 0.0f; d[(2 * py + 1) * ow + ow - 1] = 0.0f; }
    if (oh & 1) for (int k = 0; k < ow; k++) d[(long)(oh - 1) * ow + k] = 0.0f;
}

__attribute__((target("avx512f")))
static void pool_plane_avx512(const float *plane, int oh, int ow, float bo, int relu, float *dst, int32_t *win) {
    const int ph = oh / 2, pw = ow / 2;
    if (pw <= 8) { pool_pairs_avx512(plane, oh, ow, bo, relu, dst, win); return; }
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i even = _mm512_slli_epi32(lane, 1), odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 vb = _mm512_set1_ps(bo);
    for (int px0 = 0; px0 < pw; px0 += 16) {
        __mmask16 m, mlo, mhi;
        piece_masks(pw - px0 < 16 ? pw - px0 : 16, &m, &mlo, &mhi);
        const __m512i c = _mm512_add_epi32(even, _mm512_set1_epi32(2 * px0));
        for (int py = 0; py < ph; py++) {
            const int r0 = 2 * py * ow, r1 = r0 + ow;
            const float *p0 = plane + r0 + 2 * px0, *p1 = plane + r1 + 2 * px0;
            const __m512 x0 = _mm512_maskz_loadu_ps(mlo, p0), x1 = _mm512_maskz_loadu_ps(mhi, p0 + 16);
            const __m512 y0 = _mm512_maskz_loadu_ps(mlo, p1), y1 = _mm512_maskz_loadu_ps(mhi, p1 + 16);
            __m512i arg;
            const __m512 v = window_max_512(x0, x1, y0, y1, even, odd, vb, _mm512_add_epi32(c, _mm512_set1_epi32(r0)),
                                            _mm512_add_epi32(c, _mm512_set1_epi32(r1)), relu, &arg);
            _mm512_mask_storeu_ps(dst + py * pw + px0, m, v);
            _mm512_mask_storeu_epi32(win + py * pw + px0, m, arg);
        }
    }
}

__attribute__((target("avx512f")))
static void unpool_plane_avx512(const float *gp, const int32_t *win, const float *yp, int oh, int ow, int relu, float *d) {
    const int ph = oh / 2, pw = ow / 2;
    if (pw <= 8) { unpool_pairs_avx512(gp, win, yp, oh, ow, relu, d); return; }
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i even = _mm512_slli_epi32(lane, 1);
    /* Interleave u and v: lo = u0 v0 u1 v1 … u7 v7, hi = u8 v8 … u15 v15 (index ≥ 16 picks v). */
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __m512 zero = _mm512_setzero_ps();
    for (int px0 = 0; px0 < pw; px0 += 16) {
        __mmask16 m, mlo, mhi;
        piece_masks(pw - px0 < 16 ? pw - px0 : 16, &m, &mlo, &mhi);
        const __m512i c = _mm512_add_epi32(even, _mm512_set1_epi32(2 * px0));
        for (int py = 0; py < ph; py++) {
            const int r0 = 2 * py * ow, r1 = r0 + ow;
            __m512 g = _mm512_maskz_loadu_ps(m, gp + py * pw + px0);
            if (relu) g = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m, yp + py * pw + px0), zero, _CMP_GT_OQ), g);
            const __m512i w = _mm512_maskz_loadu_epi32(m, win + py * pw + px0);
            const __m512i i0 = _mm512_add_epi32(c, _mm512_set1_epi32(r0)), i1 = _mm512_add_epi32(c, _mm512_set1_epi32(r1));
            __m512 da, db, de, df;
            route_512(g, w, i0, i1, &da, &db, &de, &df);
            float *q0 = d + r0 + 2 * px0, *q1 = d + r1 + 2 * px0;
            _mm512_mask_storeu_ps(q0, mlo, _mm512_permutex2var_ps(da, lo, db));
            _mm512_mask_storeu_ps(q0 + 16, mhi, _mm512_permutex2var_ps(da, hi, db));
            _mm512_mask_storeu_ps(q1, mlo, _mm512_permutex2var_ps(de, lo, df));
            _mm512_mask_storeu_ps(q1 + 16, mhi, _mm512_permutex2var_ps(de, hi, df));
        }
    }
    if (ow & 1) for (int py = 0; py < ph; py++) { d[2 * py * ow + ow - 1] = 0.0f; d[(2 * py + 1) * ow + ow - 1] = 0.0f; }
    if (oh & 1) for (int k = 0; k < ow; k++) d[(long)(oh - 1) * ow + k] = 0.0f;
}
#endif


void nn_conv_pool_output(const float *z, long width, float *y, int32_t *winners, long sample_stride, const float *bias,
                         int out, int samples, int oh, int ow, int relu) {
    const int ph = oh / 2, pw = ow / 2;
    const long spatial = (long)oh * ow;
    for (int b = 0; b < samples; b++) {
        for (int o = 0; o < out; o++) {
            const float *plane = z + (long)o * width + (long)b * spatial;
            const long at = (long)b * sample_stride + (long)o * ph * pw;
            const float bo = bias ? bias[o] : 0.0f;
#if defined(__x86_64__)
            if (level() == 3) { pool_plane_avx512(plane, oh, ow, bo, relu, y + at, winners + at); continue; }
#endif
            pool_plane(plane, oh, ow, bo, relu, y + at, winners + at);
        }
    }
}

void nn_conv_pool_grad(const float *g, const int32_t *winners, const float *y, long sample_stride, float *dz, long width,
                       float *db, int out, int samples, int oh, int ow, int relu) {
    const int ph = oh / 2, pw = ow / 2;
    const long spatial = (long)oh * ow;
    for (int b = 0; b < samples; b++) {
        for (int o = 0; o < out; o++) {
            const long at = (long)b * sample_stride + (long)o * ph * pw;
            float *d = dz + (long)o * width + (long)b * spatial;
#if defined(__x86_64__)
            if (level() == 3) unpool_plane_avx512(g + at, winners + at, y + at, oh, ow, relu, d);
            else
#endif
            unpool_plane(g + at, winners + at, y + at, oh, ow, relu, d);
            if (db) db[o] += sum32(d, spatial);
        }
    }
}
