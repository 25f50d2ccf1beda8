/*
 * Element-wise and per-channel kernels in WebAssembly SIMD (128-bit), run on tensors in place in
 * tfjs-backend-wasm's own memory: the module imports that memory, so every pointer below is a
 * tensor's byte offset there (no copies). Written in C because one fused pass here replaces the
 * several passes (and full-size temporaries) of the stock kernels, and JS has no SIMD.
 *
 * Rules that keep it safe inside someone else's memory: no global or static data (the module
 * must have no data segment: it would be written over tfjs's heap at instantiation), no libc,
 * no stack use (nothing address-taken; scratch comes from the caller). scripts/build-simd.sh
 * checks the output for data segments and builds src/engine/simd/module.ts from it.
 *
 * Shapes: rows R of C channels (the last axis), row-major; n = element count.
 */
#include <wasm_simd128.h>

typedef v128_t v;
#define SPLAT wasm_f32x4_splat
#define EXPORT(name) __attribute__((export_name(#name))) void name

/* e^x, Cephes-style: x = k·ln2 + r, e^r by a degree-6 polynomial, 2^k through the exponent bits.
   Relative error ~2e-7 over [-87, 88] (clamped there). */
static inline v exp4(v x) {
  x = wasm_f32x4_min(wasm_f32x4_max(x, SPLAT(-87.3f)), SPLAT(88.3f));
  v fx = wasm_f32x4_nearest(wasm_f32x4_mul(x, SPLAT(1.44269504088896341f)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(fx, SPLAT(0.693359375f)));
  x = wasm_f32x4_add(x, wasm_f32x4_mul(fx, SPLAT(2.12194440e-4f)));
  v y = SPLAT(1.9875691500e-4f);
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), SPLAT(1.3981999507e-3f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), SPLAT(8.3334519073e-3f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), SPLAT(4.1665795894e-2f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), SPLAT(1.6666665459e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), SPLAT(5.0000001201e-1f));
  y = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(y, x), x), x), SPLAT(1.0f));
  v n = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(fx), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(y, n);
}

static inline float exp1(float x) {
  return wasm_f32x4_extract_lane(exp4(SPLAT(x)), 0);
}

static inline v sigmoid4(v z) {
  return wasm_f32x4_div(SPLAT(1.0f), wasm_f32x4_add(SPLAT(1.0f), exp4(wasm_f32x4_neg(z))));
}

static inline float hsum(v a) {
  return wasm_f32x4_extract_lane(a, 0) + wasm_f32x4_extract_lane(a, 1) + wasm_f32x4_extract_lane(a, 2) +
         wasm_f32x4_extract_lane(a, 3);
}

#define GELU_C 1.5957691216057308f /* 2·√(2/π) */
#define GELU_A 0.044715f

/* GELU, tanh approximation: y = x·σ(c·(x + a·x³)). */
EXPORT(gelu)(const float *x, float *y, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v a = wasm_v128_load(x + i);
    v u = wasm_f32x4_mul(SPLAT(GELU_C), wasm_f32x4_add(a, wasm_f32x4_mul(SPLAT(GELU_A), wasm_f32x4_mul(a, wasm_f32x4_mul(a, a)))));
    wasm_v128_store(y + i, wasm_f32x4_mul(a, sigmoid4(u)));
  }
  for (; i < n; i++) {
    float a = x[i];
    float s = 1.0f / (1.0f + exp1(-GELU_C * (a + GELU_A * a * a * a)));
    y[i] = a * s;
  }
}

