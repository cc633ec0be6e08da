/* Small helpers shared by the speed workloads (bench/speed).
 *
 * The speed programs time the allocator, not bookkeeping: unlike the
 * footprint workloads they call malloc/free directly (no byte counting),
 * and each prints
 *
 *   RESULT wall_s=...     its own wall time for the fixed work
 *   RESULT ops=...        how much work that was
 *   RESULT checksum=...   a digest of the request sequence, which the driver
 *                         compares across allocators: same number = same work
 *
 * A NULL from malloc ends the program with exit status 2. */
#ifndef BENCH_SPEED_H
#define BENCH_SPEED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline void *speed_check(void *p, size_t size) {
  if (!p && size) {
    fprintf(stderr, "bench: out of memory allocating %zu bytes\n", size);
    exit(2);
  }
  return p;
}

/* Keeps the compiler from proving a malloc/free pair useless. */
static inline void speed_escape(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

/* Order-independent mixing of per-thread digests. */
static inline uint64_t speed_mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

static inline long speed_arg(int argc, char **argv, int i, long fallback) {
  return argc > i ? atol(argv[i]) : fallback;
}

#endif
