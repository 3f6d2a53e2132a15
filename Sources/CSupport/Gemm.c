/* A matrix product for the convolution's per-chunk products on AVX-512, without packing.

   C = op(A)·B with B row-major: each tile of C (8 rows × up to 48 columns, 24 accumulators) runs
   over k loading three vectors of B's row p and broadcasting a(i, p) for its 8 rows, so neither
   operand is copied: A is read through two strides (either orientation), B's rows straight from
   the im2col matrix or the gradient. OpenBLAS packs both operands of every call; the convolution
   calls it once per chunk with small matrices (m = 64, k = 288, n = 196 for one 14×14 sample),
   where the packing and its zero fill of C cost a quarter of the product.

   Each element of C is C (when accumulating) or 0, then each term a(i, p)·b(p, j) added in order
   of p by a fused multiply-add: the same bits for any tiling, thread count or call split along m
   or n. */
#include "CSupport.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define NN_AVX512 __attribute__((target("avx512f")))
#define NN_INLINE static inline __attribute__((always_inline))

/* One tile: mr rows × nv vectors of C (mr·nv ≤ 24 accumulators), the last vector's lanes in `last`. How A is
   addressed decides the loop's integer work (the loop is bound by its micro-ops, not only its
   multiply-adds): `rows` (A's rows contiguous, sa_col = 1) keeps a pointer per row and one index;
   `cols` (A transposed, sa_row = 1) reads the 8 values of column p at fixed offsets from one
   pointer; otherwise every element's address is computed. */
enum { A_ANY, A_ROWS, A_COLS };

NN_INLINE NN_AVX512 void tile(const int mode, const int mr, const int nv, __mmask16 last, long k, const float *a, long sar,
                              long sac, const float *b, long ldb, float *c, long ldc, int accumulate, const float *bias, int relu) {
    __m512 acc[8][4];
    const float *row[8];
    for (int i = 0; i < mr; i++) row[i] = a + i * sar;
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nv; j++)
            acc[i][j] = accumulate ? _mm512_maskz_loadu_ps(j == nv - 1 ? last : (__mmask16)0xFFFF, c + i * ldc + 16 * j)
                                   : _mm512_setzero_ps();
    const float *bp = b, *ap = a;
    for (long p = 0; p < k; p++) {
        __m512 bv[4];
        for (int j = 0; j < nv; j++)
            bv[j] = j == nv - 1 ? _mm512_maskz_loadu_ps(last, bp + 16 * j) : _mm512_loadu_ps(bp + 16 * j);
        for (int i = 0; i < mr; i++) {
            float x = mode == A_ROWS ? row[i][p] : mode == A_COLS ? ap[i] : ap[i * sar];
            __m512 av = _mm512_set1_ps(x);
            for (int j = 0; j < nv; j++) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
        }
        bp += ldb;
        ap += sac;
    }
    /* The evaluation epilogue: + bias, then ReLU as `0 >= v ? 0 : v` (NaN kept, −0 → +0). */
    if (bias) {
        for (int j = 0; j < nv; j++) {
            __m512 bv = _mm512_maskz_loadu_ps(j == nv - 1 ? last : (__mmask16)0xFFFF, bias + 16 * j);
            for (int i = 0; i < mr; i++) acc[i][j] = _mm512_add_ps(acc[i][j], bv);
        }
    }
    if (relu) {
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nv; j++)
                acc[i][j] = _mm512_mask_mov_ps(acc[i][j], _mm512_cmp_ps_mask(acc[i][j], _mm512_setzero_ps(), _CMP_LE_OQ),
                                               _mm512_setzero_ps());
    }
    for (int i = 0; i < mr; i++) {
        for (int j = 0; j < nv; j++) {
            float *cp = c + i * ldc + 16 * j;
            _mm512_mask_storeu_ps(cp, j == nv - 1 ? last : (__mmask16)0xFFFF, acc[i][j]);
        }
    }
}

/* The rows of one column panel, `tall` (8 for up to 3 vectors, 6 for 4) at a time, then 4, 2, 1. */
NN_INLINE NN_AVX512 void panel(const int mode, const int nv, __mmask16 last, long m, long k, const float *a, long sar,
                               long sac, const float *b, long ldb, float *c, long ldc, int accumulate, const float *bias, int relu) {
    const int tall = nv == 4 ? 6 : 8;
    long i = 0;
    for (; i + tall <= m; i += tall)
        tile(mode, tall, nv, last, k, a + i * sar, sar, sac, b, ldb, c + i * ldc, ldc, accumulate, bias, relu);
    if (i + 4 <= m) { tile(mode, 4, nv, last, k, a + i * sar, sar, sac, b, ldb, c + i * ldc, ldc, accumulate, bias, relu); i += 4; }
    if (i + 2 <= m) { tile(mode, 2, nv, last, k, a + i * sar, sar, sac, b, ldb, c + i * ldc, ldc, accumulate, bias, relu); i += 2; }
    if (i < m) tile(mode, 1, nv, last, k, a + i * sar, sar, sac, b, ldb, c + i * ldc, ldc, accumulate, bias, relu);
}

