/* neighbours — one size class only grows while the next one up churns:
 * the worst case for any policy that lets a class take blocks or memory
 * from its neighbour (a kept block of the growing class is allocated just
 * after the neighbour has freed some).  Not part of bench/speed's suite,
 * whose shapes the allocator literature fixes: a check to run before and
 * after such a change, under crowd and its peers.
 *
 * Each operation frees BATCH random blocks of a POOL of SIZE_NEXT-byte
 * blocks, allocates one SIZE-byte block and keeps it, then refills the
 * pool.  The first 64 bytes of every block are written.
 *
 * Fixed work: OPS operations (OPS blocks kept at the end).
 *
 *   neighbours OPS [SIZE=300] [SIZE_NEXT=330] [POOL=256] [BATCH=4] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "rng.h"
#include "speed.h"

enum { MAX_BATCH = 64 };

int main(int argc, char **argv) {
  long ops = speed_arg(argc, argv, 1, 1000000);
  size_t size = (size_t)speed_arg(argc, argv, 2, 300);
  size_t size_next = (size_t)speed_arg(argc, argv, 3, 330);
  long pool_size = speed_arg(argc, argv, 4, 256);
  long batch = speed_arg(argc, argv, 5, 4);
  if (ops < 0 || size == 0 || size_next == 0 || pool_size < 1 || batch < 1 || batch > MAX_BATCH) {
    fprintf(stderr, "usage: neighbours OPS [SIZE] [SIZE_NEXT] [POOL] [BATCH<=%d]\n", MAX_BATCH);
    return 1;
  }
  bench_start("neighbours");
  char **pool = speed_check(calloc((size_t)pool_size, sizeof *pool), 1);
  char **kept = speed_check(malloc((size_t)(ops ? ops : 1) * sizeof *kept), 1);
  size_t touch = 64;
  for (long i = 0; i < pool_size; i++) {
    pool[i] = speed_check(malloc(size_next), size_next);
    memset(pool[i], 2, size_next < touch ? size_next : touch);
  }
  rng_t rng = rng_seeded(0x6e656967u);
  uint64_t digest = 0;
  long picked[MAX_BATCH];
  double t0 = bench_now();
  for (long i = 0; i < ops; i++) {
    for (long b = 0; b < batch; b++) {
      long slot = (long)(rng_next(&rng) % (uint64_t)pool_size);
      picked[b] = slot;
      free(pool[slot]);
      pool[slot] = NULL;
    }
    kept[i] = speed_check(malloc(size), size);
    memset(kept[i], 1, size < touch ? size : touch);
    digest += size;
    for (long b = 0; b < batch; b++) {
      long slot = picked[b];
      if (pool[slot]) continue; /* picked twice */
      pool[slot] = speed_check(malloc(size_next), size_next);
      memset(pool[slot], 2, size_next < touch ? size_next : touch);
      digest += size_next;
    }
  }
  double wall = bench_now() - t0;
  for (long i = 0; i < ops; i++) free(kept[i]);
  for (long i = 0; i < pool_size; i++) free(pool[i]);
  free(kept);
  free(pool);
  bench_result_f64("wall_s", wall);
  bench_result_u64("ops", (uint64_t)ops);
  bench_result_u64("checksum", digest);
  return 0;
}
