/* small — single-thread small-object churn (the shape of cfrac and
 * espresso in the allocator literature: bignums, cubes, list cells).
 *
 * Each operation allocates one object and writes it (all of it up to 128
 * bytes, the first 64 bytes of larger ones).  Sizes:
 *   16 B 22%, 24 B 14%, 32 B 20%, 40-48 B 12%, 56-64 B 11%, 72-128 B 14%,
 *   129-512 B 6%, 513-4096 B 1%
 * Lifetimes:
 *   86% short — into a pool of 64 slots, replacing a random one (so they
 *       live ~64 allocations: temporaries of an expression);
 *   12% medium — a pool of 4096 slots (intermediate results);
 *    2% long — a pool of 32768 slots that fills up over the run and is
 *       replaced at random once full (the long-lived data, ~2 MiB).
 * Every so often (1 in 512) the short pool is flushed at once, as a
 * function returning drops its temporaries.  Everything is freed at the end.
 *
 * Fixed work: OPS allocations (and as many frees).  OPS=0 does nothing
 * but start up and exit: the baseline for instruction counts.
 *
 *   small OPS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "rng.h"
#include "speed.h"

enum { SHORT = 64, MEDIUM = 4096, LONG = 32768 };

static void *short_pool[SHORT], *medium_pool[MEDIUM], *long_pool[LONG];
static long long_used;

static size_t random_size(rng_t *r) {
  uint64_t u = rng_next(r) % 1000;
  if (u < 220) return 16;
  if (u < 360) return 24;
  if (u < 560) return 32;
  if (u < 680) return 40 + 8 * (rng_next(r) & 1);
  if (u < 790) return 56 + 8 * (rng_next(r) & 1);
  if (u < 930) return rng_range(r, 9, 16) * 8;
  if (u < 990) return rng_range(r, 129, 512);
  return rng_range(r, 513, 4096);
}

static void *fresh(rng_t *r, uint64_t *digest) {
  size_t size = random_size(r);
  unsigned char *p = speed_check(malloc(size), size);
  memset(p, (int)(size & 0xff), size <= 128 ? size : 64);
  *digest += size;
  return p;
}

int main(int argc, char **argv) {
  long ops = speed_arg(argc, argv, 1, 30000000);
  if (ops < 0) {
    fprintf(stderr, "usage: small OPS\n");
    return 1;
  }
  bench_start("small");
  rng_t rng = rng_seeded(0xcf7ac000u);
  uint64_t digest = 0;
  double t0 = bench_now();
  for (long i = 0; i < ops; i++) {
    uint64_t u = rng_next(&rng) % 100;
    void **slot;
    if (u < 86) {
      slot = &short_pool[rng_next(&rng) % SHORT];
    } else if (u < 98) {
      slot = &medium_pool[rng_next(&rng) % MEDIUM];
    } else if (long_used < LONG) {
      slot = &long_pool[long_used++];
    } else {
      slot = &long_pool[rng_next(&rng) % LONG];
    }
    free(*slot);
    *slot = fresh(&rng, &digest);
    if ((i & 511) == 511) {
      for (int s = 0; s < SHORT; s++) {
        free(short_pool[s]);
        short_pool[s] = NULL;
      }
    }
  }
  for (int s = 0; s < SHORT; s++) free(short_pool[s]);
  for (int s = 0; s < MEDIUM; s++) free(medium_pool[s]);
  for (long s = 0; s < long_used; s++) free(long_pool[s]);
  double wall = bench_now() - t0;
  bench_result_f64("wall_s", wall);
  bench_result_u64("ops", (uint64_t)ops);
  bench_result_u64("checksum", digest);
  return 0;
}
