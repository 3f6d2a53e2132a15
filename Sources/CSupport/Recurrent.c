/* The element-wise passes of the recurrent cells (RNN, LSTM, GRU), one batch row of one time
   step at a time. exp is a Cephes-style polynomial written so that the compiler vectorises it;
   every variant (AVX-512, AVX2 + FMA, baseline) computes the same IEEE operations in the same
   order, multiply-adds as explicit fmaf (a library call on a CPU without FMA, where the compiler
   does not contract), so results do not depend on the CPU. Gate order and formulas are
   torch.nn.LSTM's and GRU's. */

#include "CSupport.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__linux__)
#define NN_RNN_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define NN_RNN_CLONES
#endif

/* e^x + add for x in [-87, 88] (callers clamp): n = round(x/ln 2) by the 1.5·2²³ shift, r = x − n·ln 2 in
   two parts, e^r by a degree-7 Horner polynomial (Cephes' coefficients), 2ⁿ from n's bits. Every
   step is one IEEE operation or an explicit fmaf, so results do not depend on the CPU. */
static inline float rnn_exp_core(float x, float add) {
    float t = fmaf(x, 1.44269504088896341f, 12582912.0f);
    float n = t - 12582912.0f;
    float r = fmaf(n, -0.693359375f, x);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits << 23) + (127u << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return fmaf(p, scale, add);
}

static inline float clamp40(float x) {
    x = x < -40.0f ? -40.0f : x;
    return x > 40.0f ? 40.0f : x;
}

/* σ(x) = 1/(1 + e⁻ˣ), tanh(x) = 1 − 2/(1 + e²ˣ), with x clamped to ±40 first (σ and tanh are 0, 1
   or ±1 to float precision beyond it). */
static inline float rnn_sigmoid(float x) { return 1.0f / rnn_exp_core(-clamp40(x), 1.0f); }
static inline float rnn_tanh(float x) { return fmaf(-2.0f, 1.0f / rnn_exp_core(clamp40(2.0f * x), 1.0f), 1.0f); }

NN_RNN_CLONES
void nn_rnn_sigmoid(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = rnn_sigmoid(x[i]);
}

NN_RNN_CLONES
void nn_rnn_tanh(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = rnn_tanh(x[i]);
}

/* The passes' optional inputs and outputs are loop-invariant NULL tests; each pass is one inline
   body instantiated for every combination, so that each loop vectorises (a NULL test inside the
   loop made the LSTM pass 2.6 times slower). No two of a pass's arrays overlap (restrict): the
   callers pass distinct rows of distinct buffers, and the compiler needs no overlap tests. */
#define NN_BODY static inline __attribute__((always_inline))

/* LSTM step, one row: g = [i f g o] pre-activations (4h, + bias when not NULL) become the
   activations; c = f⊙c_prev + i⊙g, tanh_c = tanh(c), h = o⊙tanh_c, also written to y when not
   NULL. The gates are taken in pairs sharing one division: σ(a) = (1 + e⁻ᵇ)/((1 + e⁻ᵃ)(1 + e⁻ᵇ)),
   tanh likewise, with the pre-activations clamped to ±40 (where σ and tanh are 1 or 0 to float
   precision) so that the product cannot overflow. */
NN_BODY void lstm_forward(float *restrict g, const float *restrict bias, const float *restrict c_prev, float *restrict c, float *restrict tanh_c, float *restrict h, float *restrict y, long hidden,
                          const int has_bias, const int has_y) {
    #pragma clang loop interleave_count(2)
    for (long j = 0; j < hidden; j++) {
        float pi = g[j], pf = g[hidden + j], pg = g[2 * hidden + j], po = g[3 * hidden + j];
        if (has_bias) { pi += bias[j]; pf += bias[hidden + j]; pg += bias[2 * hidden + j]; po += bias[3 * hidden + j]; }
        float ai = rnn_exp_core(-clamp40(pi), 1.0f), af = rnn_exp_core(-clamp40(pf), 1.0f);
        float r1 = 1.0f / (ai * af);
        float i = r1 * af, f = r1 * ai;
        float ag = rnn_exp_core(clamp40(2.0f * pg), 1.0f), ao = rnn_exp_core(-clamp40(po), 1.0f);
        float r2 = 1.0f / (ag * ao);
        float u = fmaf(-2.0f, r2 * ao, 1.0f), o = r2 * ag;
        float cj = fmaf(f, c_prev[j], i * u);
        float t = rnn_tanh(cj);
        g[j] = i; g[hidden + j] = f; g[2 * hidden + j] = u; g[3 * hidden + j] = o;
        c[j] = cj; tanh_c[j] = t;
        float v = o * t;
        h[j] = v;
        if (has_y) y[j] = v;
    }
}