NN_INLINE NN_AVX512 void panels(const int mode, long m, long n, long k, const float *a, long sar, long sac,
                                const float *b, long ldb, float *c, long ldc, int accumulate) {
    const long vectors = (n + 15) / 16;
    const __mmask16 tail = (n % 16) ? (__mmask16)((1u << (n % 16)) - 1) : (__mmask16)0xFFFF;
    long v = 0;
    while (v < vectors) {
        long left = vectors - v;
        /* Panels of 3 vectors, or 4 when the width is a multiple of 4 vectors and not of 3 (a
           convolution's 64 output channels); 4 left at the end go as 2 + 2, since a 1-vector
           panel is bound by its loads. */
        int nv = vectors % 4 == 0 && vectors % 3 != 0 ? 4 : left >= 3 && left != 4 ? 3 : left >= 2 ? 2 : 1;
        __mmask16 last = v + nv == vectors ? tail : (__mmask16)0xFFFF;
        const float *bp = b + 16 * v;
        float *cp = c + 16 * v;
        if (nv == 4) panel(mode, 4, last, m, k, a, sar, sac, bp, ldb, cp, ldc, accumulate, NULL, 0);
        else if (nv == 3) panel(mode, 3, last, m, k, a, sar, sac, bp, ldb, cp, ldc, accumulate, NULL, 0);
        else if (nv == 2) panel(mode, 2, last, m, k, a, sar, sac, bp, ldb, cp, ldc, accumulate, NULL, 0);
        else panel(mode, 1, last, m, k, a, sar, sac, bp, ldb, cp, ldc, accumulate, NULL, 0);
        v += nv;
    }
}

/* k in blocks of at most 64 (near-equal): a panel's block of B rows (64 × 48 floats, 12 KB) stays
   in L1 while every row tile of C passes over it (10 % faster than whole columns of 196–288 terms
   for the convolution's products). Each tile carries C through the blocks in its accumulators'
   order, so the blocking changes no bit. */
static NN_AVX512 void gemm_avx512(long m, long n, long k, const float *a, long sar, long sac, const float *b, long ldb,
                                  float *c, long ldc, int accumulate) {
    const long blocks = k > 64 ? (k + 63) / 64 : 1, per = (k + blocks - 1) / blocks;
    for (long p0 = 0; p0 < k || p0 == 0; p0 += per) {
        long kk = k - p0 < per ? k - p0 : per;
        const float *ap = a + p0 * sac, *bp = b + p0 * ldb;
        int acc = accumulate || p0 > 0;
        if (sac == 1) panels(A_ROWS, m, n, kk, ap, sar, sac, bp, ldb, c, ldc, acc);
        else if (sar == 1) panels(A_COLS, m, n, kk, ap, sar, sac, bp, ldb, c, ldc, acc);
        else panels(A_ANY, m, n, kk, ap, sar, sac, bp, ldb, c, ldc, acc);
        if (k == 0) break;
    }
}

/* Evaluation's dense products, C = act(A·Wᵀ + bias) with W [n, k] fixed for a whole pass: Wᵀ is
   packed once into panels of 64 columns ([p][64] per panel, zeros past n), so each panel (k × 64
   floats: 200 KB for k = 784) stays in L2 while every 6-row tile of A runs over it with all of k
   in its 24 accumulators; the bias and ReLU are applied in registers before the one store. No
   packing per call and no zero fill of C (OpenBLAS does both). */
static NN_AVX512 void gemm_packed_avx512(long m, long n, long k, const float *a, long lda, const float *packed, float *c,
                                         long ldc, const float *bias, int relu) {
    for (long j0 = 0; j0 < n; j0 += 64) {
        const long width = n - j0 < 64 ? n - j0 : 64, nv = (width + 15) / 16;
        const __mmask16 last = (width % 16) ? (__mmask16)((1u << (width % 16)) - 1) : (__mmask16)0xFFFF;
        const float *b = packed + j0 * k, *bb = bias ? bias + j0 : NULL;
        float *cp = c + j0;
        if (nv == 4) panel(A_ROWS, 4, last, m, k, a, lda, 1, b, 64, cp, ldc, 0, bb, relu);
        else if (nv == 3) panel(A_ROWS, 3, last, m, k, a, lda, 1, b, 64, cp, ldc, 0, bb, relu);
        else if (nv == 2) panel(A_ROWS, 2, last, m, k, a, lda, 1, b, 64, cp, ldc, 0, bb, relu);
        else panel(A_ROWS, 1, last, m, k, a, lda, 1, b, 64, cp, ldc, 0, bb, relu);
    }
}

/* One 16×16 block: d[j·ldd + i] = s[i·lds + j], in four rounds of interleaving (32-bit, 64-bit,
   128-bit and 256-bit pieces), all in registers. */
