/* Element-wise kernels compiled for AVX-512, AVX2 and SSE2, chosen at run time from what the
   CPU supports. No fused multiply-add and no reassociation: every variant computes the same
   IEEE operations in the same order as the scalar formula, so results do not depend on the CPU. */
#include "CSupport.h"
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#pragma clang fp contract(off)

static void adam_scalar(float *w, const float *g, float *m, float *v, float *vmax, long i, long n, float b1, float b2,
                        float l2, float decay, float step, float ibc2, float eps) {
    for (; i < n; i++) {
        float wi = w[i];
        float gi = g[i] + l2 * wi;
        float mi = b1 * m[i] + (1 - b1) * gi;
        float vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        if (vmax) { vi = vmax[i] > vi ? vmax[i] : vi; vmax[i] = vi; }
        w[i] = wi * decay - step * mi / (sqrtf(vi) * ibc2 + eps);
    }
}

#if defined(__x86_64__)
/* The state (w, g, m, v: 8.6 MB for fashion-mlp) streams from L3 or memory once per step, and
   the hardware prefetchers alone keep too few lines in flight: asking for each stream's line
   1 KB ahead into L1 cut the pass by about a tenth here. Prefetches past the end are harmless
   (a prefetch never faults). */
#define ADAM_PREFETCH(j) \
    _mm_prefetch((const char *)(w + (j)), _MM_HINT_T0); _mm_prefetch((const char *)(g + (j)), _MM_HINT_T0); \
    _mm_prefetch((const char *)(m + (j)), _MM_HINT_T0); _mm_prefetch((const char *)(v + (j)), _MM_HINT_T0); \
    if (vmax) _mm_prefetch((const char *)(vmax + (j)), _MM_HINT_T0);

__attribute__((target("avx512f")))
static void adam_avx512(float *w, const float *g, float *m, float *v, float *vmax, long n, float b1, float b2,
                        float l2, float decay, float step, float ibc2, float eps) {
    const __m512 B1 = _mm512_set1_ps(b1), B2 = _mm512_set1_ps(b2), C1 = _mm512_set1_ps(1 - b1), C2 = _mm512_set1_ps(1 - b2);
    const __m512 L2 = _mm512_set1_ps(l2), D = _mm512_set1_ps(decay), S = _mm512_set1_ps(step), I = _mm512_set1_ps(ibc2), E = _mm512_set1_ps(eps);
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        ADAM_PREFETCH(i + 256)
        __m512 wi = _mm512_loadu_ps(w + i);
        __m512 gi = _mm512_add_ps(_mm512_loadu_ps(g + i), _mm512_mul_ps(L2, wi));
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(B1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(C1, gi));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(B2, _mm512_loadu_ps(v + i)), _mm512_mul_ps(_mm512_mul_ps(C2, gi), gi));
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        if (vmax) { vi = _mm512_max_ps(_mm512_loadu_ps(vmax + i), vi); _mm512_storeu_ps(vmax + i, vi); }
        __m512 den = _mm512_add_ps(_mm512_mul_ps(_mm512_sqrt_ps(vi), I), E);
        _mm512_storeu_ps(w + i, _mm512_sub_ps(_mm512_mul_ps(wi, D), _mm512_div_ps(_mm512_mul_ps(S, mi), den)));
    }
    adam_scalar(w, g, m, v, vmax, i, n, b1, b2, l2, decay, step, ibc2, eps);
}