NN_RNN_CLONES
void nn_lstm_forward(float *g, const float *bias, const float *c_prev, float *c, float *tanh_c, float *h, float *y, long hidden) {
    if (bias && y) lstm_forward(g, bias, c_prev, c, tanh_c, h, y, hidden, 1, 1);
    else if (bias) lstm_forward(g, bias, c_prev, c, tanh_c, h, y, hidden, 1, 0);
    else if (y) lstm_forward(g, bias, c_prev, c, tanh_c, h, y, hidden, 0, 1);
    else lstm_forward(g, bias, c_prev, c, tanh_c, h, y, hidden, 0, 0);
}

/* LSTM step backward over m rows (m = 1: one row; more: every row of the step valid). From the
   activations [i f g o], c_prev, tanh_c and dL/dh of the step (dh, plus dy when not NULL), with
   dc holding dL/dc from the step after: writes the pre-activation gradients dg (4h), leaves
   dL/dc_prev in dc and adds Σ over the rows of dg to sum (when not NULL). Row b's activations and
   gradients are at a + b·sa and dg + b·sa, c_prev and tanh_c at b·sc, dh and dc at b·hidden, dy
   at b·sy. The loop runs over 16 units at a time and, inside, over the rows, so each stream has
   a fixed stride the hardware prefetchers follow (the rows of a step lie far apart in memory:
   one stream per row was too many) and the row sums stay in registers. The AVX-512 body and the
   portable one perform the same IEEE operations in the same order. */
NN_BODY void lstm_backward_block(const float *restrict a, long sa, const float *restrict c_prev, const float *restrict tanh_c, long sc,
                                 const float *restrict dh, const float *restrict dy, long sy, float *restrict dc, float *restrict dg,
                                 float *restrict sum, long m, long hidden, long v, const long w, const int has_dy) {
    float si[16] = {0}, sf[16] = {0}, sg[16] = {0}, so[16] = {0};
    for (long b = 0; b < m; b++) {
        const float *ar = a + b * sa + v, *cp = c_prev + b * sc + v, *tc = tanh_c + b * sc + v, *d = dh + b * hidden + v;
        const float *yr = has_dy ? dy + b * sy + v : d;
        float *gr = dg + b * sa + v, *dcr = dc + b * hidden + v;
        for (long k = 0; k < w; k++) {
            float i = ar[k], f = ar[hidden + k], u = ar[2 * hidden + k], o = ar[3 * hidden + k], t = tc[k];
            float dd = has_dy ? d[k] + yr[k] : d[k];
            float dcj = dcr[k] + dd * o * (1.0f - t * t);
            float gi = dcj * u * i * (1.0f - i), gf = dcj * cp[k] * f * (1.0f - f);
            float gg = dcj * i * (1.0f - u * u), go = dd * t * o * (1.0f - o);
            gr[k] = gi; gr[hidden + k] = gf; gr[2 * hidden + k] = gg; gr[3 * hidden + k] = go;
            si[k] += gi; sf[k] += gf; sg[k] += gg; so[k] += go;
            dcr[k] = dcj * f;
        }
    }
    if (sum) {
        for (long k = 0; k < w; k++) {
            sum[v + k] += si[k]; sum[hidden + v + k] += sf[k]; sum[2 * hidden + v + k] += sg[k]; sum[3 * hidden + v + k] += so[k];
        }
    }
}

