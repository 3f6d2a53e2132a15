/* The element-wise passes of the recurrent cells (RNN, LSTM, GRU), one batch row of one time
   step at a time. exp is a Cephes-style polynomial written so that the compiler vectorises it;
   every variant (AVX-512, AVX2, baseline) computes the same IEEE operations in the same order,
   so results do not depend on the CPU. Gate order and formulas are torch.nn.LSTM's and GRU's. */
#include "CSupport.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__linux__)
#define NN_RNN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_RNN_CLONES
#endif

/* e^x for x clamped to [-87, 88], relative error below 2e-7. */
static inline float rnn_exp(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float rnn_sigmoid(float x) { return 1.0f / (1.0f + rnn_exp(-x)); }
static inline float rnn_tanh(float x) { return 1.0f - 2.0f / (1.0f + rnn_exp(2.0f * x)); }

NN_RNN_CLONES
void nn_rnn_sigmoid(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = rnn_sigmoid(x[i]);
}

NN_RNN_CLONES
void nn_rnn_tanh(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = rnn_tanh(x[i]);
}

/* LSTM step, one row: g = [i f g o] pre-activations (4h, + bias when not NULL) become the
   activations; c = f⊙c_prev + i⊙g, tanh_c = tanh(c), h = o⊙tanh_c. The gates are taken in
   pairs sharing one division: σ(a) = (1 + e⁻ᵇ)/((1 + e⁻ᵃ)(1 + e⁻ᵇ)), tanh likewise, with the
   pre-activations clamped to ±40 (where σ and tanh are 1 or 0 to float precision) so that the
   product cannot overflow. */
static inline float clamp40(float x) {
    x = x < -40.0f ? -40.0f : x;
    return x > 40.0f ? 40.0f : x;
}

NN_RNN_CLONES
void nn_lstm_forward(float *g, const float *bias, const float *c_prev, float *c, float *tanh_c, float *h, long hidden) {
    for (long j = 0; j < hidden; j++) {
        float pi = g[j], pf = g[hidden + j], pg = g[2 * hidden + j], po = g[3 * hidden + j];
        if (bias) { pi += bias[j]; pf += bias[hidden + j]; pg += bias[2 * hidden + j]; po += bias[3 * hidden + j]; }
        float ai = 1.0f + rnn_exp(-clamp40(pi)), af = 1.0f + rnn_exp(-clamp40(pf));
        float r1 = 1.0f / (ai * af);
        float i = r1 * af, f = r1 * ai;
        float ag = 1.0f + rnn_exp(clamp40(2.0f * pg)), ao = 1.0f + rnn_exp(-clamp40(po));
        float r2 = 1.0f / (ag * ao);
        float u = 1.0f - 2.0f * (r2 * ao), o = r2 * ag;
        float cj = f * c_prev[j] + i * u;
        float t = rnn_tanh(cj);
        g[j] = i; g[hidden + j] = f; g[2 * hidden + j] = u; g[3 * hidden + j] = o;
        c[j] = cj; tanh_c[j] = t; h[j] = o * t;
    }
}

/* LSTM step backward, one row: from the activations, c_prev, tanh_c and dL/dh of the step, with
   dc holding dL/dc from the step after; writes the pre-activation gradients (4h) and leaves
   dL/dc_prev in dc. */
NN_RNN_CLONES
void nn_lstm_backward(const float *a, const float *c_prev, const float *tanh_c, const float *dh, float *dc, float *dg, long hidden) {
    for (long j = 0; j < hidden; j++) {
        float i = a[j], f = a[hidden + j], u = a[2 * hidden + j], o = a[3 * hidden + j], t = tanh_c[j];
        float d = dh[j];
        float dcj = dc[j] + d * o * (1.0f - t * t);
        dg[j] = dcj * u * i * (1.0f - i);
        dg[hidden + j] = dcj * c_prev[j] * f * (1.0f - f);
        dg[2 * hidden + j] = dcj * i * (1.0f - u * u);
        dg[3 * hidden + j] = d * t * o * (1.0f - o);
        dc[j] = dcj * f;
    }
}

/* GRU step, one row (torch.nn.GRU): gi = W_i x (3h: r z n) gets b_i added and becomes [r z n];
   rec = W_h h (3h) gets b_h added and is kept; n = tanh(gi_n + r⊙rec_n), h = (1 − z)⊙n + z⊙h_prev. */
NN_RNN_CLONES
void nn_gru_forward(float *gi, const float *bias_ih, float *rec, const float *bias_hh, const float *h_prev, float *h, long hidden) {
    for (long j = 0; j < hidden; j++) {
        if (bias_ih) { gi[j] += bias_ih[j]; gi[hidden + j] += bias_ih[hidden + j]; gi[2 * hidden + j] += bias_ih[2 * hidden + j]; }
        float rr = rec[j] + (bias_hh ? bias_hh[j] : 0.0f);
        float rz = rec[hidden + j] + (bias_hh ? bias_hh[hidden + j] : 0.0f);
        float rn = rec[2 * hidden + j] + (bias_hh ? bias_hh[2 * hidden + j] : 0.0f);
        float r = rnn_sigmoid(gi[j] + rr), z = rnn_sigmoid(gi[hidden + j] + rz);
        float n = rnn_tanh(gi[2 * hidden + j] + r * rn);
        rec[j] = rr; rec[hidden + j] = rz; rec[2 * hidden + j] = rn;
        gi[j] = r; gi[hidden + j] = z; gi[2 * hidden + j] = n;
        h[j] = (1.0f - z) * n + z * h_prev[j];
    }
}

/* GRU step backward, one row: dgi (3h) for W_i and b_i, drec (3h) for W_h and b_h, and the part
   of dL/dh_prev that does not go through W_h (z⊙dh) in dh_direct. */
NN_RNN_CLONES
void nn_gru_backward(const float *a, const float *rec, const float *h_prev, const float *dh, float *dgi, float *drec,
                     float *dh_direct, long hidden) {
    for (long j = 0; j < hidden; j++) {
        float r = a[j], z = a[hidden + j], n = a[2 * hidden + j], d = dh[j];
        float dan = d * (1.0f - z) * (1.0f - n * n);
        float daz = d * (h_prev[j] - n) * z * (1.0f - z);
        float dar = dan * rec[2 * hidden + j] * r * (1.0f - r);
        dgi[j] = dar; dgi[hidden + j] = daz; dgi[2 * hidden + j] = dan;
        drec[j] = dar; drec[hidden + j] = daz; drec[2 * hidden + j] = dan * r;
        dh_direct[j] = d * z;
    }
}

/* Elman RNN step, one row: a (pre-activation, + bias when not NULL) becomes h = tanh(a) or
   relu(a), copied to h. */
NN_RNN_CLONES
void nn_rnn_forward(float *a, const float *bias, float *h, long hidden, int relu) {
    for (long j = 0; j < hidden; j++) {
        float p = bias ? a[j] + bias[j] : a[j];
        float v = relu ? (p > 0.0f ? p : 0.0f) : rnn_tanh(p);
        a[j] = v; h[j] = v;
    }
}

/* Elman RNN step backward, one row: da = dh⊙(1 − h²) (tanh) or dh⊙[h > 0] (relu). */
NN_RNN_CLONES
void nn_rnn_backward(const float *h, const float *dh, float *da, long hidden, int relu) {
    for (long j = 0; j < hidden; j++) {
        da[j] = relu ? (h[j] > 0.0f ? dh[j] : 0.0f) : dh[j] * (1.0f - h[j] * h[j]);
    }
}