NN_INLINE NN_AVX512 void transpose16(const float *s, long lds, float *d, long ldd) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(s + i * lds);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        for (int q = 0; q < 2; q++) {
            r[i + q] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + q]), _mm512_castps_pd(t[i + 2 + q])));
            r[i + 2 + q] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + q]), _mm512_castps_pd(t[i + 2 + q])));
        }
    }
    for (int i = 0; i < 16; i += 8) {
        for (int q = 0; q < 4; q++) {
            t[i + q] = _mm512_shuffle_f32x4(r[i + q], r[i + 4 + q], 0x88);
            t[i + 4 + q] = _mm512_shuffle_f32x4(r[i + q], r[i + 4 + q], 0xDD);
        }
    }
    for (int q = 0; q < 8; q++) {
        r[q] = _mm512_shuffle_f32x4(t[q], t[q + 8], 0x88);
        r[q + 8] = _mm512_shuffle_f32x4(t[q], t[q + 8], 0xDD);
    }
    /* r[x] now holds column x, but for x = 4q + 1 and 4q + 2, which are swapped. */
    for (int x = 0; x < 16; x++) {
        int col = (x & 3) == 1 ? x + 1 : (x & 3) == 2 ? x - 1 : x;
        _mm512_storeu_ps(d + col * ldd, r[x]);
    }
}

/* dst[j·ldd + i] = src[i·lds + j]: 16×16 blocks in registers, the edges element by element. */
static NN_AVX512 void transpose_avx512(const float *src, long rows, long cols, long lds, float *dst, long ldd) {
    long i0 = 0;
    for (; i0 + 16 <= rows; i0 += 16) {
        const float *s = src + i0 * lds;
        float *d = dst + i0;
        long j0 = 0;
        for (; j0 + 16 <= cols; j0 += 16) transpose16(s + j0, lds, d + j0 * ldd, ldd);
        for (long j = j0; j < cols; j++)
            for (long i = 0; i < 16; i++) d[j * ldd + i] = s[i * lds + j];
    }
    for (long i = i0; i < rows; i++)
        for (long j = 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
}

static int direct_available = -1;

int nn_gemm_direct_available(void) {
    if (direct_available < 0) {
        __builtin_cpu_init();
        direct_available = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return direct_available;
}


int nn_gemm_direct(long m, long n, long k, const float *a, long sa_row, long sa_col, const float *b, long ldb, float *c,
                   long ldc, int accumulate) {
    if (!nn_gemm_direct_available()) return 0;
    if (m > 0 && n > 0) gemm_avx512(m, n, k, a, sa_row, sa_col, b, ldb, c, ldc, accumulate);
    return 1;
}

long nn_gemm_packed_size(long n, long k) { return (n + 63) / 64 * 64 * k; }

void nn_gemm_pack(const float *w, long n, long k, float *packed) {
    for (long j0 = 0; j0 < n; j0 += 64) {
        float *panel_ = packed + j0 * k;
        for (long j = 0; j < 64; j++) {
            if (j0 + j < n) {
                const float *row = w + (j0 + j) * k;
                for (long p = 0; p < k; p++) panel_[p * 64 + j] = row[p];
            } else {
                for (long p = 0; p < k; p++) panel_[p * 64 + j] = 0;
            }
        }
    }
}

int nn_gemm_packed(long m, long n, long k, const float *a, long lda, const float *packed, float *c, long ldc, const float *bias,
                   int relu) {
    if (!nn_gemm_direct_available()) return 0;
    if (m > 0 && n > 0) gemm_packed_avx512(m, n, k, a, lda, packed, c, ldc, bias, relu);
    return 1;
}

void nn_transpose(const float *src, long rows, long cols, long lds, float *dst, long ldd) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) { transpose_avx512(src, rows, cols, lds, dst, ldd); return; }
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
}

#else
int nn_gemm_direct_available(void) { return 0; }
long nn_gemm_packed_size(long n, long k) { return (n + 63) / 64 * 64 * k; }
void nn_gemm_pack(const float *w, long n, long k, float *packed) { (void)w; (void)n; (void)k; (void)packed; }
int nn_gemm_packed(long m, long n, long k, const float *a, long lda, const float *packed, float *c, long ldc, const float *bias,
                   int relu) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)c; (void)ldc; (void)bias; (void)relu;
    return 0;
}
int nn_gemm_direct(long m, long n, long k, const float *a, long sa_row, long sa_col, const float *b, long ldb, float *c,
                   long ldc, int accumulate) {
    (void)m; (void)n; (void)k; (void)a; (void)sa_row; (void)sa_col; (void)b; (void)ldb; (void)c; (void)ldc; (void)accumulate;
    return 0;
}
void nn_transpose(const float *src, long rows, long cols, long lds, float *dst, long ldd) {
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
}
#endif
