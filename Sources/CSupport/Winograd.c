/* Winograd F(2×2, 3×3) transforms for a 3×3, stride-1 convolution (Lavin & Gray, 2016).

   Each 2×2 block of output ("tile") comes from a 4×4 window of the zero-padded input d:
       Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A
   so with U = G g Gᵀ per (out, in) pair and V = Bᵀ d B per (tile, in), the sum over input
   channels is 16 independent products M_ξ = V_ξ · U_ξ, one per position ξ = 4r + q of the 4×4
   transformed tile, with 16 multiply-adds per tile and pair instead of 36.

   Layouts are channels-last inside the transformed domain, so every product is row-major with B
   untransposed (nntrain's direct kernel) and every transform runs over contiguous channels:
       V[ξ][t][c]  (xi_stride = tiles · in between ξ)     U[ξ][o][c] and Uᵀ[ξ][c][o]
       M[ξ][t][o]  (xi_stride = tiles · out)
   forward M_ξ = V_ξ · Uᵀ_ξ; backward dV_ξ = dM_ξ · U_ξ and dUᵀ_ξ += V_ξᵀ · dM_ξ.
   The backward transforms are the exact adjoints of the forward ones (dM = A dY Aᵀ,
   dd = B dV Bᵀ, dg = Gᵀ dU G), so the gradients are those of the computed forward function.

   Tile (ty, tx) of a sample reads padded rows 2ty..2ty+3 and columns 2tx..2tx+3, padded
   coordinates being image coordinates + (ph, pw) (padding ≥ 0); the padded plane is (2·th + 2) × (2·tw + 2) with
   th = ⌈oh/2⌉, tw = ⌈ow/2⌉, zero outside the image. Outputs of a tile past oh or ow are dropped
   (forward) or taken as 0 (adjoint).

   The tile loops run on 16 channels per AVX-512 vector (masked at the end); Conv2D takes this
   path only where nntrain's AVX-512 kernel runs (nn_gemm_direct_available). */
#include "CSupport.h"
#include <string.h>

/* The 1-D pieces, on 4 (or 2, 3) values. */
#define BT(d0, d1, d2, d3, v0, v1, v2, v3) do { v0 = d0 - d2; v1 = d1 + d2; v2 = d2 - d1; v3 = d1 - d3; } while (0)
#define B_(v0, v1, v2, v3, d0, d1, d2, d3) do { d0 = v0; d1 = v1 - v2 + v3; d2 = v1 + v2 - v0; d3 = -v3; } while (0)
#define AT(m0, m1, m2, m3, y0, y1) do { y0 = m0 + m1 + m2; y1 = m1 - m2 - m3; } while (0)
#define A_(y0, y1, m0, m1, m2, m3) do { m0 = y0; m1 = y0 + y1; m2 = y0 - y1; m3 = -y1; } while (0)

#if defined(__x86_64__)
#include <immintrin.h>
#define NN_AVX512 __attribute__((target("avx512f")))
#define MASK(left) ((left) >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (left)) - 1))

static NN_AVX512 void input_tiles_avx512(const float *xp, long C, long th, long tw, float *v, long xi_stride) {
    const long wp = 2 * tw + 2, r1 = wp * C;
    for (long ty = 0; ty < th; ty++) {
        for (long tx = 0; tx < tw; tx++) {
            const float *d = xp + (2 * ty * wp + 2 * tx) * C;
            float *out = v + (ty * tw + tx) * C;
            for (long c = 0; c < C; c += 16) {
                const __mmask16 k = MASK(C - c);
                __m512 e[4][4], t[4][4], u[4][4];
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) e[i][j] = _mm512_maskz_loadu_ps(k, d + i * r1 + j * C + c);
                for (int q = 0; q < 4; q++) BT(e[0][q], e[1][q], e[2][q], e[3][q], t[0][q], t[1][q], t[2][q], t[3][q]);
                for (int r = 0; r < 4; r++) BT(t[r][0], t[r][1], t[r][2], t[r][3], u[r][0], u[r][1], u[r][2], u[r][3]);
                for (int xi = 0; xi < 16; xi++) _mm512_mask_storeu_ps(out + xi * xi_stride + c, k, u[xi / 4][xi % 4]);
            }
        }
    }
}

