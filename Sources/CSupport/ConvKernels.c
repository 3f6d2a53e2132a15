/* The memory-bound passes around a convolution's matrix products: im2col and its adjoint for
   stride 1 (any padding and dilation) through a zero-padded copy of one input plane, so every
   row of the column matrix is made of whole-row copies with no bounds tests; the output pass
   (bias, ReLU, [out, n·S] → NCHW) and its adjoint (ReLU mask, NCHW → [out, n·S], bias sums) in
   one sweep each; and 2×2/2 max pooling with its winners. Short rows are copied in 8-float
   pieces (overlapping at the end), never by a call to memcpy: a 14-float row would cost more
   in the call than in the copy. No reassociation: sums run in the order written. */
#include "CSupport.h"
#include <string.h>
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

NN_CLONES
void nn_im2col_s1(const float *x, float *cols, long row_stride, int channels, int h, int w, int kh, int kw,
                  int ph, int pw, int dh, int dw, int oh, int ow, float *pad) {
    const long pwid = w + 2L * pw, phgt = h + 2L * ph;
    memset(pad, 0, sizeof(float) * (size_t)(pwid * phgt));
    for (int c = 0; c < channels; c++) {
        const float *src = x + (long)c * h * w;
        for (int y = 0; y < h; y++) copy_row(pad + (y + ph) * pwid + pw, src + (long)y * w, w);
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                float *row = cols + ((long)(c * kh + i) * kw + j) * row_stride;
                const float *p = pad + (long)i * dh * pwid + (long)j * dw;
                for (int oy = 0; oy < oh; oy++) copy_row(row + (long)oy * ow, p + oy * pwid, ow);
            }
        }
    }
}

NN_CLONES
void nn_col2im_s1(const float *cols, float *dx, long row_stride, int channels, int h, int w, int kh, int kw,
                  int ph, int pw, int dh, int dw, int oh, int ow, float *pad) {
    const long pwid = w + 2L * pw, phgt = h + 2L * ph;
    for (int c = 0; c < channels; c++) {
        memset(pad, 0, sizeof(float) * (size_t)(pwid * phgt));
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                const float *row = cols + ((long)(c * kh + i) * kw + j) * row_stride;
                float *p = pad + (long)i * dh * pwid + (long)j * dw;
                for (int oy = 0; oy < oh; oy++) add_row(p + oy * pwid, row + (long)oy * ow, ow);
            }
        }
        float *dst = dx + (long)c * h * w;
        for (int y = 0; y < h; y++) copy_row(dst + (long)y * w, pad + (y + ph) * pwid + pw, w);
    }
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

/* Σ x[0..<n] in eight interleaved partial sums (as Kernels.sum). */
static inline float sum8(const float *x, long n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[i + l];
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
            if (db) db[o] += sum8(dst, spatial);
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