/* dx = dy·(s + x·s·(1 − s)·c·(1 + 3a·x²)), s = σ(c·(x + a·x³)). */
EXPORT(gelu_grad)(const float *dy, const float *x, float *dx, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v a = wasm_v128_load(x + i);
    v a2 = wasm_f32x4_mul(a, a);
    v s = sigmoid4(wasm_f32x4_mul(SPLAT(GELU_C), wasm_f32x4_add(a, wasm_f32x4_mul(SPLAT(GELU_A), wasm_f32x4_mul(a, a2)))));
    v du = wasm_f32x4_mul(SPLAT(GELU_C), wasm_f32x4_add(SPLAT(1.0f), wasm_f32x4_mul(SPLAT(3.0f * GELU_A), a2)));
    v d = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_f32x4_mul(a, wasm_f32x4_mul(s, wasm_f32x4_sub(SPLAT(1.0f), s))), du));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), d));
  }
  for (; i < n; i++) {
    float a = x[i];
    float s = 1.0f / (1.0f + exp1(-GELU_C * (a + GELU_A * a * a * a)));
    dx[i] = dy[i] * (s + a * s * (1.0f - s) * GELU_C * (1.0f + 3.0f * GELU_A * a * a));
  }
}

/* LayerNorm over rows of D: two passes for μ and σ² (no cancellation), one to write y. */
EXPORT(layernorm)(const float *x, const float *g, const float *b, float *y, float *mean, float *rstd, int R, int D,
                  float eps) {
  for (int r = 0; r < R; r++) {
    const float *xr = x + (long)r * D;
    float *yr = y + (long)r * D;
    v acc = SPLAT(0.0f);
    int j = 0;
    for (; j + 4 <= D; j += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(xr + j));
    float s = hsum(acc);
    for (; j < D; j++) s += xr[j];
    float mu = s / D;
    v m4 = SPLAT(mu);
    acc = SPLAT(0.0f);
    for (j = 0; j + 4 <= D; j += 4) {
      v d = wasm_f32x4_sub(wasm_v128_load(xr + j), m4);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d, d));
    }
    float ss = hsum(acc);
    for (; j < D; j++) ss += (xr[j] - mu) * (xr[j] - mu);
    float k = 1.0f / __builtin_sqrtf(ss / D + eps);
    mean[r] = mu;
    rstd[r] = k;
    v k4 = SPLAT(k);
    for (j = 0; j + 4 <= D; j += 4) {
      v h = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), m4), k4);
      wasm_v128_store(yr + j, wasm_f32x4_add(wasm_f32x4_mul(h, wasm_v128_load(g + j)), wasm_v128_load(b + j)));
    }
    for (; j < D; j++) yr[j] = (xr[j] - mu) * k * g[j] + b[j];
  }
}

/*
 * LayerNorm gradient: x̂ = (x − μ)·r, g = dy·γ,
 * dx = r·(g − mean(g) − x̂·mean(g·x̂)), dγ = Σ_rows dy·x̂, dβ = Σ_rows dy (dγ, dβ overwritten).
 */
EXPORT(layernorm_grad)(const float *dy, const float *x, const float *gamma, const float *mean, const float *rstd,
                       float *dx, float *dgamma, float *dbeta, int R, int D) {
  for (int j = 0; j < D; j++) dgamma[j] = dbeta[j] = 0.0f;
  for (int r = 0; r < R; r++) {
    const float *xr = x + (long)r * D;
    const float *dyr = dy + (long)r * D;
    float *dxr = dx + (long)r * D;
    float mu = mean[r], k = rstd[r];
    v m4 = SPLAT(mu), k4 = SPLAT(k);
    v sg4 = SPLAT(0.0f), sgx4 = SPLAT(0.0f);
    int j = 0;
    for (; j + 4 <= D; j += 4) {
      v d = wasm_v128_load(dyr + j);
      v h = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), m4), k4);
      v gg = wasm_f32x4_mul(d, wasm_v128_load(gamma + j));
      sg4 = wasm_f32x4_add(sg4, gg);
      sgx4 = wasm_f32x4_add(sgx4, wasm_f32x4_mul(gg, h));
      wasm_v128_store(dbeta + j, wasm_f32x4_add(wasm_v128_load(dbeta + j), d));
      wasm_v128_store(dgamma + j, wasm_f32x4_add(wasm_v128_load(dgamma + j), wasm_f32x4_mul(d, h)));
    }
    float sg = hsum(sg4), sgx = hsum(sgx4);
    for (int t = j; t < D; t++) {
      float h = (xr[t] - mu) * k;
      float gg = dyr[t] * gamma[t];
      sg += gg;
      sgx += gg * h;
      dbeta[t] += dyr[t];
      dgamma[t] += dyr[t] * h;
    }
    float a = sg / D, c = sgx / D;
    v a4 = SPLAT(a), c4 = SPLAT(c);
    for (j = 0; j + 4 <= D; j += 4) {
      v h = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), m4), k4);
      v gg = wasm_f32x4_mul(wasm_v128_load(dyr + j), wasm_v128_load(gamma + j));
      wasm_v128_store(dxr + j, wasm_f32x4_mul(k4, wasm_f32x4_sub(wasm_f32x4_sub(gg, a4), wasm_f32x4_mul(h, c4))));
    }
    for (; j < D; j++) {
      float h = (xr[j] - mu) * k;
      dxr[j] = k * (dyr[j] * gamma[j] - a - h * c);
    }
  }
}