static NN_AVX512 void output_tiles_avx512(const float *m, long xi_stride, long O, long oh, long ow, long th, long tw, float *yt) {
    for (long ty = 0; ty < th; ty++) {
        for (long tx = 0; tx < tw; tx++) {
            const float *in = m + (ty * tw + tx) * O;
            const long y0 = 2 * ty, x0 = 2 * tx;
            const int rows = y0 + 1 < oh ? 2 : 1, cols = x0 + 1 < ow ? 2 : 1;
            float *o00 = yt + (y0 * ow + x0) * O;
            for (long o = 0; o < O; o += 16) {
                const __mmask16 k = MASK(O - o);
                __m512 e[16], s[2][4], y[2][2];
                for (int xi = 0; xi < 16; xi++) e[xi] = _mm512_maskz_loadu_ps(k, in + xi * xi_stride + o);
                for (int q = 0; q < 4; q++) AT(e[q], e[4 + q], e[8 + q], e[12 + q], s[0][q], s[1][q]);
                for (int a = 0; a < 2; a++) AT(s[a][0], s[a][1], s[a][2], s[a][3], y[a][0], y[a][1]);
                for (int a = 0; a < rows; a++)
                    for (int b = 0; b < cols; b++) _mm512_mask_storeu_ps(o00 + (a * ow + b) * O + o, k, y[a][b]);
            }
        }
    }
}

static NN_AVX512 void output_grad_tiles_avx512(const float *yt, long O, long oh, long ow, long th, long tw, float *m, long xi_stride) {
    for (long ty = 0; ty < th; ty++) {
        for (long tx = 0; tx < tw; tx++) {
            float *out = m + (ty * tw + tx) * O;
            const long y0 = 2 * ty, x0 = 2 * tx;
            const int rows = y0 + 1 < oh ? 2 : 1, cols = x0 + 1 < ow ? 2 : 1;
            const float *o00 = yt + (y0 * ow + x0) * O;
            for (long o = 0; o < O; o += 16) {
                const __mmask16 k = MASK(O - o);
                __m512 dy[2][2], s[4][2], d[4][4];
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        dy[a][b] = a < rows && b < cols ? _mm512_maskz_loadu_ps(k, o00 + (a * ow + b) * O + o) : _mm512_setzero_ps();
                for (int b = 0; b < 2; b++) A_(dy[0][b], dy[1][b], s[0][b], s[1][b], s[2][b], s[3][b]);
                for (int r = 0; r < 4; r++) A_(s[r][0], s[r][1], d[r][0], d[r][1], d[r][2], d[r][3]);
                for (int xi = 0; xi < 16; xi++) _mm512_mask_storeu_ps(out + xi * xi_stride + o, k, d[xi / 4][xi % 4]);
            }
        }
    }
}

static NN_AVX512 void input_grad_tiles_avx512(const float *v, long xi_stride, long C, long th, long tw, float *xp) {
    const long wp = 2 * tw + 2, hp = 2 * th + 2, r1 = wp * C;
    memset(xp, 0, sizeof(float) * (size_t)(hp * wp * C));
    for (long ty = 0; ty < th; ty++) {
        for (long tx = 0; tx < tw; tx++) {
            const float *in = v + (ty * tw + tx) * C;
            float *d = xp + (2 * ty * wp + 2 * tx) * C;
            for (long c = 0; c < C; c += 16) {
                const __mmask16 k = MASK(C - c);
                __m512 e[16], s[4][4], g[4][4];
                for (int xi = 0; xi < 16; xi++) e[xi] = _mm512_maskz_loadu_ps(k, in + xi * xi_stride + c);
                for (int q = 0; q < 4; q++) B_(e[q], e[4 + q], e[8 + q], e[12 + q], s[0][q], s[1][q], s[2][q], s[3][q]);
                for (int i = 0; i < 4; i++) B_(s[i][0], s[i][1], s[i][2], s[i][3], g[i][0], g[i][1], g[i][2], g[i][3]);
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) {
                        float *p = d + i * r1 + j * C + c;
                        _mm512_mask_storeu_ps(p, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, p), g[i][j]));
                    }
            }
        }
    }
}
#else
/* Conv2D takes the Winograd path only where nntrain's AVX-512 kernel runs
   (nn_gemm_direct_available); elsewhere these are never called and do nothing. */
static void input_tiles_avx512(const float *xp, long C, long th, long tw, float *v, long xi_stride) {
    (void)xp; (void)C; (void)th; (void)tw; (void)v; (void)xi_stride;
}
static void output_tiles_avx512(const float *m, long xi_stride, long O, long oh, long ow, long th, long tw, float *yt) {
    (void)m; (void)xi_stride; (void)O; (void)oh; (void)ow; (void)th; (void)tw; (void)yt;
}
static void output_grad_tiles_avx512(const float *yt, long O, long oh, long ow, long th, long tw, float *m, long xi_stride) {
    (void)yt; (void)O; (void)oh; (void)ow; (void)th; (void)tw; (void)m; (void)xi_stride;
}
static void input_grad_tiles_avx512(const float *v, long xi_stride, long C, long th, long tw, float *xp) {
    (void)v; (void)xi_stride; (void)C; (void)th; (void)tw; (void)xp;
}
#endif

void nn_wino_input_tiles(const float *xp, long C, long th, long tw, float *v, long xi_stride) {
    input_tiles_avx512(xp, C, th, tw, v, xi_stride);
}