NN_RNN_CLONES
static void lstm_backward_rows_portable(const float *a, long sa, const float *c_prev, const float *tanh_c, long sc, const float *dh,
                                        const float *dy, long sy, float *dc, float *dg, float *sum, long m, long hidden) {
    long v = 0;
    if (dy) {
        for (; v + 16 <= hidden; v += 16) lstm_backward_block(a, sa, c_prev, tanh_c, sc, dh, dy, sy, dc, dg, sum, m, hidden, v, 16, 1);
        if (v < hidden) lstm_backward_block(a, sa, c_prev, tanh_c, sc, dh, dy, sy, dc, dg, sum, m, hidden, v, hidden - v, 1);
    } else {
        for (; v + 16 <= hidden; v += 16) lstm_backward_block(a, sa, c_prev, tanh_c, sc, dh, dy, sy, dc, dg, sum, m, hidden, v, 16, 0);
        if (v < hidden) lstm_backward_block(a, sa, c_prev, tanh_c, sc, dh, dy, sy, dc, dg, sum, m, hidden, v, hidden - v, 0);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static void lstm_backward_rows_avx512(const float *a, long sa, const float *c_prev, const float *tanh_c, long sc, const float *dh,
                                      const float *dy, long sy, float *dc, float *dg, float *sum, long m, long hidden) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (long v = 0; v < hidden; v += 16) {
        const __mmask16 k = hidden - v >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (hidden - v)) - 1);
        __m512 si = _mm512_setzero_ps(), sf = si, sg = si, so = si;
        for (long b = 0; b < m; b++) {
            const float *ar = a + b * sa + v;
            float *gr = dg + b * sa + v, *dcr = dc + b * hidden + v;
            __m512 i = _mm512_maskz_loadu_ps(k, ar), f = _mm512_maskz_loadu_ps(k, ar + hidden);
            __m512 u = _mm512_maskz_loadu_ps(k, ar + 2 * hidden), o = _mm512_maskz_loadu_ps(k, ar + 3 * hidden);
            __m512 t = _mm512_maskz_loadu_ps(k, tanh_c + b * sc + v), cp = _mm512_maskz_loadu_ps(k, c_prev + b * sc + v);
            __m512 d = _mm512_maskz_loadu_ps(k, dh + b * hidden + v);
            if (dy) d = _mm512_add_ps(d, _mm512_maskz_loadu_ps(k, dy + b * sy + v));
            __m512 dcj = _mm512_add_ps(_mm512_maskz_loadu_ps(k, dcr), _mm512_mul_ps(_mm512_mul_ps(d, o), _mm512_sub_ps(one, _mm512_mul_ps(t, t))));
            __m512 gi = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dcj, u), i), _mm512_sub_ps(one, i));
            __m512 gf = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dcj, cp), f), _mm512_sub_ps(one, f));
            __m512 gg = _mm512_mul_ps(_mm512_mul_ps(dcj, i), _mm512_sub_ps(one, _mm512_mul_ps(u, u)));
            __m512 go = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(d, t), o), _mm512_sub_ps(one, o));
            _mm512_mask_storeu_ps(gr, k, gi);
            _mm512_mask_storeu_ps(gr + hidden, k, gf);
            _mm512_mask_storeu_ps(gr + 2 * hidden, k, gg);
            _mm512_mask_storeu_ps(gr + 3 * hidden, k, go);
            si = _mm512_add_ps(si, gi); sf = _mm512_add_ps(sf, gf); sg = _mm512_add_ps(sg, gg); so = _mm512_add_ps(so, go);
            _mm512_mask_storeu_ps(dcr, k, _mm512_mul_ps(dcj, f));
        }
        if (sum) {
            _mm512_mask_storeu_ps(sum + v, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, sum + v), si));
            _mm512_mask_storeu_ps(sum + hidden + v, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, sum + hidden + v), sf));
            _mm512_mask_storeu_ps(sum + 2 * hidden + v, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, sum + 2 * hidden + v), sg));
            _mm512_mask_storeu_ps(sum + 3 * hidden + v, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, sum + 3 * hidden + v), so));
        }
    }
}
#endif

void nn_lstm_backward_rows(const float *a, long sa, const float *c_prev, const float *tanh_c, long sc, const float *dh, const float *dy,
                           long sy, float *dc, float *dg, float *sum, long m, long hidden, int portable) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!portable && __builtin_cpu_supports("avx512f")) {
        lstm_backward_rows_avx512(a, sa, c_prev, tanh_c, sc, dh, dy, sy, dc, dg, sum, m, hidden);
        return;
    }
#endif
    (void)portable;
    lstm_backward_rows_portable(a, sa, c_prev, tanh_c, sc, dh, dy, sy, dc, dg, sum, m, hidden);
}