/* Rows per block of the per-channel sums: float32 inside a block, float64 across blocks. */
#define BLOCK 64

/*
 * Per-channel sums over R rows of C: s1[c] = Σ a, and when b is given s2[c] = Σ a·(b − shift),
 * else when shift is given s1[c] = Σ (a − shift)². float64 totals s1, s2 [C]; part [2C] floats
 * of scratch. (BatchNorm's mean and variance; its gradient's Σdy and Σdy·(x − μ).)
 */
EXPORT(channel_sums)(const float *a, const float *b, const float *shift, int R, int C, double *s1, double *s2,
                     float *part) {
  float *p1 = part, *p2 = part + C;
  int squares = b == 0 && shift != 0;
  for (int c = 0; c < C; c++) s1[c] = s2[c] = 0.0;
  for (int r0 = 0; r0 < R; r0 += BLOCK) {
    int r1 = r0 + BLOCK < R ? r0 + BLOCK : R;
    for (int c = 0; c < C; c++) p1[c] = p2[c] = 0.0f;
    for (int r = r0; r < r1; r++) {
      const float *ar = a + (long)r * C;
      const float *br = b ? b + (long)r * C : 0;
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        v x = wasm_v128_load(ar + c);
        if (squares) {
          v d = wasm_f32x4_sub(x, wasm_v128_load(shift + c));
          wasm_v128_store(p1 + c, wasm_f32x4_add(wasm_v128_load(p1 + c), wasm_f32x4_mul(d, d)));
        } else {
          wasm_v128_store(p1 + c, wasm_f32x4_add(wasm_v128_load(p1 + c), x));
          if (br) {
            v d = wasm_f32x4_sub(wasm_v128_load(br + c), wasm_v128_load(shift + c));
            wasm_v128_store(p2 + c, wasm_f32x4_add(wasm_v128_load(p2 + c), wasm_f32x4_mul(x, d)));
          }
        }
      }
      for (; c < C; c++) {
        if (squares) {
          float d = ar[c] - shift[c];
          p1[c] += d * d;
        } else {
          p1[c] += ar[c];
          if (br) p2[c] += ar[c] * (br[c] - shift[c]);
        }
      }
    }
    for (int c = 0; c < C; c++) {
      s1[c] += p1[c];
      s2[c] += p2[c];
    }
  }
}

/* y = x·k + b per channel (k, b [C]); optionally plus z·kz + bz (the BatchNorm gradient's dx). */
EXPORT(channel_affine)(const float *x, const float *k, const float *b, const float *z, const float *kz, float *y,
                       int R, int C) {
  for (int r = 0; r < R; r++) {
    const float *xr = x + (long)r * C;
    const float *zr = z ? z + (long)r * C : 0;
    float *yr = y + (long)r * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      v o = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(xr + c), wasm_v128_load(k + c)), wasm_v128_load(b + c));
      if (zr) o = wasm_f32x4_add(o, wasm_f32x4_mul(wasm_v128_load(zr + c), wasm_v128_load(kz + c)));
      wasm_v128_store(yr + c, o);
    }
    for (; c < C; c++) yr[c] = xr[c] * k[c] + b[c] + (zr ? zr[c] * kz[c] : 0.0f);
  }
}

