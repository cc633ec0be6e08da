/* Deterministic pseudo-random numbers for the workloads.
 *
 * Every workload seeds its own generator with a fixed value so that each
 * allocator gets exactly the same sequence of requests; libc's rand() would
 * make that depend on the C library and on hidden shared state. */
#ifndef BENCH_RNG_H
#define BENCH_RNG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t state; } rng_t;

/* splitmix64: one word of state, good enough statistics, cheap. */
static inline uint64_t rng_next(rng_t *r) {
  uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline rng_t rng_seeded(uint64_t seed) {
  rng_t r = {seed};
  return r;
}

/* Uniform in [0, 1). */
static inline double rng_unit(rng_t *r) {
  return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [lo, hi]. */
static inline uint64_t rng_range(rng_t *r, uint64_t lo, uint64_t hi) {
  return lo + rng_next(r) % (hi - lo + 1);
}

/* True with probability p. */
static inline int rng_chance(rng_t *r, double p) { return rng_unit(r) < p; }

/* Log-uniform in [lo, hi]: as many blocks of 1-2 KiB as of 32-64 KiB, which
 * is closer to real size histograms than a flat distribution. */
static inline size_t rng_log_uniform(rng_t *r, size_t lo, size_t hi) {
  double l = log((double)lo), h = log((double)hi);
  size_t v = (size_t)exp(l + (h - l) * rng_unit(r));
  return v < lo ? lo : v > hi ? hi : v;
}

#endif