__attribute__((target("avx2")))
static void adam_avx2(float *w, const float *g, float *m, float *v, float *vmax, long n, float b1, float b2,
                      float l2, float decay, float step, float ibc2, float eps) {
    const __m256 B1 = _mm256_set1_ps(b1), B2 = _mm256_set1_ps(b2), C1 = _mm256_set1_ps(1 - b1), C2 = _mm256_set1_ps(1 - b2);
    const __m256 L2 = _mm256_set1_ps(l2), D = _mm256_set1_ps(decay), S = _mm256_set1_ps(step), I = _mm256_set1_ps(ibc2), E = _mm256_set1_ps(eps);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        if ((i & 15) == 0) { ADAM_PREFETCH(i + 256) }
        __m256 wi = _mm256_loadu_ps(w + i);
        __m256 gi = _mm256_add_ps(_mm256_loadu_ps(g + i), _mm256_mul_ps(L2, wi));
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(B1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(C1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(B2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(C2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        if (vmax) { vi = _mm256_max_ps(_mm256_loadu_ps(vmax + i), vi); _mm256_storeu_ps(vmax + i, vi); }
        __m256 den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), I), E);
        _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_mul_ps(wi, D), _mm256_div_ps(_mm256_mul_ps(S, mi), den)));
    }
    adam_scalar(w, g, m, v, vmax, i, n, b1, b2, l2, decay, step, ibc2, eps);
}

static void adam_sse(float *w, const float *g, float *m, float *v, float *vmax, long n, float b1, float b2,
                     float l2, float decay, float step, float ibc2, float eps) {
    const __m128 B1 = _mm_set1_ps(b1), B2 = _mm_set1_ps(b2), C1 = _mm_set1_ps(1 - b1), C2 = _mm_set1_ps(1 - b2);
    const __m128 L2 = _mm_set1_ps(l2), D = _mm_set1_ps(decay), S = _mm_set1_ps(step), I = _mm_set1_ps(ibc2), E = _mm_set1_ps(eps);
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 wi = _mm_loadu_ps(w + i);
        __m128 gi = _mm_add_ps(_mm_loadu_ps(g + i), _mm_mul_ps(L2, wi));
        __m128 mi = _mm_add_ps(_mm_mul_ps(B1, _mm_loadu_ps(m + i)), _mm_mul_ps(C1, gi));
        __m128 vi = _mm_add_ps(_mm_mul_ps(B2, _mm_loadu_ps(v + i)), _mm_mul_ps(_mm_mul_ps(C2, gi), gi));
        _mm_storeu_ps(m + i, mi);
        _mm_storeu_ps(v + i, vi);
        if (vmax) { vi = _mm_max_ps(_mm_loadu_ps(vmax + i), vi); _mm_storeu_ps(vmax + i, vi); }
        __m128 den = _mm_add_ps(_mm_mul_ps(_mm_sqrt_ps(vi), I), E);
        _mm_storeu_ps(w + i, _mm_sub_ps(_mm_mul_ps(wi, D), _mm_div_ps(_mm_mul_ps(S, mi), den)));
    }
    adam_scalar(w, g, m, v, vmax, i, n, b1, b2, l2, decay, step, ibc2, eps);
}
#endif

typedef void (*adam_fn)(float *, const float *, float *, float *, float *, long, float, float, float, float, float, float, float);
static adam_fn adam_impl = 0;

static void adam_portable(float *w, const float *g, float *m, float *v, float *vmax, long n, float b1, float b2,
                          float l2, float decay, float step, float ibc2, float eps) {
    adam_scalar(w, g, m, v, vmax, 0, n, b1, b2, l2, decay, step, ibc2, eps);
}

int nn_simd_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 3;
    if (__builtin_cpu_supports("avx2")) return 2;
    return 1;
#else
    return 0;
#endif
}

void nn_adam(float *w, const float *g, float *m, float *v, float *vmax, long n, float beta1, float beta2,
             float l2, float decay, float step, float inv_sqrt_bc2, float eps) {
    if (!adam_impl) {
#if defined(__x86_64__)
        int level = nn_simd_level();
        adam_impl = level == 3 ? adam_avx512 : level == 2 ? adam_avx2 : adam_sse;
#else
        adam_impl = adam_portable;
#endif
    }
    adam_impl(w, g, m, v, vmax, n, beta1, beta2, l2, decay, step, inv_sqrt_bc2, eps);
}