/* GRU step, one row (torch.nn.GRU): gi = W_i x (3h: r z n) gets b_i added and becomes [r z n];
   rec = W_h h (3h) gets b_h added and is kept; n = tanh(gi_n + r⊙rec_n), h = (1 − z)⊙n + z⊙h_prev,
   also written to y when not NULL. r and z share one division as the LSTM's gates do. */
NN_BODY void gru_forward(float *restrict gi, const float *restrict bias_ih, float *restrict rec, const float *restrict bias_hh, const float *restrict h_prev, float *restrict h, float *restrict y,
                         long hidden, const int has_bias, const int has_y) {
    for (long j = 0; j < hidden; j++) {
        if (has_bias) { gi[j] += bias_ih[j]; gi[hidden + j] += bias_ih[hidden + j]; gi[2 * hidden + j] += bias_ih[2 * hidden + j]; }
        float rr = has_bias ? rec[j] + bias_hh[j] : rec[j];
        float rz = has_bias ? rec[hidden + j] + bias_hh[hidden + j] : rec[hidden + j];
        float rn = has_bias ? rec[2 * hidden + j] + bias_hh[2 * hidden + j] : rec[2 * hidden + j];
        float ar = rnn_exp_core(-clamp40(gi[j] + rr), 1.0f), az = rnn_exp_core(-clamp40(gi[hidden + j] + rz), 1.0f);
        float q = 1.0f / (ar * az);
        float r = q * az, z = q * ar;
        float n = rnn_tanh(gi[2 * hidden + j] + r * rn);
        rec[j] = rr; rec[hidden + j] = rz; rec[2 * hidden + j] = rn;
        gi[j] = r; gi[hidden + j] = z; gi[2 * hidden + j] = n;
        float v = (1.0f - z) * n + z * h_prev[j];
        h[j] = v;
        if (has_y) y[j] = v;
    }
}

/* The biases are both given or both NULL (torch's bias=False drops both). */
NN_RNN_CLONES
void nn_gru_forward(float *gi, const float *bias_ih, float *rec, const float *bias_hh, const float *h_prev, float *h, float *y,
                    long hidden) {
    int has_bias = bias_ih && bias_hh;
    if (has_bias && y) gru_forward(gi, bias_ih, rec, bias_hh, h_prev, h, y, hidden, 1, 1);
    else if (has_bias) gru_forward(gi, bias_ih, rec, bias_hh, h_prev, h, y, hidden, 1, 0);
    else if (y) gru_forward(gi, bias_ih, rec, bias_hh, h_prev, h, y, hidden, 0, 1);
    else gru_forward(gi, bias_ih, rec, bias_hh, h_prev, h, y, hidden, 0, 0);
}

/* GRU step backward, one row: from dL/dh (dh, plus dy when not NULL), dgi (3h) for W_i and b_i,
   drec (3h) for W_h and b_h, each added to sum_i and sum_h when those are not NULL, and the part
   of dL/dh_prev that does not go through W_h (z⊙dh) in dh_direct. */
NN_BODY void gru_backward(const float *restrict a, const float *restrict rec, const float *restrict h_prev, const float *restrict dh, const float *restrict dy, float *restrict dgi,
                          float *restrict drec, float *restrict dh_direct, float *restrict sum_i, float *restrict sum_h, long hidden, const int has_dy, const int has_sum) {
    for (long j = 0; j < hidden; j++) {
        float r = a[j], z = a[hidden + j], n = a[2 * hidden + j];
        float d = has_dy ? dh[j] + dy[j] : dh[j];
        float dan = d * (1.0f - z) * (1.0f - n * n);
        float daz = d * (h_prev[j] - n) * z * (1.0f - z);
        float dar = dan * rec[2 * hidden + j] * r * (1.0f - r);
        float drn = dan * r;
        dgi[j] = dar; dgi[hidden + j] = daz; dgi[2 * hidden + j] = dan;
        drec[j] = dar; drec[hidden + j] = daz; drec[2 * hidden + j] = drn;
        if (has_sum) {
            sum_i[j] += dar; sum_i[hidden + j] += daz; sum_i[2 * hidden + j] += dan;
            sum_h[j] += dar; sum_h[hidden + j] += daz; sum_h[2 * hidden + j] += drn;
        }
        dh_direct[j] = d * z;
    }
}