/* Σ x² in float64 (blocks of float32 SIMD sums). */
__attribute__((export_name("sum_squares"))) double sum_squares(const float *x, int n) {
  double total = 0.0;
  for (int i0 = 0; i0 < n; i0 += 4096) {
    int i1 = i0 + 4096 < n ? i0 + 4096 : n;
    v acc = SPLAT(0.0f);
    int i = i0;
    for (; i + 4 <= i1; i += 4) {
      v a = wasm_v128_load(x + i);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(a, a));
    }
    float s = hsum(acc);
    for (; i < i1; i++) s += x[i] * x[i];
    total += s;
  }
  return total;
}

/*
 * torch.optim.AdamW: g' = s·g; m = β1·m + (1−β1)·g'; v = β2·v + (1−β2)·g'²;
 * out = p·decay − step·m / (√v·ib2 + eps)   (m, v in place; out a fresh buffer).
 */
EXPORT(adamw)(const float *p, const float *g, float *m, float *vv, float *out, int n, float s, float b1, float b2,
              float decay, float step, float ib2, float eps) {
  int i = 0;
  v s4 = SPLAT(s), b14 = SPLAT(b1), a14 = SPLAT(1.0f - b1), b24 = SPLAT(b2), a24 = SPLAT(1.0f - b2);
  v dec4 = SPLAT(decay), st4 = SPLAT(step), ib4 = SPLAT(ib2), e4 = SPLAT(eps);
  for (; i + 4 <= n; i += 4) {
    v gi = wasm_f32x4_mul(wasm_v128_load(g + i), s4);
    v mi = wasm_f32x4_add(wasm_f32x4_mul(b14, wasm_v128_load(m + i)), wasm_f32x4_mul(a14, gi));
    v vi = wasm_f32x4_add(wasm_f32x4_mul(b24, wasm_v128_load(vv + i)), wasm_f32x4_mul(a24, wasm_f32x4_mul(gi, gi)));
    wasm_v128_store(m + i, mi);
    wasm_v128_store(vv + i, vi);
    v den = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sqrt(vi), ib4), e4);
    wasm_v128_store(out + i, wasm_f32x4_sub(wasm_f32x4_mul(wasm_v128_load(p + i), dec4),
                                            wasm_f32x4_div(wasm_f32x4_mul(st4, mi), den)));
  }
  for (; i < n; i++) {
    float gi = g[i] * s;
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * vv[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    vv[i] = vi;
    out[i] = p[i] * decay - (step * mi) / (__builtin_sqrtf(vi) * ib2 + eps);
  }
}

/* torch.optim.SGD: g' = s·g + wd·p; buf = μ·buf + g' (when buf); out = p − lr·(buf or g'). */
EXPORT(sgd)(const float *p, const float *g, float *buf, float *out, int n, float s, float wd, float mu, float lr) {
  int i = 0;
  v s4 = SPLAT(s), wd4 = SPLAT(wd), mu4 = SPLAT(mu), lr4 = SPLAT(lr);
  for (; i + 4 <= n; i += 4) {
    v pi = wasm_v128_load(p + i);
    v d = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(g + i), s4), wasm_f32x4_mul(wd4, pi));
    if (buf) {
      d = wasm_f32x4_add(wasm_f32x4_mul(mu4, wasm_v128_load(buf + i)), d);
      wasm_v128_store(buf + i, d);
    }
    wasm_v128_store(out + i, wasm_f32x4_sub(pi, wasm_f32x4_mul(lr4, d)));
  }
  for (; i < n; i++) {
    float d = g[i] * s + wd * p[i];
    if (buf) {
      d = mu * buf[i] + d;
      buf[i] = d;
    }
    out[i] = p[i] - lr * d;
  }
}

