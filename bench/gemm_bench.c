// One kiln matrix product beside cblas_sgemm on the same shape, GFLOP/s of
// each (median of repetitions). Built by bench/gemm_bench.py, which compiles
// each shape of KILN_GEMM_SHAPES (a generated header) with kiln-opt into a
// function `void kiln_gemm_<i>(float *a, float *b, float *c, float *tmp)`
// computing C = op(A) x op(B) the way the models' step does, op a transpose
// where the shape says so (A stored k x m, B stored n x k); tmp is scratch
// for the form that materialises the transpose first. Times are the calling
// thread's CPU time.
#include <cblas.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include KILN_GEMM_SHAPES // SHAPE(name, m, k, n, transA, transB), i = 0, 1...

typedef void (*KilnGemm)(float *, float *, float *, float *);

#define SHAPE(name, m, k, n, ta, tb) void kiln_gemm_##name(float *, float *, float *, float *);
KILN_GEMM_SHAPE_LIST
#undef SHAPE

struct Shape {
  const char *name;
  int m, k, n, transA, transB;
  KilnGemm kiln;
};

static const struct Shape kShapes[] = {
#define SHAPE(name, m, k, n, ta, tb) {#name, m, k, n, ta, tb, kiln_gemm_##name},
    KILN_GEMM_SHAPE_LIST
#undef SHAPE
};

/// CPU time of this thread (both libraries run on it alone): on a shared
/// machine, time while another process holds the core does not count.
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int compareDoubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static float *randomMatrix(size_t count, unsigned *seed) {
  float *p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
  for (size_t i = 0; i < count; ++i) {
    *seed = *seed * 1664525u + 1013904223u;
    p[i] = (float)((*seed >> 8) & 0xffff) / 65536.0f - 0.5f;
  }
  return p;
}

/// Median seconds of `reps` calls after a warm-up call.
static double timeKiln(const struct Shape *s, float *a, float *b, float *c,
                       float *tmp, int reps) {
  double *t = malloc(sizeof(double) * reps);
  s->kiln(a, b, c, tmp);
  for (int r = 0; r < reps; ++r) {
    double start = now();
    s->kiln(a, b, c, tmp);
    t[r] = now() - start;
  }
  qsort(t, reps, sizeof(double), compareDoubles);
  double median = t[reps / 2];
  free(t);
  return median;
}

static void blas(const struct Shape *s, const float *a, const float *b,
                 float *c) {
  cblas_sgemm(CblasRowMajor, s->transA ? CblasTrans : CblasNoTrans,
              s->transB ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f,
              a, s->transA ? s->m : s->k, b, s->transB ? s->k : s->n, 0.0f, c,
              s->n);
}

static double timeBlas(const struct Shape *s, const float *a, const float *b,
                       float *c, int reps) {
  double *t = malloc(sizeof(double) * reps);
  blas(s, a, b, c);
  for (int r = 0; r < reps; ++r) {
    double start = now();
    blas(s, a, b, c);
    t[r] = now() - start;
  }
  qsort(t, reps, sizeof(double), compareDoubles);
  double median = t[reps / 2];
  free(t);
  return median;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 0.2; // per shape and library
  openblas_set_num_threads(1);
  printf("%-10s %5s %5s %5s %3s %3s %10s %10s %8s %9s\n", "shape", "m", "k",
         "n", "tA", "tB", "kiln GF/s", "blas GF/s", "kiln/bl", "max rel");
  unsigned seed = 1;
  for (size_t i = 0; i < sizeof(kShapes) / sizeof(kShapes[0]); ++i) {
    const struct Shape *s = &kShapes[i];
    size_t m = s->m, k = s->k, n = s->n;
    float *a = randomMatrix(m * k, &seed), *b = randomMatrix(k * n, &seed);
    float *c = randomMatrix(m * n, &seed), *ref = randomMatrix(m * n, &seed);
    float *tmp = randomMatrix(m * k > k * n ? m * k : k * n, &seed);
    blas(s, a, b, ref);
    s->kiln(a, b, c, tmp);
    // Sums of k products of values in [-0.5, 0.5): relative to the sum of
    // magnitudes, the rounding of either library stays near k * 2^-24.
    double maxRelative = 0;
    for (size_t e = 0; e < m * n; ++e) {
      double d = fabs((double)c[e] - ref[e]) / (fabs(ref[e]) + 1e-3);
      maxRelative = d > maxRelative ? d : maxRelative;
    }
    double flops = 2.0 * m * k * n;
    int reps = (int)(seconds / (flops / 50e9)) + 3;
    double kilnTime = timeKiln(s, a, b, c, tmp, reps);
    double blasTime = timeBlas(s, a, b, ref, reps);
    printf("%-10s %5d %5d %5d %3d %3d %10.1f %10.1f %8.2f %9.1e\n", s->name,
           s->m, s->k, s->n, s->transA, s->transB, flops / kilnTime * 1e-9,
           flops / blasTime * 1e-9, blasTime / kilnTime, maxRelative);
    fflush(stdout);
    free(a), free(b), free(c), free(ref), free(tmp);
  }
  return 0;
}