NN_RNN_CLONES
void nn_gru_backward(const float *a, const float *rec, const float *h_prev, const float *dh, const float *dy, float *dgi, float *drec,
                     float *dh_direct, float *sum_i, float *sum_h, long hidden) {
    int has_sum = sum_i && sum_h;
    if (dy && has_sum) gru_backward(a, rec, h_prev, dh, dy, dgi, drec, dh_direct, sum_i, sum_h, hidden, 1, 1);
    else if (dy) gru_backward(a, rec, h_prev, dh, dy, dgi, drec, dh_direct, sum_i, sum_h, hidden, 1, 0);
    else if (has_sum) gru_backward(a, rec, h_prev, dh, dy, dgi, drec, dh_direct, sum_i, sum_h, hidden, 0, 1);
    else gru_backward(a, rec, h_prev, dh, dy, dgi, drec, dh_direct, sum_i, sum_h, hidden, 0, 0);
}

/* Elman RNN step, one row: a (pre-activation, + bias when not NULL) becomes h = tanh(a) or
   relu(a), copied to h and (when not NULL) y. */
NN_BODY void rnn_forward(float *restrict a, const float *restrict bias, float *restrict h, float *restrict y, long hidden, const int relu, const int has_bias,
                         const int has_y) {
    for (long j = 0; j < hidden; j++) {
        float p = has_bias ? a[j] + bias[j] : a[j];
        float v = relu ? (p > 0.0f ? p : 0.0f) : rnn_tanh(p);
        a[j] = v; h[j] = v;
        if (has_y) y[j] = v;
    }
}

NN_RNN_CLONES
void nn_rnn_forward(float *a, const float *bias, float *h, float *y, long hidden, int relu) {
    if (relu) {
        if (bias && y) rnn_forward(a, bias, h, y, hidden, 1, 1, 1);
        else if (bias) rnn_forward(a, bias, h, y, hidden, 1, 1, 0);
        else if (y) rnn_forward(a, bias, h, y, hidden, 1, 0, 1);
        else rnn_forward(a, bias, h, y, hidden, 1, 0, 0);
    } else {
        if (bias && y) rnn_forward(a, bias, h, y, hidden, 0, 1, 1);
        else if (bias) rnn_forward(a, bias, h, y, hidden, 0, 1, 0);
        else if (y) rnn_forward(a, bias, h, y, hidden, 0, 0, 1);
        else rnn_forward(a, bias, h, y, hidden, 0, 0, 0);
    }
}

/* Elman RNN step backward, one row: da = d⊙(1 − h²) (tanh) or d⊙[h > 0] (relu), d = dh (+ dy when
   not NULL); da added to sum when not NULL. */
NN_BODY void rnn_backward(const float *restrict h, const float *restrict dh, const float *restrict dy, float *restrict da, float *restrict sum, long hidden, const int relu,
                          const int has_dy, const int has_sum) {
    for (long j = 0; j < hidden; j++) {
        float d = has_dy ? dh[j] + dy[j] : dh[j];
        float v = relu ? (h[j] > 0.0f ? d : 0.0f) : d * (1.0f - h[j] * h[j]);
        da[j] = v;
        if (has_sum) sum[j] += v;
    }
}

NN_RNN_CLONES
void nn_rnn_backward(const float *h, const float *dh, const float *dy, float *da, float *sum, long hidden, int relu) {
    if (relu) {
        if (dy && sum) rnn_backward(h, dh, dy, da, sum, hidden, 1, 1, 1);
        else if (dy) rnn_backward(h, dh, dy, da, sum, hidden, 1, 1, 0);
        else if (sum) rnn_backward(h, dh, dy, da, sum, hidden, 1, 0, 1);
        else rnn_backward(h, dh, dy, da, sum, hidden, 1, 0, 0);
    } else {
        if (dy && sum) rnn_backward(h, dh, dy, da, sum, hidden, 0, 1, 1);
        else if (dy) rnn_backward(h, dh, dy, da, sum, hidden, 0, 1, 0);
        else if (sum) rnn_backward(h, dh, dy, da, sum, hidden, 0, 0, 1);
        else rnn_backward(h, dh, dy, da, sum, hidden, 0, 0, 0);
    }
}
