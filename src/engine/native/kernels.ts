// The native kernels' C source (compiled by ./index.ts on first use). Kept in a .ts module so it
// ships in dist/ with the engine; edit it as C.
export const NATIVE_KERNELS_C = String.raw`/*
 * The engine's native kernels: the SIMD module's kernels (src/engine/simd/kernels.c) compiled for
 * the host CPU and split over the engine's threads, plus the passes that were single-threaded JS
 * or slow stock kernels. Called through koffi on tfjs-wasm's memory: base is the address of the
 * wasm heap and every tensor argument a byte offset in it (0 = none), as for the SIMD module.
 *
 * Exactness: each kernel computes every output element with the same float32 operations in the
 * same order as its SIMD-module twin (lane by lane, the scalar tails as written there; built with
 * -ffp-contract=off, so no fused multiply-adds), and a thread split never changes an element's
 * order of operations (element-wise and per-row kernels split rows; per-channel sums split
 * channels; Σx² sums fixed blocks). So the results are bit-identical to the SIMD module's, at any
 * thread count (tests/engine/native.test.ts).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))
#define F(off) ((off) ? (float *)(base + (uintptr_t)(off)) : (float *)0)
#define D(off) ((off) ? (double *)(base + (uintptr_t)(off)) : (double *)0)
typedef unsigned int u32;

/* ---- a small pool: the caller runs part 0, workers 1..parts-1; spin briefly, then sleep ---- */

typedef void (*task_fn)(const void *args, int part, int parts);
#define MAX_THREADS 64
#define SPINS 4000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int workers = 0, sleeping = 0, threads = 1;
static unsigned long generation = 0;
static task_fn job_fn;
static const void *job_args;
static int job_parts;
static int pending = 0;
static long min_split = 1L << 16; /* elements (or bytes moved / 4) below which a kernel stays on one thread */

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg) {
  int id = (int)(intptr_t)arg;
  unsigned long seen = 0;
  for (;;) {
    unsigned long g;
    int spins = 0;
    while ((g = __atomic_load_n(&generation, __ATOMIC_ACQUIRE)) == seen) {
      if (++spins < SPINS) {
        relax();
        continue;
      }
      pthread_mutex_lock(&mu);
      sleeping++;
      while (__atomic_load_n(&generation, __ATOMIC_ACQUIRE) == seen) pthread_cond_wait(&wake, &mu);
      sleeping--;
      pthread_mutex_unlock(&mu);
    }
    seen = g;
    if (id < job_parts) job_fn(job_args, id, job_parts);
    __atomic_fetch_sub(&pending, 1, __ATOMIC_RELEASE);
  }
  return 0;
}

/* Threads a kernel may use (workers are started once and never stopped) and the split threshold. */
EXPORT int fm_set_threads(int n, int split) {
  if (n < 1) n = 1;
  if (n > MAX_THREADS) n = MAX_THREADS;
  if (split >= 0) min_split = split;
  while (workers < n - 1) {
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, worker_main, (void *)(intptr_t)(workers + 1)) != 0) break;
    pthread_attr_destroy(&at);
    workers++;
  }
  threads = n < workers + 1 ? n : workers + 1;
  return threads;
}

static int busy = 0; /* a second caller (another JS thread of the process) runs alone */

static void run(task_fn fn, const void *args, int parts) {
  if (parts > threads) parts = threads;
  if (parts <= 1 || __atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE)) {
    fn(args, 0, 1);
    return;
  }
  job_fn = fn;
  job_args = args;
  job_parts = parts;
  __atomic_store_n(&pending, workers, __ATOMIC_RELAXED);
  pthread_mutex_lock(&mu);
  __atomic_fetch_add(&generation, 1, __ATOMIC_RELEASE);
  if (sleeping) pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&mu);
  fn(args, 0, parts);
  int spins = 0;
  while (__atomic_load_n(&pending, __ATOMIC_ACQUIRE) > 0)
    if (++spins < SPINS) relax();
    else sched_yield();
  __atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
}

/* Parts for work units: one per min_split, at most the threads. */
static int parts_for(long work) {
  long p = min_split > 0 ? work / min_split : threads;
  if (p < 1) p = 1;
  return p < threads ? (int)p : threads;
}

/* [lo, hi) of part part of n items, cut at multiples of align. */
static void span(long n, int part, int parts, long align, long *lo, long *hi) {
  long blocks = (n + align - 1) / align;
  long b0 = blocks * part / parts, b1 = blocks * (part + 1) / parts;
  *lo = b0 * align < n ? b0 * align : n;
  *hi = b1 * align < n ? b1 * align : n;
}

/*
 * A part's own accumulators, 64-byte aligned (0 when out of memory). Parts that split channels and
 * add row after row into one shared array met on the cache line at their boundary once per row
 * whenever the array was not 64-byte aligned: the depthwise filter gradient ran 5x slower in such
 * runs. Each part sums into its own copy and writes its channels back once; the order of the
 * additions is the same, so are the bits.
 */
static void *own(long bytes) { return aligned_alloc(64, (bytes + 63) & ~63L); }

/* ReLU (NaN and -0 kept) and PReLU of one value: one definition for the kernels that apply them */
static inline float relu1(float x) { return x < 0.0f ? 0.0f : x; }
static inline float prelu1(float x, float a) { return x > 0.0f ? x : a * x; }

/* ---- e^x and the GELU, as the SIMD module's exp4 lane by lane ---- */

static inline float wmax(float a, float b) { return a != a ? a : (a < b ? b : a); }
static inline float wmin(float a, float b) { return a != a ? a : (a > b ? b : a); }

static inline float expf_(float x) {
  x = wmin(wmax(x, -87.3f), 88.3f);
  float fx = __builtin_rintf(x * 1.44269504088896341f);
  x = x - fx * 0.693359375f;
  x = x + fx * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = ((y * x) * x + x) + 1.0f;
  int32_t n = ((int32_t)fx + 127) << 23;
  float p;
  memcpy(&p, &n, 4);
  return y * p;
}

#define GELU_C 1.5957691216057308f
#define GELU_A 0.044715f

typedef struct { const float *x, *dy; float *y; long n; } ew_args;

static void gelu_task(const void *v, int part, int parts) {
  const ew_args *a = v;
  long lo, hi, vec = a->n & ~3L;
  span(a->n, part, parts, 64, &lo, &hi);
  const float *x = a->x;
  float *y = a->y;
  for (long i = lo; i < hi && i < vec; i++) {
    float t = x[i];
    float u = GELU_C * (t + GELU_A * (t * (t * t)));
    y[i] = t * (1.0f / (1.0f + expf_(-u)));
  }
  for (long i = lo > vec ? lo : vec; i < hi; i++) {
    float t = x[i];
    float s = 1.0f / (1.0f + expf_(-GELU_C * (t + GELU_A * t * t * t)));
    y[i] = t * s;
  }
}

EXPORT void fm_gelu(char *base, u32 x, u32 y, int n) {
  ew_args a = {F(x), 0, F(y), n};
  run(gelu_task, &a, parts_for(n * 8L));
}

static void gelu_grad_task(const void *v, int part, int parts) {
  const ew_args *a = v;
  long lo, hi, vec = a->n & ~3L;
  span(a->n, part, parts, 64, &lo, &hi);
  const float *x = a->x, *dy = a->dy;
  float *dx = a->y;
  for (long i = lo; i < hi && i < vec; i++) {
    float t = x[i];
    float t2 = t * t;
    float s = 1.0f / (1.0f + expf_(-(GELU_C * (t + GELU_A * (t * t2)))));
    float du = GELU_C * (1.0f + (3.0f * GELU_A) * t2);
    float d = s + (t * (s * (1.0f - s))) * du;
    dx[i] = dy[i] * d;
  }
  for (long i = lo > vec ? lo : vec; i < hi; i++) {
    float t = x[i];
    float s = 1.0f / (1.0f + expf_(-GELU_C * (t + GELU_A * t * t * t)));
    dx[i] = dy[i] * (s + t * s * (1.0f - s) * GELU_C * (1.0f + 3.0f * GELU_A * t * t));
  }
}

EXPORT void fm_gelu_grad(char *base, u32 dy, u32 x, u32 dx, int n) {
  ew_args a = {F(x), F(dy), F(dx), n};
  run(gelu_grad_task, &a, parts_for(n * 8L));
}

/* ---- LayerNorm ---- */

static inline float hsum4(const float *a) { return ((a[0] + a[1]) + a[2]) + a[3]; }

typedef struct {
  const float *x, *g, *b, *dy, *mean, *rstd;
  float *y, *meanw, *rstdw, *dgamma, *dbeta;
  int R, D;
  float eps;
} ln_args;

static void ln_task(const void *v, int part, int parts) {
  const ln_args *a = v;
  long lo, hi;
  int D = a->D;
  span(a->R, part, parts, 1, &lo, &hi);
  const float *restrict g = a->g, *restrict b = a->b;
  for (long r = lo; r < hi; r++) {
    const float *restrict xr = a->x + r * D;
    float *restrict yr = a->y + r * D;
    float acc[4] = {0, 0, 0, 0};
    int j = 0;
    for (; j + 4 <= D; j += 4)
      for (int l = 0; l < 4; l++) acc[l] = acc[l] + xr[j + l];
    float s = hsum4(acc);
    for (; j < D; j++) s += xr[j];
    float mu = s / D;
    for (int l = 0; l < 4; l++) acc[l] = 0.0f;
    for (j = 0; j + 4 <= D; j += 4)
      for (int l = 0; l < 4; l++) {
        float d = xr[j + l] - mu;
        acc[l] = acc[l] + d * d;
      }
    float ss = hsum4(acc);
    for (; j < D; j++) ss += (xr[j] - mu) * (xr[j] - mu);
    float k = 1.0f / __builtin_sqrtf(ss / D + a->eps);
    a->meanw[r] = mu;
    a->rstdw[r] = k;
    for (j = 0; j + 4 <= D; j += 4)
      for (int l = 0; l < 4; l++) yr[j + l] = ((xr[j + l] - mu) * k) * g[j + l] + b[j + l];
    for (; j < D; j++) yr[j] = (xr[j] - mu) * k * g[j] + b[j];
  }
}

EXPORT void fm_layernorm(char *base, u32 x, u32 g, u32 b, u32 y, u32 mean, u32 rstd, int R, int D, float eps) {
  ln_args a = {.x = F(x), .g = F(g), .b = F(b), .y = F(y), .meanw = F(mean), .rstdw = F(rstd), .R = R, .D = D, .eps = eps};
  run(ln_task, &a, parts_for((long)R * D * 3));
}

/* dx by rows (needs only the row's own sums) */
static void ln_grad_rows(const void *v, int part, int parts) {
  const ln_args *a = v;
  long lo, hi;
  int D = a->D;
  span(a->R, part, parts, 1, &lo, &hi);
  const float *restrict gamma = a->g;
  for (long r = lo; r < hi; r++) {
    const float *restrict xr = a->x + r * D, *restrict dyr = a->dy + r * D;
    float *restrict dxr = a->y + r * D;
    float mu = a->mean[r], k = a->rstd[r];
    float sg4[4] = {0, 0, 0, 0}, sgx4[4] = {0, 0, 0, 0};
    int j = 0;
    for (; j + 4 <= D; j += 4)
      for (int l = 0; l < 4; l++) {
        float h = (xr[j + l] - mu) * k;
        float gg = dyr[j + l] * gamma[j + l];
        sg4[l] = sg4[l] + gg;
        sgx4[l] = sgx4[l] + gg * h;
      }
    float sg = hsum4(sg4), sgx = hsum4(sgx4);
    for (int t = j; t < D; t++) {
      float h = (xr[t] - mu) * k;
      float gg = dyr[t] * gamma[t];
      sg += gg;
      sgx += gg * h;
    }
    float am = sg / D, c = sgx / D;
    for (j = 0; j + 4 <= D; j += 4)
      for (int l = 0; l < 4; l++) {
        float h = (xr[j + l] - mu) * k;
        float gg = dyr[j + l] * gamma[j + l];
        dxr[j + l] = k * ((gg - am) - h * c);
      }
    for (; j < D; j++) {
      float h = (xr[j] - mu) * k;
      dxr[j] = k * (dyr[j] * gamma[j] - am - h * c);
    }
  }
}

/* dγ, dβ by columns: each column summed over the rows in order, as the SIMD module does */
static void ln_grad_cols(const void *v, int part, int parts) {
  const ln_args *a = v;
  long lo, hi;
  int D = a->D;
  span(D, part, parts, 16, &lo, &hi);
  float *mine = parts > 1 ? own(sizeof(float) * 2 * D) : 0;
  float *restrict dg = mine ? mine : a->dgamma, *restrict db = mine ? mine + D : a->dbeta;
  for (long j = lo; j < hi; j++) dg[j] = db[j] = 0.0f;
  for (long r = 0; r < a->R; r++) {
    const float *restrict xr = a->x + r * D, *restrict dyr = a->dy + r * D;
    float mu = a->mean[r], k = a->rstd[r];
    for (long j = lo; j < hi; j++) {
      float d = dyr[j];
      float h = (xr[j] - mu) * k;
      db[j] = db[j] + d;
      dg[j] = dg[j] + d * h;
    }
  }
  if (mine) {
    memcpy(a->dgamma + lo, dg + lo, sizeof(float) * (hi - lo));
    memcpy(a->dbeta + lo, db + lo, sizeof(float) * (hi - lo));
    free(mine);
  }
}

EXPORT void fm_layernorm_grad(char *base, u32 dy, u32 x, u32 gamma, u32 mean, u32 rstd, u32 dx, u32 dgamma,
                              u32 dbeta, int R, int D) {
  ln_args a = {.x = F(x), .g = F(gamma), .dy = F(dy), .mean = F(mean), .rstd = F(rstd), .y = F(dx),
               .dgamma = F(dgamma), .dbeta = F(dbeta), .R = R, .D = D};
  run(ln_grad_rows, &a, parts_for((long)R * D * 3));
  run(ln_grad_cols, &a, D >= 32 ? parts_for((long)R * D * 2) : 1);
}

/* ---- per-channel sums (BatchNorm), split by channels ---- */

#define BLOCK 64

typedef struct {
  const float *a, *b, *shift;
  int R, C;
  double *s1, *s2;
  float *part;
} cs_args;

/* Block sums p1, p2 [c0, c1) of rows r0..r1 (float32, from zero, rows in order). */
static inline void cs_block(const cs_args *A, int r0, int r1, long c0, long c1, float *restrict p1,
                            float *restrict p2) {
  int C = A->C;
  const float *restrict b = A->b, *restrict shift = A->shift;
  int squares = b == 0 && shift != 0;
  for (long c = c0; c < c1; c++) p1[c] = p2[c] = 0.0f;
  for (int r = r0; r < r1; r++) {
    const float *restrict ar = A->a + (long)r * C;
    const float *restrict br = b ? b + (long)r * C : 0;
    if (squares)
      for (long c = c0; c < c1; c++) {
        float d = ar[c] - shift[c];
        p1[c] = p1[c] + d * d;
      }
    else if (br)
      for (long c = c0; c < c1; c++) {
        p1[c] = p1[c] + ar[c];
        p2[c] = p2[c] + ar[c] * (br[c] - shift[c]);
      }
    else
      for (long c = c0; c < c1; c++) p1[c] = p1[c] + ar[c];
  }
}

static void cs_task(const void *v, int part, int parts) {
  const cs_args *A = v;
  long c0, c1;
  int C = A->C, R = A->R;
  span(C, part, parts, 16, &c0, &c1);
  void *mine = parts > 1 ? own((sizeof(float) + sizeof(double)) * 2 * C) : 0;
  double *restrict s1 = mine ? mine : A->s1, *restrict s2 = mine ? s1 + C : A->s2;
  float *restrict p1 = mine ? (float *)(s2 + C) : A->part, *restrict p2 = p1 + C;
  for (long c = c0; c < c1; c++) s1[c] = s2[c] = 0.0;
  for (int r0 = 0; r0 < R; r0 += BLOCK) {
    cs_block(A, r0, r0 + BLOCK < R ? r0 + BLOCK : R, c0, c1, p1, p2);
    for (long c = c0; c < c1; c++) {
      s1[c] += p1[c];
      s2[c] += p2[c];
    }
  }
  if (mine) {
    memcpy(A->s1 + c0, s1 + c0, sizeof(double) * (c1 - c0));
    memcpy(A->s2 + c0, s2 + c0, sizeof(double) * (c1 - c0));
    memcpy(A->part + c0, p1 + c0, sizeof(float) * (c1 - c0));
    memcpy(A->part + C + c0, p2 + c0, sizeof(float) * (c1 - c0));
    free(mine);
  }
}

/*
 * Fewer than 32 channels (BatchNorm after r-tiny's 16-channel convolutions) give the channel split
 * one part: such calls split the row blocks instead. Each part leaves its blocks' float32 sums in
 * bs [blocks][2C]; they are added in float64 in block order afterwards, the one-thread order, so
 * the bits do not change.
 */
typedef struct { const cs_args *A; float *bs; } csr_args;

static void cs_rows_task(const void *v, int part, int parts) {
  const csr_args *B = v;
  int C = B->A->C, R = B->A->R;
  long b0, b1;
  span((R + BLOCK - 1) / BLOCK, part, parts, 1, &b0, &b1);
  for (long k = b0; k < b1; k++) {
    float *p1 = B->bs + k * 2 * C;
    cs_block(B->A, (int)(k * BLOCK), (int)(k * BLOCK + BLOCK < R ? k * BLOCK + BLOCK : R), 0, C, p1, p1 + C);
  }
}

EXPORT void fm_channel_sums(char *base, u32 a, u32 b, u32 shift, int R, int C, u32 s1, u32 s2, u32 part) {
  cs_args A = {F(a), F(b), F(shift), R, C, D(s1), D(s2), F(part)};
  int parts = parts_for((long)R * C * 2);
  long blocks = (R + BLOCK - 1) / BLOCK;
  float *bs = C < 32 && parts > 1 && blocks > 1 ? malloc(sizeof(float) * blocks * 2 * C) : 0;
  if (!bs) {
    run(cs_task, &A, C >= 32 ? parts : 1);
    return;
  }
  csr_args B = {&A, bs};
  run(cs_rows_task, &B, parts);
  for (int c = 0; c < C; c++) A.s1[c] = A.s2[c] = 0.0;
  for (long k = 0; k < blocks; k++)
    for (int c = 0; c < C; c++) {
      A.s1[c] += bs[k * 2 * C + c];
      A.s2[c] += bs[k * 2 * C + C + c];
    }
  memcpy(A.part, bs + (blocks - 1) * 2 * C, sizeof(float) * 2 * C); /* the scratch as one thread leaves it */
  free(bs);
}

typedef struct {
  const float *x, *k, *b, *z, *kz;
  float *y;
  int R, C;
} ca_args;

static void ca_task(const void *v, int part, int parts) {
  const ca_args *A = v;
  long lo, hi;
  int C = A->C;
  span(A->R, part, parts, 1, &lo, &hi);
  int vec = C & ~3;
  const float *restrict k = A->k, *restrict b = A->b, *restrict kz = A->kz;
  for (long r = lo; r < hi; r++) {
    const float *restrict xr = A->x + r * C;
    const float *restrict zr = A->z ? A->z + r * C : 0;
    float *restrict yr = A->y + r * C;
    if (zr)
      for (int c = 0; c < vec; c++) yr[c] = (xr[c] * k[c] + b[c]) + zr[c] * kz[c];
    else
      for (int c = 0; c < vec; c++) yr[c] = xr[c] * k[c] + b[c];
    for (int c = vec; c < C; c++) yr[c] = xr[c] * k[c] + b[c] + (zr ? zr[c] * kz[c] : 0.0f);
  }
}

EXPORT void fm_channel_affine(char *base, u32 x, u32 k, u32 b, u32 z, u32 kz, u32 y, int R, int C) {
  ca_args A = {F(x), F(k), F(b), F(z), F(kz), F(y), R, C};
  run(ca_task, &A, parts_for((long)R * C * 2));
}

/* ---- Σx²: fixed blocks of 4096, each a float32 sum (4 lanes), added in float64 in order ---- */

typedef struct { const float *x; long n; float *blocks; } ss_args;

static void ss_task(const void *v, int part, int parts) {
  const ss_args *A = v;
  long nb = (A->n + 4095) / 4096, b0, b1;
  span(nb, part, parts, 1, &b0, &b1);
  const float *restrict x = A->x;
  for (long b = b0; b < b1; b++) {
    long i0 = b * 4096, i1 = i0 + 4096 < A->n ? i0 + 4096 : A->n, i = i0;
    float acc[4] = {0, 0, 0, 0};
    for (; i + 4 <= i1; i += 4)
      for (int l = 0; l < 4; l++) acc[l] = acc[l] + x[i + l] * x[i + l];
    float s = hsum4(acc);
    for (; i < i1; i++) s += x[i] * x[i];
    A->blocks[b] = s;
  }
}

EXPORT double fm_sum_squares(char *base, u32 x, int n) {
  long nb = (n + 4095L) / 4096;
  float one[1];
  float *blocks = nb > 1 ? malloc(nb * sizeof(float)) : one;
  ss_args A = {F(x), n, blocks};
  run(ss_task, &A, blocks == 0 ? 1 : parts_for(n));
  double total = 0.0;
  for (long b = 0; b < nb; b++) total += blocks[b];
  if (blocks != one) free(blocks);
  return total;
}

/* ---- optimizers ---- */

typedef struct {
  const float *p, *g;
  float *m, *v, *out;
  long n;
  float s, b1, b2, decay, step, ib2, eps, wd, mu, lr;
} opt_args;

static void adamw_task(const void *va, int part, int parts) {
  const opt_args *A = va;
  long lo, hi, vec = A->n & ~3L;
  span(A->n, part, parts, 64, &lo, &hi);
  const float *restrict p = A->p, *restrict g = A->g;
  float *restrict m = A->m, *restrict v = A->v, *restrict out = A->out;
  const float s = A->s, b1 = A->b1, b2 = A->b2, decay = A->decay, step = A->step, ib2 = A->ib2, eps = A->eps;
  const float a1 = 1.0f - b1, a2 = 1.0f - b2;
  long end = hi < vec ? hi : vec;
  for (long i = lo; i < end; i++) {
    float gi = g[i] * s;
    float mi = b1 * m[i] + a1 * gi;
    float vi = b2 * v[i] + a2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    float den = __builtin_sqrtf(vi) * ib2 + eps;
    out[i] = p[i] * decay - (step * mi) / den;
  }
  for (long i = lo > vec ? lo : vec; i < hi; i++) {
    float gi = g[i] * s;
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    out[i] = p[i] * decay - (step * mi) / (__builtin_sqrtf(vi) * ib2 + eps);
  }
}

EXPORT void fm_adamw(char *base, u32 p, u32 g, u32 m, u32 vv, u32 out, int n, float s, float b1, float b2,
                     float decay, float step, float ib2, float eps) {
  opt_args A = {.p = F(p), .g = F(g), .m = F(m), .v = F(vv), .out = F(out), .n = n, .s = s, .b1 = b1, .b2 = b2,
                .decay = decay, .step = step, .ib2 = ib2, .eps = eps};
  run(adamw_task, &A, parts_for(n * 6L));
}

static void sgd_task(const void *va, int part, int parts) {
  const opt_args *A = va;
  long lo, hi;
  span(A->n, part, parts, 64, &lo, &hi);
  const float *restrict p = A->p, *restrict g = A->g;
  float *restrict buf = A->m, *restrict out = A->out;
  const float s = A->s, wd = A->wd, mu = A->mu, lr = A->lr;
  if (buf)
    for (long i = lo; i < hi; i++) {
      float d = g[i] * s + wd * p[i];
      d = mu * buf[i] + d;
      buf[i] = d;
      out[i] = p[i] - lr * d;
    }
  else
    for (long i = lo; i < hi; i++) out[i] = p[i] - lr * (g[i] * s + wd * p[i]);
}

EXPORT void fm_sgd(char *base, u32 p, u32 g, u32 buf, u32 out, int n, float s, float wd, float mu, float lr) {
  opt_args A = {.p = F(p), .g = F(g), .m = F(buf), .out = F(out), .n = n, .s = s, .wd = wd, .mu = mu, .lr = lr};
  run(sgd_task, &A, parts_for(n * 4L));
}

/* ---- PReLU gradients ---- */

typedef struct { const float *x, *alpha, *dy; float *dx; double *s; float *part; int R, C; } pr_args;

static void prelu_x_task(const void *v, int part, int parts) {
  const pr_args *A = v;
  long lo, hi;
  const float *restrict x = A->x, *restrict dy = A->dy, *restrict alpha = A->alpha;
  float *restrict dx = A->dx;
  if (A->C == 1) {
    float al = alpha[0];
    span(A->R, part, parts, 64, &lo, &hi);
    for (long i = lo; i < hi; i++) dx[i] = x[i] > 0.0f ? dy[i] : al * dy[i];
    return;
  }
  int C = A->C;
  span(A->R, part, parts, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    const float *restrict xr = x + r * C, *restrict dyr = dy + r * C;
    float *restrict dxr = dx + r * C;
    for (int c = 0; c < C; c++) dxr[c] = xr[c] > 0.0f ? dyr[c] : alpha[c] * dyr[c];
  }
}

/* PReLU: y = x where x > 0, else α·x; α per channel [C], or one value (C = 1: R is the element count). */
static void prelu_task(const void *v, int part, int parts) {
  const pr_args *A = v;
  long lo, hi;
  const float *restrict x = A->x, *restrict alpha = A->alpha;
  float *restrict y = A->dx;
  if (A->C == 1) {
    float al = alpha[0];
    span(A->R, part, parts, 64, &lo, &hi);
    for (long i = lo; i < hi; i++) y[i] = prelu1(x[i], al);
    return;
  }
  int C = A->C;
  span(A->R, part, parts, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    const float *restrict xr = x + r * C;
    float *restrict yr = y + r * C;
    for (int c = 0; c < C; c++) yr[c] = prelu1(xr[c], alpha[c]);
  }
}

/*
 * A convolution's output in place, y [R, C]: y = act(y + b) with b [C] when has_bias, act 0 none,
 * 1 ReLU, 2 PReLU with alpha [C] (or one value when nalpha = 1): the float32 operations of the Add,
 * Relu and Prelu kernels (relu1, prelu1), row by row in one pass instead of three passes and two
 * new tensors.
 */
typedef struct { float *y; const float *b, *alpha; long R; int C, has_bias, act, nalpha; } ba_args;

static void bias_act_task(const void *v, int part, int parts) {
  const ba_args *A = v;
  long lo, hi;
  span(A->R, part, parts, 1, &lo, &hi);
  const int C = A->C;
  const float *restrict b = A->b, *restrict al = A->alpha;
  for (long r = lo; r < hi; r++) {
    float *restrict y = A->y + r * C;
    if (A->has_bias)
      for (int c = 0; c < C; c++) y[c] = y[c] + b[c];
    if (A->act == 1)
      for (int c = 0; c < C; c++) y[c] = relu1(y[c]);
    else if (A->act == 2 && A->nalpha == 1)
      for (int c = 0; c < C; c++) y[c] = prelu1(y[c], al[0]);
    else if (A->act == 2)
      for (int c = 0; c < C; c++) y[c] = prelu1(y[c], al[c]);
  }
}

EXPORT void fm_bias_act(char *base, u32 y, u32 b, u32 alpha, int R, int C, int has_bias, int act, int nalpha) {
  ba_args A = {F(y), F(b), F(alpha), R, C, has_bias, act, nalpha};
  run(bias_act_task, &A, parts_for((long)R * C * 2));
}

EXPORT void fm_prelu(char *base, u32 x, u32 alpha, u32 y, int R, int C) {
  pr_args A = {.x = F(x), .alpha = F(alpha), .dx = F(y), .R = R, .C = C};
  run(prelu_task, &A, parts_for((long)R * C * 2));
}

EXPORT void fm_prelu_grad_x(char *base, u32 x, u32 alpha, u32 dy, u32 dx, int R, int C) {
  pr_args A = {.x = F(x), .alpha = F(alpha), .dy = F(dy), .dx = F(dx), .R = R, .C = C};
  run(prelu_x_task, &A, parts_for((long)R * C * 3));
}

/* wasm's f32x4.min(x, 0) lane by lane (−0 and NaN kept) in the vector part; the tail as written there */
static inline float min0(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  /* x itself when its sign bit is set (negatives, −0) or it is NaN, else +0 */
  uint32_t keep = (u >> 31) | ((u & 0x7fffffffu) > 0x7f800000u);
  u &= 0u - keep;
  memcpy(&x, &u, 4);
  return x;
}

/* Block sums pt [c0, c1) of rows r0..r1 (float32, from zero, rows in order). */
static inline void prelu_alpha_block(const pr_args *A, int r0, int r1, long c0, long c1, float *restrict pt) {
  int C = A->C, vec = C & ~3;
  long cv = c1 < vec ? c1 : vec;
  for (long c = c0; c < c1; c++) pt[c] = 0.0f;
  for (int r = r0; r < r1; r++) {
    const float *restrict xr = A->x + (long)r * C, *restrict dyr = A->dy + (long)r * C;
    for (long c = c0; c < cv; c++) pt[c] = pt[c] + dyr[c] * min0(xr[c]);
    for (long c = c0 > vec ? c0 : vec; c < c1; c++) pt[c] += dyr[c] * (xr[c] < 0.0f ? xr[c] : 0.0f);
  }
}

static void prelu_alpha_task(const void *v, int part, int parts) {
  const pr_args *A = v;
  long c0, c1;
  int C = A->C, R = A->R;
  span(C, part, parts, 16, &c0, &c1);
  void *mine = parts > 1 ? own((sizeof(float) + sizeof(double)) * C) : 0;
  double *restrict s = mine ? mine : A->s;
  float *restrict pt = mine ? (float *)(s + C) : A->part;
  for (long c = c0; c < c1; c++) s[c] = 0.0;
  for (int r0 = 0; r0 < R; r0 += BLOCK) {
    prelu_alpha_block(A, r0, r0 + BLOCK < R ? r0 + BLOCK : R, c0, c1, pt);
    for (long c = c0; c < c1; c++) s[c] += pt[c];
  }
  if (mine) {
    memcpy(A->s + c0, s + c0, sizeof(double) * (c1 - c0));
    memcpy(A->part + c0, pt + c0, sizeof(float) * (c1 - c0));
    free(mine);
  }
}

/* Fewer than 32 channels (or one slope): row blocks split as for the channel sums above. */
typedef struct { const pr_args *A; float *bs; } prr_args;

static void prelu_alpha_rows_task(const void *v, int part, int parts) {
  const prr_args *B = v;
  int C = B->A->C, R = B->A->R;
  long b0, b1;
  span((R + BLOCK - 1) / BLOCK, part, parts, 1, &b0, &b1);
  for (long k = b0; k < b1; k++)
    prelu_alpha_block(B->A, (int)(k * BLOCK), (int)(k * BLOCK + BLOCK < R ? k * BLOCK + BLOCK : R), 0, C,
                      B->bs + k * C);
}

EXPORT void fm_prelu_grad_alpha(char *base, u32 x, u32 dy, int R, int C, u32 s, u32 part) {
  pr_args A = {.x = F(x), .dy = F(dy), .s = D(s), .part = F(part), .R = R, .C = C};
  int parts = parts_for((long)R * C * 2);
  long blocks = (R + BLOCK - 1) / BLOCK;
  float *bs = C < 32 && parts > 1 && blocks > 1 ? malloc(sizeof(float) * blocks * C) : 0;
  if (!bs) {
    run(prelu_alpha_task, &A, C >= 32 ? parts : 1);
    return;
  }
  prr_args B = {&A, bs};
  run(prelu_alpha_rows_task, &B, parts);
  for (int c = 0; c < C; c++) A.s[c] = 0.0;
  for (long k = 0; k < blocks; k++)
    for (int c = 0; c < C; c++) A.s[c] += bs[k * C + c];
  memcpy(A.part, bs + (blocks - 1) * C, sizeof(float) * C); /* the scratch as one thread leaves it */
  free(bs);
}

/* ---- im2col, split over images ---- */

typedef struct { const float *x; float *cols; int n0, nb; const int *g; } ic_args;

static void im2col_task(const void *v, int part, int parts) {
  const ic_args *A = v;
  const int *g = A->g;
  int H = g[0], W = g[1], C = g[2], OH = g[3], OW = g[4], KH = g[5], KW = g[6];
  int sh = g[7], sw = g[8], dh = g[9], dw = g[10], pt = g[11], pl = g[12];
  long lo, hi;
  span(A->nb, part, parts, 1, &lo, &hi);
  float *o = A->cols + lo * (long)OH * OW * KH * KW * C;
  for (long n = A->n0 + lo; n < A->n0 + hi; n++) {
    const float *xn = A->x + n * H * W * C;
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        int iw0 = ow * sw - pl;
        int inside = dw == 1 && iw0 >= 0 && iw0 + KW <= W;
        for (int kh = 0; kh < KH; kh++) {
          int ih = oh * sh - pt + kh * dh;
          if (ih < 0 || ih >= H) {
            memset(o, 0, sizeof(float) * KW * C);
            o += KW * C;
            continue;
          }
          const float *xrow = xn + (long)ih * W * C;
          if (inside) {
            memcpy(o, xrow + (long)iw0 * C, sizeof(float) * KW * C);
            o += KW * C;
            continue;
          }
          for (int kw = 0; kw < KW; kw++) {
            int iw = iw0 + kw * dw;
            if (iw < 0 || iw >= W) memset(o, 0, sizeof(float) * C);
            else memcpy(o, xrow + (long)iw * C, sizeof(float) * C);
            o += C;
          }
        }
      }
  }
}

EXPORT void fm_im2col(char *base, u32 x, u32 cols, int n0, int nb, u32 g) {
  const int *geo = (const int *)(base + g);
  ic_args A = {F(x), F(cols), n0, nb, geo};
  run(im2col_task, &A, parts_for((long)nb * geo[3] * geo[4] * geo[5] * geo[6] * geo[2]));
}

/* ---- new: kernels the SIMD module does not have ---- */

/*
 * Depthwise convolution gradients, x [N,H,W,C], dy [N,OH,OW,C·M], filter [KH,KW,C,M]; g = {N, H, W,
 * C, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, M}. The filter gradient sums each image in float32 and
 * the images in float64 (split by channels); the input gradient is a scatter per image (split by
 * images). Order per element is fixed, so any thread count gives the same bits.
 */
typedef struct { const float *x, *dy, *w; float *out; const int *g; double *acc; float *img; } dw_args;

static void dw_filter_task(const void *v, int part, int parts) {
  const dw_args *A = v;
  const int *g = A->g;
  int N = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], KH = g[6], KW = g[7];
  int sh = g[8], sw = g[9], dh = g[10], dw = g[11], pt = g[12], pl = g[13], M = g[14];
  long CO = (long)C * M, c0, c1;
  span(CO, part, parts, 16, &c0, &c1);
  /* each part its own 64-byte-aligned slice of the scratch (see own()) */
  long stride = (KH * KW * CO + 15) & ~15L;
  double *acc = A->acc + part * stride;
  float *img = A->img + part * stride;
  for (int t = 0; t < KH * KW; t++)
    for (long c = c0; c < c1; c++) acc[t * CO + c] = 0.0;
  for (int n = 0; n < N; n++) {
    for (int t = 0; t < KH * KW; t++)
      for (long c = c0; c < c1; c++) img[t * CO + c] = 0.0f;
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        const float *restrict dyo = A->dy + (((long)n * OH + oh) * OW + ow) * CO;
        for (int kh = 0; kh < KH; kh++) {
          int ih = oh * sh - pt + kh * dh;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            int iw = ow * sw - pl + kw * dw;
            if (iw < 0 || iw >= W) continue;
            const float *restrict xo = A->x + (((long)n * H + ih) * W + iw) * C;
            float *restrict io = img + (kh * KW + kw) * CO;
            if (M == 1)
              for (long c = c0; c < c1; c++) io[c] = io[c] + xo[c] * dyo[c];
            else
              for (long c = c0; c < c1; c++) io[c] = io[c] + xo[c / M] * dyo[c];
          }
        }
      }
    for (int t = 0; t < KH * KW; t++)
      for (long c = c0; c < c1; c++) acc[t * CO + c] += img[t * CO + c];
  }
  for (int t = 0; t < KH * KW; t++)
    for (long c = c0; c < c1; c++) A->out[t * CO + c] = (float)acc[t * CO + c];
}

/* 0 when its scratch cannot be allocated (the caller then runs its portable loop), else 1 */
EXPORT int fm_depthwise_filter_grad(char *base, u32 x, u32 dy, u32 out, u32 g) {
  const int *geo = (const int *)(base + g);
  long taps = (long)geo[6] * geo[7], CO = (long)geo[3] * geo[14];
  long work = (long)geo[0] * geo[4] * geo[5] * taps * CO, stride = (taps * CO + 15) & ~15L;
  int parts = CO >= 32 ? parts_for(work) : 1;
  double *acc = own(parts * stride * sizeof(double));
  float *img = own(parts * stride * sizeof(float));
  dw_args A = {F(x), F(dy), 0, F(out), geo, acc, img};
  if (!acc || !img) {
    free(acc);
    free(img);
    return 0;
  }
  run(dw_filter_task, &A, parts);
  free(acc);
  free(img);
  return 1;
}

static void dw_input_task(const void *v, int part, int parts) {
  const dw_args *A = v;
  const int *g = A->g;
  int N = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], KH = g[6], KW = g[7];
  int sh = g[8], sw = g[9], dh = g[10], dw = g[11], pt = g[12], pl = g[13], M = g[14];
  long CO = (long)C * M, lo, hi;
  span(N, part, parts, 1, &lo, &hi);
  memset(A->out + lo * H * W * C, 0, sizeof(float) * (hi - lo) * H * W * C);
  for (long n = lo; n < hi; n++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        const float *restrict dyo = A->dy + ((n * OH + oh) * OW + ow) * CO;
        for (int kh = 0; kh < KH; kh++) {
          int ih = oh * sh - pt + kh * dh;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            int iw = ow * sw - pl + kw * dw;
            if (iw < 0 || iw >= W) continue;
            float *restrict xo = A->out + ((n * H + ih) * W + iw) * C;
            const float *restrict wo = A->w + (kh * KW + kw) * CO;
            if (M == 1)
              for (int c = 0; c < C; c++) xo[c] = xo[c] + wo[c] * dyo[c];
            else
              for (int c = 0; c < C; c++) {
                float s = 0.0f;
                for (int q = 0; q < M; q++) s = s + wo[c * M + q] * dyo[c * M + q];
                xo[c] = xo[c] + s;
              }
          }
        }
      }
}

EXPORT void fm_depthwise_input_grad(char *base, u32 dy, u32 w, u32 out, u32 g) {
  const int *geo = (const int *)(base + g);
  dw_args A = {0, F(dy), F(w), F(out), geo, 0, 0};
  long work = (long)geo[0] * geo[4] * geo[5] * geo[6] * geo[7] * geo[3] * geo[14];
  run(dw_input_task, &A, parts_for(work));
}

/* The forward: y [N,OH,OW,C·M] = depthwise x ⋆ w, gathered per output row (split by output rows). */
static void dw_forward_task(const void *v, int part, int parts) {
  const dw_args *A = v;
  const int *g = A->g;
  int N = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], KH = g[6], KW = g[7];
  int sh = g[8], sw = g[9], dh = g[10], dw = g[11], pt = g[12], pl = g[13], M = g[14];
  long CO = (long)C * M, lo, hi;
  span((long)N * OH, part, parts, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    long n = r / OH, oh = r % OH;
    for (int ow = 0; ow < OW; ow++) {
      float *restrict yo = A->out + (r * OW + ow) * CO;
      for (long c = 0; c < CO; c++) yo[c] = 0.0f;
      for (int kh = 0; kh < KH; kh++) {
        long ih = oh * sh - pt + kh * dh;
        if (ih < 0 || ih >= H) continue;
        for (int kw = 0; kw < KW; kw++) {
          int iw = ow * sw - pl + kw * dw;
          if (iw < 0 || iw >= W) continue;
          const float *restrict xo = A->x + ((n * H + ih) * W + iw) * C;
          const float *restrict wo = A->w + (kh * KW + kw) * CO;
          if (M == 1)
            for (long c = 0; c < CO; c++) yo[c] = yo[c] + xo[c] * wo[c];
          else
            for (long c = 0; c < CO; c++) yo[c] = yo[c] + xo[c / M] * wo[c];
        }
      }
    }
  }
}

EXPORT void fm_depthwise_forward(char *base, u32 x, u32 w, u32 out, u32 g) {
  const int *geo = (const int *)(base + g);
  dw_args A = {F(x), 0, F(w), F(out), geo, 0, 0};
  long work = (long)geo[0] * geo[4] * geo[5] * geo[6] * geo[7] * geo[3] * geo[14];
  run(dw_forward_task, &A, parts_for(work));
}

/*
 * A direct convolution for inputs of few channels (the RGB stem: im2col + GEMM has K = 27 there,
 * and the stock XNNPACK kernel runs on one thread): y [N,OH,OW,CO] from x [N,H,W,C] and w
 * [KH,KW,C,CO]; g = {N,H,W,C,OH,OW,KH,KW,sh,sw,dh,dw,pt,pl,CO}. Each output sums its taps in
 * (kh, kw, c) order from zero: four output pixels × 16 channels at a time in vector registers
 * where their windows lie inside the image's width, one pixel at a time elsewhere (the same
 * order). Split over output rows: any thread count gives the same bits.
 */
#define THIN_CB 16
#define THIN_PB 4

typedef float thin_v8 __attribute__((vector_size(32)));

static inline thin_v8 thin_load(const float *p) {
  thin_v8 v;
  memcpy(&v, p, sizeof v);
  return v;
}

/*
 * Four output pixels ow..ow+3 whose windows lie inside the image's width, 16 output channels from
 * c0: the accumulators are vector variables the compiler keeps in registers (a float array
 * indexed at run time was spilled to the stack, 4x slower); x·w then + as written, no FMA.
 */
static inline __attribute__((always_inline)) void thin_fast(const dw_args *A, long n, long oh, int ow, int c0,
                                                            const int C) {
  const int *g = A->g;
  int H = g[1], W = g[2], KH = g[6], KW = g[7], sh = g[8], sw = g[9], dh = g[10], dw = g[11];
  int pt = g[12], pl = g[13], CO = g[14];
  thin_v8 a[THIN_PB][2];
  for (int p = 0; p < THIN_PB; p++) a[p][0] = a[p][1] = (thin_v8){0};
  for (int kh = 0; kh < KH; kh++) {
    long ih = oh * sh - pt + kh * dh;
    if (ih < 0 || ih >= H) continue;
    const float *xr = A->x + (n * H + ih) * W * C;
    for (int kw = 0; kw < KW; kw++) {
      const float *wo = A->w + (long)(kh * KW + kw) * C * CO + c0;
      const float *xp = xr + (long)(ow * sw - pl + kw * dw) * C;
      for (int c = 0; c < C; c++) {
        thin_v8 w0 = thin_load(wo + (long)c * CO), w1 = thin_load(wo + (long)c * CO + 8);
        for (int p = 0; p < THIN_PB; p++) {
          float xv = xp[(long)p * sw * C + c];
          a[p][0] = a[p][0] + xv * w0;
          a[p][1] = a[p][1] + xv * w1;
        }
      }
    }
  }
  float *o = A->out + ((n * g[4] + oh) * g[5] + ow) * CO + c0;
  for (int p = 0; p < THIN_PB; p++) {
    memcpy(o + (long)p * CO, &a[p][0], sizeof(thin_v8));
    memcpy(o + (long)p * CO + 8, &a[p][1], sizeof(thin_v8));
  }
}

/* One output pixel, every channel, in the same order (the image's edges and channel tails). */
static void thin_one(const dw_args *A, long n, long oh, int ow, int c0, int c1) {
  const int *g = A->g;
  int H = g[1], W = g[2], C = g[3], KH = g[6], KW = g[7], sh = g[8], sw = g[9], dh = g[10], dw = g[11];
  int pt = g[12], pl = g[13], CO = g[14];
  float *restrict o = A->out + ((n * g[4] + oh) * g[5] + ow) * CO;
  for (int j = c0; j < c1; j++) o[j] = 0.0f;
  for (int kh = 0; kh < KH; kh++) {
    long ih = oh * sh - pt + kh * dh;
    if (ih < 0 || ih >= H) continue;
    for (int kw = 0; kw < KW; kw++) {
      long iw = (long)ow * sw - pl + kw * dw;
      if (iw < 0 || iw >= W) continue;
      const float *xo = A->x + ((n * H + ih) * W + iw) * C;
      for (int c = 0; c < C; c++) {
        const float *restrict wc = A->w + ((long)(kh * KW + kw) * C + c) * CO;
        float xv = xo[c];
        for (int j = c0; j < c1; j++) o[j] = o[j] + xv * wc[j];
      }
    }
  }
}

static inline __attribute__((always_inline)) void thin_rows(const dw_args *A, long lo, long hi, const int C) {
  const int *g = A->g;
  int W = g[2], OH = g[4], OW = g[5], KW = g[7], sw = g[9], dw = g[11], pl = g[13], CO = g[14];
  int full = CO / THIN_CB * THIN_CB;
  for (long r = lo; r < hi; r++) {
    long n = r / OH, oh = r % OH;
    for (int ow = 0; ow < OW; ow += THIN_PB) {
      int inside = ow + THIN_PB <= OW && ow * sw - pl >= 0 && (ow + THIN_PB - 1) * sw - pl + (KW - 1) * dw < W;
      for (int p = 0; p < THIN_PB && ow + p < OW; p++)
        if (!inside) thin_one(A, n, oh, ow + p, 0, CO);
        else if (full < CO) thin_one(A, n, oh, ow + p, full, CO);
      if (inside)
        for (int c0 = 0; c0 < full; c0 += THIN_CB) thin_fast(A, n, oh, ow, c0, C);
    }
  }
}

static void conv_thin_task(const void *v, int part, int parts) {
  const dw_args *A = v;
  long lo, hi;
  span((long)A->g[0] * A->g[4], part, parts, 1, &lo, &hi);
  /* a constant channel count lets the compiler unroll the taps' channel loop */
  switch (A->g[3]) {
  case 1: thin_rows(A, lo, hi, 1); break;
  case 3: thin_rows(A, lo, hi, 3); break;
  case 4: thin_rows(A, lo, hi, 4); break;
  default: thin_rows(A, lo, hi, A->g[3]);
  }
}

EXPORT void fm_conv_thin(char *base, u32 x, u32 w, u32 out, u32 g) {
  const int *geo = (const int *)(base + g);
  dw_args A = {F(x), 0, F(w), F(out), geo, 0, 0};
  long work = (long)geo[0] * geo[4] * geo[5] * geo[6] * geo[7] * geo[3] * geo[14];
  run(conv_thin_task, &A, parts_for(work));
}

/*
 * Strided copy of a 4-byte-element box: y[i0,i1,i2,i3] = x[b0+i0, b1+i1, b2+i2, b3+i3] with x's
 * shape xs[4] and y's ys[4] (rank padded to 4 with leading 1s); g = {xs0..3, b0..3, ys0..3}. Split
 * over y's rows of the first two axes.
 */
typedef struct { const char *x; char *y; const int *g; } sl_args;

static void slice_task(const void *v, int part, int parts) {
  const sl_args *A = v;
  const int *g = A->g;
  long x1 = g[1], x2 = g[2], x3 = g[3];
  long y0 = g[8], y1 = g[9], y2 = g[10], y3 = g[11];
  long lo, hi;
  span(y0 * y1, part, parts, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    long i0 = r / y1, i1 = r % y1;
    const char *xs = A->x + 4 * (((g[4] + i0) * x1 + g[5] + i1) * x2 * x3 + (long)g[6] * x3 + g[7]);
    char *ys = A->y + 4 * (r * y2 * y3);
    if (y3 == x3) memcpy(ys, xs, 4 * y2 * y3);
    else
      for (long i2 = 0; i2 < y2; i2++) memcpy(ys + 4 * i2 * y3, xs + 4 * i2 * x3, 4 * y3);
  }
}

EXPORT void fm_slice4(char *base, u32 x, u32 y, u32 g) {
  const int *geo = (const int *)(base + g);
  sl_args A = {base + x, base + y, geo};
  long rows = (long)geo[8] * geo[9];
  long n = rows * geo[10] * geo[11];
  run(slice_task, &A, rows >= 2 ? parts_for(n * 2) : 1);
}

/*
 * Constant padding of a float32 box (the forward of tf.pad): y [ys] = v outside, x [xs] placed at
 * before; g = {xs0..3, before0..3, ys0..3} (rank padded to 4 with leading 1s). Split over y's
 * rows of the first two axes.
 */
typedef struct { const float *x; float *y; const int *g; float v; } pad_args;

static void fill_f32(float *restrict p, long n, float v) {
  for (long i = 0; i < n; i++) p[i] = v;
}

static void pad_task(const void *va, int part, int parts) {
  const pad_args *A = va;
  const int *g = A->g;
  long x0 = g[0], x1 = g[1], x2 = g[2], x3 = g[3];
  long b0 = g[4], b1 = g[5], b2 = g[6], b3 = g[7];
  long y1 = g[9], y2 = g[10], y3 = g[11];
  long lo, hi;
  span(g[8] * y1, part, parts, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    long i0 = r / y1 - b0, i1 = r % y1 - b1;
    float *yr = A->y + r * y2 * y3;
    if (i0 < 0 || i0 >= x0 || i1 < 0 || i1 >= x1) {
      fill_f32(yr, y2 * y3, A->v);
      continue;
    }
    const float *xr = A->x + (i0 * x1 + i1) * x2 * x3;
    fill_f32(yr, b2 * y3, A->v);
    for (long i2 = 0; i2 < x2; i2++) {
      float *yo = yr + (b2 + i2) * y3;
      fill_f32(yo, b3, A->v);
      memcpy(yo + b3, xr + i2 * x3, 4 * x3);
      fill_f32(yo + b3 + x3, y3 - b3 - x3, A->v);
    }
    fill_f32(yr + (b2 + x2) * y3, (y2 - b2 - x2) * y3, A->v);
  }
}

EXPORT void fm_pad4(char *base, u32 x, u32 y, u32 g, float v) {
  const int *geo = (const int *)(base + g);
  pad_args A = {F(x), F(y), geo, v};
  long rows = (long)geo[8] * geo[9];
  run(pad_task, &A, rows >= 2 ? parts_for(rows * geo[10] * geo[11] * 2) : 1);
}

/* The same box copies on absolute addresses (the convolutions' scratch lives outside wasm memory). */
EXPORT void fm_pad4_at(intptr_t x, intptr_t y, const int *g, float v) {
  pad_args A = {(const float *)x, (float *)y, g, v};
  long rows = (long)g[8] * g[9];
  run(pad_task, &A, rows >= 2 ? parts_for(rows * g[10] * g[11] * 2) : 1);
}

EXPORT void fm_slice4_at(intptr_t x, intptr_t y, const int *g) {
  sl_args A = {(const char *)x, (char *)y, g};
  long rows = (long)g[8] * g[9];
  run(slice_task, &A, rows >= 2 ? parts_for(rows * g[10] * g[11] * 2) : 1);
}

/*
 * The strided input gradient's read-back (src/engine/kernels/conv.ts backpropInputPhased):
 * dx [nb,H,W,C] from the s² phase buffers dp [s·s][nb,PH,PW,C]: pixel (ih, iw) is phase
 * ((ih+pt) mod s, (iw+pl) mod s) at ((ih+pt) div s, (iw+pl) div s), zero outside; g = {nb, H, W,
 * C, PH, PW, s, pt, pl}. Split over the images' rows.
 */
typedef struct { const float *dp; float *dx; const int *g; } ph_args;

static void phase_task(const void *va, int part, int parts) {
  const ph_args *A = va;
  const int *g = A->g;
  long nb = g[0], H = g[1], W = g[2], C = g[3], PH = g[4], PW = g[5], s = g[6], pt = g[7], pl = g[8];
  long img = PH * PW, phaseLen = nb * img * C, lo, hi;
  span(nb * H, part, parts, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    long n = r / H, ih = r % H, hp = ih + pt, ph = hp / s, a = hp % s;
    float *d = A->dx + r * W * C;
    if (ph >= PH) {
      memset(d, 0, sizeof(float) * W * C);
      continue;
    }
    for (long iw = 0; iw < W; iw++, d += C) {
      long wp = iw + pl, pw = wp / s;
      if (pw >= PW) memset(d, 0, sizeof(float) * C);
      else memcpy(d, A->dp + (a * s + wp % s) * phaseLen + (n * img + ph * PW + pw) * C, sizeof(float) * C);
    }
  }
}

EXPORT void fm_phase_gather_at(intptr_t dp, intptr_t dx, const int *g) {
  ph_args A = {(const float *)dp, (float *)dx, g};
  run(phase_task, &A, parts_for((long)g[0] * g[1] * g[2] * g[3] * 2));
}

/*
 * The strided 1×1 convolutions' copies (src/engine/kernels/conv.ts subsample / upsample), on
 * absolute addresses; g = {N, H, W, C, OH, OW, sh, sw}. Gather: y [N,OH,OW,C] = x[n, oh·sh, ow·sw]
 * (split over y's rows). Scatter: y [N,H,W,C] = x [N,OH,OW,C] at the strided pixels, zeros
 * elsewhere (split over y's rows). Copies only: the same bits at any thread count.
 */
typedef struct { const float *x; float *y; const int *g; } st_args;

static void strided_gather_task(const void *va, int part, int parts) {
  const st_args *A = va;
  const int *g = A->g;
  long H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], sh = g[6], sw = g[7], lo, hi;
  span((long)g[0] * OH, part, parts, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    const float *xr = A->x + ((r / OH) * H + (r % OH) * sh) * W * C;
    float *yr = A->y + r * OW * C;
    for (long ow = 0; ow < OW; ow++) memcpy(yr + ow * C, xr + ow * sw * C, sizeof(float) * C);
  }
}

static void strided_scatter_task(const void *va, int part, int parts) {
  const st_args *A = va;
  const int *g = A->g;
  long H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], sh = g[6], sw = g[7], lo, hi;
  span((long)g[0] * H, part, parts, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    long ih = r % H, oh = ih / sh;
    float *yr = A->y + r * W * C;
    if (ih % sh || oh >= OH) {
      memset(yr, 0, sizeof(float) * W * C);
      continue;
    }
    const float *xr = A->x + ((r / H) * OH + oh) * OW * C;
    for (long iw = 0; iw < W; iw++) {
      long ow = iw / sw;
      if (iw % sw || ow >= OW) memset(yr + iw * C, 0, sizeof(float) * C);
      else memcpy(yr + iw * C, xr + ow * C, sizeof(float) * C);
    }
  }
}

EXPORT void fm_strided_at(intptr_t x, intptr_t y, const int *g, int scatter) {
  st_args A = {(const float *)x, (float *)y, g};
  long n = (long)g[0] * (scatter ? g[1] * g[2] : g[4] * g[5]) * g[3];
  run(scatter ? strided_scatter_task : strided_gather_task, &A, parts_for(n * 2));
}

/*
 * Reverse of a 4-byte-element tensor of rank ≤ 4 (padded with leading 1s) along the flagged axes:
 * g = {shape[4], flip[4]}. Split over the rows of the first two axes.
 */
typedef struct { const uint32_t *x; uint32_t *y; const int *g; } rv_args;

static void reverse_task(const void *va, int part, int parts) {
  const rv_args *A = va;
  const int *g = A->g;
  long s1 = g[1], s2 = g[2], s3 = g[3], lo, hi;
  span((long)g[0] * s1, part, parts, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    long i0 = r / s1, i1 = r % s1;
    long j0 = g[4] ? g[0] - 1 - i0 : i0, j1 = g[5] ? s1 - 1 - i1 : i1;
    const uint32_t *xr = A->x + (j0 * s1 + j1) * s2 * s3;
    uint32_t *restrict yr = A->y + r * s2 * s3;
    for (long i2 = 0; i2 < s2; i2++) {
      const uint32_t *restrict xs = xr + (g[6] ? s2 - 1 - i2 : i2) * s3;
      uint32_t *restrict ys = yr + i2 * s3;
      if (g[7])
        for (long i3 = 0; i3 < s3; i3++) ys[i3] = xs[s3 - 1 - i3];
      else
        memcpy(ys, xs, 4 * s3);
    }
  }
}

EXPORT void fm_reverse4(char *base, u32 x, u32 y, u32 g) {
  const int *geo = (const int *)(base + g);
  rv_args A = {(const uint32_t *)(base + x), (uint32_t *)(base + y), geo};
  long rows = (long)geo[0] * geo[1];
  run(reverse_task, &A, rows >= 2 ? parts_for(rows * geo[2] * geo[3] * 2) : 1);
}

/*
 * Element-wise binary ops: y = a op b where a side is one value (mode 1: a, 2: b), the same shape
 * (0), or one row of C values repeated over the last axis (3: a, 4: b; n/C rows). op: 0 max, 1 min,
 * 2 div, 3 add, 4 sub, 5 mul. Max and min as std::max/std::min (the other operand kept when one
 * is NaN) except that a NaN in a propagates (wmax/wmin); non-NaN inputs give tfjs's results.
 */
typedef struct { const float *a, *b; float *y; long n; int op, mode, C; } bin_args;

#define BIN_LOOP(EXPR)                                                   \
  switch (A->mode) {                                                     \
    case 1:                                                              \
      for (long i = lo; i < hi; i++) {                                   \
        float u = a[0], w = b[i];                                        \
        y[i] = EXPR;                                                     \
      }                                                                  \
      break;                                                             \
    case 2:                                                              \
      for (long i = lo; i < hi; i++) {                                   \
        float u = a[i], w = b[0];                                        \
        y[i] = EXPR;                                                     \
      }                                                                  \
      break;                                                             \
    case 3:                                                              \
      for (long r = lo / C; r < hi / C; r++)                             \
        for (long c = 0; c < C; c++) {                                   \
          float u = a[c], w = b[r * C + c];                              \
          y[r * C + c] = EXPR;                                           \
        }                                                                \
      break;                                                             \
    case 4:                                                              \
      for (long r = lo / C; r < hi / C; r++)                             \
        for (long c = 0; c < C; c++) {                                   \
          float u = a[r * C + c], w = b[c];                              \
          y[r * C + c] = EXPR;                                           \
        }                                                                \
      break;                                                             \
    default:                                                             \
      for (long i = lo; i < hi; i++) {                                   \
        float u = a[i], w = b[i];                                        \
        y[i] = EXPR;                                                     \
      }                                                                  \
  }

static void bin_task(const void *v, int part, int parts) {
  const bin_args *A = v;
  long lo, hi, C = A->C;
  /* row modes split at whole rows */
  span(A->mode >= 3 ? A->n / C : A->n, part, parts, A->mode >= 3 ? 1 : 64, &lo, &hi);
  if (A->mode >= 3) {
    lo *= C;
    hi *= C;
  }
  const float *restrict a = A->a, *restrict b = A->b;
  float *restrict y = A->y;
  switch (A->op) {
    case 0: BIN_LOOP(wmax(u, w)); break;
    case 1: BIN_LOOP(wmin(u, w)); break;
    case 2: BIN_LOOP(u / w); break;
    case 3: BIN_LOOP(u + w); break;
    case 4: BIN_LOOP(u - w); break;
    default: BIN_LOOP(u * w); break;
  }
}

EXPORT void fm_binary(char *base, int op, u32 a, u32 b, u32 y, int n, int mode, int C) {
  bin_args A = {F(a), F(b), F(y), n, op, mode, C < 1 ? 1 : C};
  run(bin_task, &A, parts_for(n * 3L));
}

/* y = max(x, 0) */
typedef struct { const float *x; float *y; long n; } un_args;
static void relu_task(const void *v, int part, int parts) {
  const un_args *A = v;
  long lo, hi;
  span(A->n, part, parts, 64, &lo, &hi);
  const float *restrict x = A->x;
  float *restrict y = A->y;
  for (long i = lo; i < hi; i++) y[i] = relu1(x[i]);
}

EXPORT void fm_relu(char *base, u32 x, u32 y, int n) {
  un_args A = {F(x), F(y), n};
  run(relu_task, &A, parts_for(n * 2L));
}

/* cblas_sgemm of the BLAS the engine loaded (fm_use_blas), or none */
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
static sgemm_fn sgemm = 0;

/*
 * Multi-head attention per batch item and head (src/engine/kernels/attention.ts has the maths):
 * q, k, v, o [B, T, H·d]; S = s·Q·Kᵀ, P = softmax(S), O = P·V, and the gradient recomputing P.
 * Short rows (T < ATT_ROWS, the MAE encoder's 13 tokens): dot products in 8 interleaved partial
 * sums and row updates (y += a·x), vectorized by the compiler without reassociating a sum; long
 * rows (the decoder's 50): one single-threaded BLAS call per product, as the JS path makes them.
 * Split over the B·H (item, head) pairs, each computed alone: any thread count gives the same bits.
 */
typedef struct {
  const float *q, *k, *v, *dy;
  float *o, *dq, *dk, *dv;
  int B, T, D, H;
  float scale;
} att_args;

static inline void axpy(float *restrict y, const float *restrict x, float a, int n) {
  for (int i = 0; i < n; i++) y[i] = y[i] + a * x[i];
}

/* Σ a·b in 8 interleaved partial sums (vectorized without reassociating across them) */
static inline float dot8(const float *restrict a, const float *restrict b, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int l = 0;
  for (; l + 8 <= n; l += 8)
    for (int t = 0; t < 8; t++) acc[t] = acc[t] + a[l + t] * b[l + t];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; l < n; l++) s += a[l] * b[l];
  return s;
}

/* Long rows without a BLAS: Q·Kᵀ and dO·Vᵀ as row updates over K, V transposed into scratch (a
   dot product per pair costs a horizontal sum each); short rows: dot products. */
#define ATT_ROWS 24

/* out [T,T] = A·Bᵀ of one head's [T,d] rows (stride D); bt: [d,T] scratch for long rows */
static void att_abt(const float *a, const float *b, float *restrict out, float *restrict bt, int T, int D, int d) {
  if (T < ATT_ROWS) {
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++) out[(long)i * T + j] = dot8(a + (long)i * D, b + (long)j * D, d);
    return;
  }
  for (int j = 0; j < T; j++)
    for (int l = 0; l < d; l++) bt[l * T + j] = b[(long)j * D + l];
  for (int i = 0; i < T; i++) {
    float *restrict row = out + (long)i * T;
    for (int j = 0; j < T; j++) row[j] = 0.0f;
    for (int l = 0; l < d; l++) axpy(row, bt + l * T, a[(long)i * D + l], T);
  }
}

static void softmax_rows(float *P, int T);

/* P [T,T] = softmax(s·Q·Kᵀ) of one head */
static void att_probs(const float *q, const float *k, float *restrict P, float *restrict bt, int T, int D, int d,
                      float scale) {
  att_abt(q, k, P, bt, T, D, d);
  for (long i = 0; i < (long)T * T; i++) P[i] = scale * P[i];
  softmax_rows(P, T);
}

/* softmax of each row of P [T,T] in place */
static void softmax_rows(float *P, int T) {
  for (int i = 0; i < T; i++) {
    float *restrict row = P + (long)i * T;
    float m = -3.4e38f;
    for (int j = 0; j < T; j++) m = row[j] > m ? row[j] : m;
    float sum = 0.0f;
    for (int j = 0; j < T; j++) {
      row[j] = expf_(row[j] - m);
      sum += row[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < T; j++) row[j] = row[j] * inv;
  }
}

/* One (item, head) with long rows by single-threaded BLAS calls (as the JS path, on this thread). */
static void att_blas(const att_args *A, long off, float *P, float *dP) {
  int T = A->T, D = A->D, d = D / A->H;
  const float *q = A->q + off, *k = A->k + off, *v = A->v + off;
  float s = A->scale;
  sgemm(101, 111, 112, T, T, d, s, q, D, k, D, 0.0f, P, T);
  softmax_rows(P, T);
  if (!A->dy) {
    sgemm(101, 111, 111, T, d, T, 1.0f, P, T, v, D, 0.0f, A->o + off, D);
    return;
  }
  const float *dO = A->dy + off;
  sgemm(101, 112, 111, T, d, T, 1.0f, P, T, dO, D, 0.0f, A->dv + off, D);
  sgemm(101, 111, 112, T, T, d, 1.0f, dO, D, v, D, 0.0f, dP, T);
  for (int i = 0; i < T; i++) {
    float *restrict dpi = dP + (long)i * T;
    const float *restrict Pi = P + (long)i * T;
    float dot = 0.0f;
    for (int j = 0; j < T; j++) dot += dpi[j] * Pi[j];
    for (int j = 0; j < T; j++) dpi[j] = Pi[j] * (dpi[j] - dot);
  }
  sgemm(101, 111, 111, T, d, T, s, dP, T, k, D, 0.0f, A->dq + off, D);
  sgemm(101, 112, 111, T, d, T, s, dP, T, q, D, 0.0f, A->dk + off, D);
}

static void att_task(const void *va, int part, int parts) {
  const att_args *A = va;
  int T = A->T, D = A->D, H = A->H, d = D / H;
  long lo, hi;
  span((long)A->B * H, part, parts, 1, &lo, &hi);
  if (hi <= lo) return;
  float *scratch = malloc(sizeof(float) * ((long)T * T * 2 + (long)d * T));
  if (!scratch) return;
  float *P = scratch, *dP = P + (long)T * T, *bt = dP + (long)T * T;
  for (long bh = lo; bh < hi; bh++) {
    long off = (bh / H) * T * D + (bh % H) * d;
    const float *q = A->q + off, *k = A->k + off, *v = A->v + off;
    if (T >= ATT_ROWS && sgemm) {
      att_blas(A, off, P, dP);
      continue;
    }
    att_probs(q, k, P, bt, T, D, d, A->scale);
    if (!A->dy) {
      for (int i = 0; i < T; i++) {
        float *restrict o = A->o + off + (long)i * D;
        for (int l = 0; l < d; l++) o[l] = 0.0f;
        for (int j = 0; j < T; j++) axpy(o, v + (long)j * D, P[(long)i * T + j], d);
      }
      continue;
    }
    const float *dO = A->dy + off;
    float *dq = A->dq + off, *dk = A->dk + off, *dv = A->dv + off;
    for (int i = 0; i < T; i++)
      for (int l = 0; l < d; l++) dq[(long)i * D + l] = dk[(long)i * D + l] = dv[(long)i * D + l] = 0.0f;
    att_abt(dO, v, dP, bt, T, D, d); /* dP = dO·Vᵀ */
    for (int i = 0; i < T; i++) {
      const float *Pi = P + (long)i * T, *dOi = dO + (long)i * D;
      float *restrict dpi = dP + (long)i * T;
      /* dV += Pᵀ·dO; dS = P ⊙ (dP − rowsum(dP ⊙ P)) */
      float dot = 0.0f;
      for (int j = 0; j < T; j++) {
        axpy(dv + (long)j * D, dOi, Pi[j], d);
        dot += dpi[j] * Pi[j];
      }
      /* dQ = s·dS·K; dK = s·dSᵀ·Q */
      for (int j = 0; j < T; j++) {
        float g = A->scale * (Pi[j] * (dpi[j] - dot));
        axpy(dq + (long)i * D, k + (long)j * D, g, d);
        axpy(dk + (long)j * D, q + (long)i * D, g, d);
      }
    }
  }
  free(scratch);
}

EXPORT void fm_attention(char *base, u32 q, u32 k, u32 v, u32 o, int B, int T, int D, int H, float scale) {
  att_args A = {.q = F(q), .k = F(k), .v = F(v), .o = F(o), .B = B, .T = T, .D = D, .H = H, .scale = scale};
  run(att_task, &A, parts_for((long)B * T * T * D * 2));
}

EXPORT void fm_attention_grad(char *base, u32 dy, u32 q, u32 k, u32 v, u32 dq, u32 dk, u32 dv, int B, int T, int D,
                              int H, float scale) {
  att_args A = {.q = F(q), .k = F(k), .v = F(v), .dy = F(dy), .dq = F(dq), .dk = F(dk), .dv = F(dv), .B = B, .T = T,
                .D = D, .H = H, .scale = scale};
  run(att_task, &A, parts_for((long)B * T * T * D * 5));
}

/* ---- GEMM split by rows over the threads, each part one single-threaded cblas_sgemm ---- */


EXPORT int fm_use_blas(const char *library) {
  void *h = dlopen(library, RTLD_NOW | RTLD_NOLOAD);
  if (!h) h = dlopen(library, RTLD_NOW);
  sgemm = h ? (sgemm_fn)dlsym(h, "cblas_sgemm") : 0;
  return sgemm != 0;
}

typedef struct {
  int ta, tb, m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b;
  float *c;
} gemm_args;

static void gemm_task(const void *v, int part, int parts) {
  const gemm_args *G = v;
  long lo, hi;
  span(G->m, part, parts, 16, &lo, &hi);
  if (hi <= lo) return;
  const float *a = G->ta ? G->a + lo : G->a + lo * G->lda;
  sgemm(101, G->ta ? 112 : 111, G->tb ? 112 : 111, (int)(hi - lo), G->n, G->k, G->alpha, a, G->lda, G->b, G->ldb,
        G->beta, G->c + lo * G->ldc, G->ldc);
}

/* Row-major C = alpha·op(A)·op(B) + beta·C on parts threads (the BLAS itself set to one thread). */
EXPORT void fm_sgemm_rows(int ta, int tb, int m, int n, int k, float alpha, intptr_t a, int lda, intptr_t b,
                          int ldb, float beta, intptr_t c, int ldc, int parts) {
  gemm_args G = {ta, tb, m, n, k, lda, ldb, ldc, alpha, beta, (const float *)a, (const float *)b, (float *)c};
  run(gemm_task, &G, parts);
}

/*
 * C = alpha·op(A)·op(B) + beta·C with K cut into pieces of kpart (fixed by the caller, not by the
 * threads): each piece one single-threaded cblas_sgemm into its own [m,n] buffer, the pieces spread
 * over the threads, then added into C in piece order. For the convolutions' filter gradients (m·n
 * small, K the batch's pixels), which neither a row split nor OpenBLAS's threads cut well; any
 * thread count gives the same bits. Returns 0 (nothing done) without a BLAS or memory.
 */
typedef struct {
  int ta, tb, m, n, k, lda, ldb, kpart;
  float alpha;
  const float *a, *b;
  float *t;
} ksum_args;

static void ksum_task(const void *v, int part, int parts) {
  const ksum_args *G = v;
  long pieces = (G->k + (long)G->kpart - 1) / G->kpart, lo, hi;
  span(pieces, part, parts, 1, &lo, &hi);
  for (long p = lo; p < hi; p++) {
    long k0 = p * G->kpart;
    int kp = (int)(G->k - k0 < G->kpart ? G->k - k0 : G->kpart);
    const float *a = G->ta ? G->a + k0 * G->lda : G->a + k0;
    const float *b = G->tb ? G->b + k0 : G->b + k0 * G->ldb;
    sgemm(101, G->ta ? 112 : 111, G->tb ? 112 : 111, G->m, G->n, kp, G->alpha, a, G->lda, b, G->ldb, 0.0f,
          G->t + p * (long)G->m * G->n, G->n);
  }
}

EXPORT int fm_sgemm_ksum(int ta, int tb, int m, int n, int k, float alpha, intptr_t a, int lda, intptr_t b, int ldb,
                         float beta, intptr_t c, int ldc, int kpart) {
  if (!sgemm || kpart < 1 || k < 1) return 0;
  long pieces = (k + (long)kpart - 1) / kpart;
  float *t = malloc(sizeof(float) * pieces * m * n);
  if (!t) return 0;
  ksum_args G = {ta, tb, m, n, k, lda, ldb, kpart, alpha, (const float *)a, (const float *)b, t};
  run(ksum_task, &G, (int)(pieces < threads ? pieces : threads));
  float *C = (float *)c;
  for (long i = 0; i < m; i++)
    for (long j = 0; j < n; j++) {
      float s = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
      for (long p = 0; p < pieces; p++) s = s + t[(p * m + i) * n + j];
      C[i * ldc + j] = s;
    }
  free(t);
  return 1;
}
`;