/* ---- Dropout ------------------------------------------------------------------------- */
static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t xoshiro_next(uint64_t *s) {
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* keep ? scale : 0 without a branch (the decisions are random: a branch mispredicts often). */
static inline float keep_or_zero(uint32_t bits24, uint32_t threshold24, uint32_t scale_bits) {
    uint32_t mask = 0u - (uint32_t)(bits24 >= threshold24);
    union { uint32_t u; float f; } k = { scale_bits & mask };
    return k.f;
}

static inline void dropout_range(const float *x, float *out, float *mask, long start, long end, uint32_t threshold24,
                                 float scale, uint64_t key, uint64_t counter) {
    union { float f; uint32_t u; } sb = { scale };
    long i = start;
    for (; i + 2 <= end; i += 2) {
        /* Draw j = counter + i/2 of a SplitMix64 stream keyed by `key`: any range can be
           computed on its own, so the pool splits the layer and the mask stays the same. */
        uint64_t r = mix64(key + (counter + (uint64_t)(i >> 1) + 1) * 0x9E3779B97F4A7C15ULL);
        float k0 = keep_or_zero((uint32_t)(r >> 40), threshold24, sb.u);
        float k1 = keep_or_zero((uint32_t)((r >> 8) & 0xFFFFFF), threshold24, sb.u);
        mask[i] = k0; mask[i + 1] = k1;
        out[i] = x[i] * k0; out[i + 1] = x[i + 1] * k1;
    }
    if (i < end) {
        uint64_t r = mix64(key + (counter + (uint64_t)(i >> 1) + 1) * 0x9E3779B97F4A7C15ULL);
        float k0 = keep_or_zero((uint32_t)(r >> 40), threshold24, sb.u);
        mask[i] = k0;
        out[i] = x[i] * k0;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512dq")))
static void dropout_avx512(const float *x, float *out, float *mask, long start, long end, uint32_t t, float s, uint64_t key, uint64_t c) {
    dropout_range(x, out, mask, start, end, t, s, key, c);   /* the same code, vectorised with 64-bit multiplies */
}
#endif

void nn_dropout_forward(const float *x, float *out, float *mask, long start, long end, uint32_t threshold24, float scale,
                        uint64_t key, uint64_t counter) {
#if defined(__x86_64__)
    static int level = -1;
    if (level < 0) level = __builtin_cpu_supports("avx512dq") ? 1 : 0;
    if (level == 1) { dropout_avx512(x, out, mask, start, end, threshold24, scale, key, counter); return; }
#endif
    dropout_range(x, out, mask, start, end, threshold24, scale, key, counter);
}

/* ---- Row passes of the dense layers and the batch fill ----------------------------------- */
/* Swift compiles for the x86-64 baseline (SSE2); these loops are compiled for AVX-512, AVX2 and
   the baseline, the loader picking one, and compute the same IEEE operations as the formulas. */
#if defined(__x86_64__) && defined(__linux__)
#define NN_ROW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_ROW_CLONES
#endif

NN_ROW_CLONES
void nn_bias_activate(float *y, const float *bias, long rows, long cols, int relu) {
    for (long r = 0; r < rows; r++) {
        float *row = y + r * cols;
        if (bias && relu) {
            for (long c = 0; c < cols; c++) { float v = row[c] + bias[c]; row[c] = 0 >= v ? 0 : v; }
        } else if (bias) {
            for (long c = 0; c < cols; c++) row[c] += bias[c];
        } else if (relu) {
            for (long c = 0; c < cols; c++) { float v = row[c]; row[c] = 0 >= v ? 0 : v; }
        }
    }
}

void nn_prefetch(const void *p, long bytes) {
    const char *c = (const char *)p;
    for (long i = 0; i < bytes; i += 64) __builtin_prefetch(c + i, 0, 2);
    if (bytes > 0) __builtin_prefetch(c + bytes - 1, 0, 2);
}

NN_ROW_CLONES
void nn_bytes_affine(const uint8_t *x, const float *scale, const float *shift, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = (float)x[i] * scale[i] + shift[i];
}