/* PReLU input gradient: dx = dy where x > 0, else α·dy; α per channel [C], or one value (C = 1). */
EXPORT(prelu_grad_x)(const float *x, const float *alpha, const float *dy, float *dx, int R, int C) {
  v zero = SPLAT(0.0f);
  if (C == 1) {
    int n = R, i = 0;
    v a = SPLAT(alpha[0]);
    for (; i + 4 <= n; i += 4) {
      v d = wasm_v128_load(dy + i);
      v pos = wasm_f32x4_gt(wasm_v128_load(x + i), zero);
      wasm_v128_store(dx + i, wasm_v128_bitselect(d, wasm_f32x4_mul(a, d), pos));
    }
    for (; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : alpha[0] * dy[i];
    return;
  }
  for (int r = 0; r < R; r++) {
    const float *xr = x + (long)r * C, *dyr = dy + (long)r * C;
    float *dxr = dx + (long)r * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      v d = wasm_v128_load(dyr + c);
      v pos = wasm_f32x4_gt(wasm_v128_load(xr + c), zero);
      wasm_v128_store(dxr + c, wasm_v128_bitselect(d, wasm_f32x4_mul(wasm_v128_load(alpha + c), d), pos));
    }
    for (; c < C; c++) dxr[c] = xr[c] > 0.0f ? dyr[c] : alpha[c] * dyr[c];
  }
}

/* PReLU slope gradient: s[c] = Σ_rows dy·min(x, 0) in float64 [C]; part: C floats of scratch. */
EXPORT(prelu_grad_alpha)(const float *x, const float *dy, int R, int C, double *s, float *part) {
  v zero = SPLAT(0.0f);
  for (int c = 0; c < C; c++) s[c] = 0.0;
  for (int r0 = 0; r0 < R; r0 += BLOCK) {
    int r1 = r0 + BLOCK < R ? r0 + BLOCK : R;
    for (int c = 0; c < C; c++) part[c] = 0.0f;
    for (int r = r0; r < r1; r++) {
      const float *xr = x + (long)r * C, *dyr = dy + (long)r * C;
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        v t = wasm_f32x4_mul(wasm_v128_load(dyr + c), wasm_f32x4_min(wasm_v128_load(xr + c), zero));
        wasm_v128_store(part + c, wasm_f32x4_add(wasm_v128_load(part + c), t));
      }
      for (; c < C; c++) part[c] += dyr[c] * (xr[c] < 0.0f ? xr[c] : 0.0f);
    }
    for (int c = 0; c < C; c++) s[c] += part[c];
  }
}

static inline void copy_f32(float *dst, const float *src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

static inline void zero_f32(float *dst, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_splat(0.0f));
  for (; i < n; i++) dst[i] = 0.0f;
}

/*
 * im2col of images n0..n0+nb of x [N,H,W,C] (NHWC) into cols [nb·OH·OW, KH·KW·C], zeros where
 * the window leaves the image; g = {H, W, C, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl} (13 ints,
 * passed in memory: the caller's scratch).
 */
EXPORT(im2col)(const float *x, float *cols, int n0, int nb, const int *g) {
  int H = g[0], W = g[1], C = g[2], OH = g[3], OW = g[4], KH = g[5], KW = g[6];
  int sh = g[7], sw = g[8], dh = g[9], dw = g[10], pt = g[11], pl = g[12];
  float *o = cols;
  for (int n = n0; n < n0 + nb; n++) {
    const float *xn = x + (long)n * H * W * C;
    for (int oh = 0; oh < OH; oh++) {
      for (int ow = 0; ow < OW; ow++) {
        int iw0 = ow * sw - pl;
        int inside = dw == 1 && iw0 >= 0 && iw0 + KW <= W;
        for (int kh = 0; kh < KH; kh++) {
          int ih = oh * sh - pt + kh * dh;
          if (ih < 0 || ih >= H) {
            zero_f32(o, KW * C);
            o += KW * C;
            continue;
          }
          const float *xrow = xn + (long)ih * W * C;
          if (inside) {
            copy_f32(o, xrow + (long)iw0 * C, KW * C);
            o += KW * C;
            continue;
          }
          for (int kw = 0; kw < KW; kw++) {
            int iw = iw0 + kw * dw;
            if (iw < 0 || iw >= W) zero_f32(o, C);
            else copy_f32(o, xrow + (long)iw * C, C);
            o += C;
          }
        }
      }
    }
  }
}