void nn_wino_input_grad_tiles(const float *v, long xi_stride, long C, long th, long tw, float *xp) {
    input_grad_tiles_avx512(v, xi_stride, C, th, tw, xp);
}

void nn_wino_output(const float *m, long xi_stride, long O, long oh, long ow, long th, long tw, float *yt, float *z, long ldz) {
    output_tiles_avx512(m, xi_stride, O, oh, ow, th, tw, yt);
    nn_transpose(yt, oh * ow, O, O, z, ldz);                 /* [S][O] → z [O][S] at a row stride */
}

void nn_wino_output_grad(const float *z, long ldz, long O, long oh, long ow, long th, long tw, float *yt, float *m, long xi_stride) {
    nn_transpose(z, O, oh * ow, ldz, yt, O);                 /* z [O][S] → yt [S][O] */
    output_grad_tiles_avx512(yt, O, oh, ow, th, tw, m, xi_stride);
}

void nn_wino_input(const float *x, long C, long H, long W, long ph, long pw, long th, long tw, float *xp, float *tmp, float *v,
                   long xi_stride) {
    const long hp = 2 * th + 2, wp = 2 * tw + 2;
    /* x [C][H][W] → the padded plane xp [hp][wp][C], zero outside the image. */
    nn_transpose(x, C, H * W, H * W, tmp, C);               /* tmp [H·W][C] */
    memset(xp, 0, sizeof(float) * (size_t)(hp * wp * C));
    const long x1 = W + pw > wp ? wp - pw : W;
    for (long y = 0; y < H && y + ph < hp; y++)
        if (x1 > 0) memcpy(xp + ((y + ph) * wp + pw) * C, tmp + y * W * C, sizeof(float) * (size_t)(x1 * C));
    nn_wino_input_tiles(xp, C, th, tw, v, xi_stride);
}

void nn_wino_input_grad(const float *v, long xi_stride, long C, long H, long W, long ph, long pw, long th, long tw, float *xp,
                        float *tmp, float *dx) {
    const long hp = 2 * th + 2, wp = 2 * tw + 2;
    nn_wino_input_grad_tiles(v, xi_stride, C, th, tw, xp);
    /* The image's part of the padded plane, [H·W][C] → dx [C][H][W]. */
    for (long y = 0; y < H; y++) {
        long py = y + ph;
        float *row = tmp + y * W * C;
        if (py < 0 || py >= hp) { memset(row, 0, sizeof(float) * (size_t)(W * C)); continue; }
        for (long x = 0; x < W; x++) {
            long px = x + pw;
            if (px < 0 || px >= wp) memset(row + x * C, 0, sizeof(float) * (size_t)C);
            else memcpy(row + x * C, xp + (py * wp + px) * C, sizeof(float) * (size_t)C);
        }
    }
    nn_transpose(tmp, H * W, C, C, dx, H * W);
}

void nn_wino_filter(const float *w, long O, long C, float *u, float *ut) {
    const long plane = O * C;
    for (long o = 0; o < O; o++) {
        for (long c = 0; c < C; c++) {
            const float *g = w + (o * C + c) * 9;
            float t[4][3], s[4][4];
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = (g[j] + g[3 + j] + g[6 + j]) * 0.5f;
                t[2][j] = (g[j] - g[3 + j] + g[6 + j]) * 0.5f;
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                s[i][0] = t[i][0];
                s[i][1] = (t[i][0] + t[i][1] + t[i][2]) * 0.5f;
                s[i][2] = (t[i][0] - t[i][1] + t[i][2]) * 0.5f;
                s[i][3] = t[i][2];
            }
            for (int xi = 0; xi < 16; xi++) {
                u[xi * plane + o * C + c] = s[xi / 4][xi % 4];
                ut[xi * plane + c * O + o] = s[xi / 4][xi % 4];
            }
        }
    }
}

void nn_wino_filter_grad(const float *dut, long O, long C, float *dw) {
    const long plane = O * C;
    for (long o = 0; o < O; o++) {
        for (long c = 0; c < C; c++) {
            float du[4][4], s[3][4];
            for (int xi = 0; xi < 16; xi++) du[xi / 4][xi % 4] = dut[xi * plane + c * O + o];
            for (int q = 0; q < 4; q++) {
                s[0][q] = du[0][q] + (du[1][q] + du[2][q]) * 0.5f;
                s[1][q] = (du[1][q] - du[2][q]) * 0.5f;
                s[2][q] = (du[1][q] + du[2][q]) * 0.5f + du[3][q];
            }
            float *g = dw + (o * C + c) * 9;
            for (int a = 0; a < 3; a++) {
                g[a * 3 + 0] = s[a][0] + (s[a][1] + s[a][2]) * 0.5f;
                g[a * 3 + 1] = (s[a][1] - s[a][2]) * 0.5f;
                g[a * 3 + 2] = (s[a][1] + s[a][2]) * 0.5f + s[a][3];
            }
        }
    }
}
