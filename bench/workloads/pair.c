/* pair — the malloc/free fast path, for instruction counts (callgrind).
 *
 * ITER times: allocate 64 blocks of 16-128 bytes (a fixed mix of sizes,
 * every multiple of 8 from 16 to 128 several times over), then free
 * them — in allocation order on even iterations, in reverse on odd ones.
 * ITER x 64 malloc+free pairs.  Nothing else happens in the loop, so
 *
 *     (Ir(ITER) - Ir(0)) / (ITER x 64)
 *
 * is the instructions one malloc plus one free take, plus ~5 of loop and
 * store.  ITER=0 starts up and exits: the baseline that takes the loader,
 * the allocator's initialisation and exit out of the count.
 *
 *   pair ITER */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"
#include "speed.h"

enum { BLOCKS = 64 };

int main(int argc, char **argv) {
  long iterations = speed_arg(argc, argv, 1, 1000000);
  if (iterations < 0) {
    fprintf(stderr, "usage: pair ITER\n");
    return 1;
  }
  bench_start("pair");
  size_t sizes[BLOCKS];
  uint64_t digest = 0;
  for (int k = 0; k < BLOCKS; k++) sizes[k] = 16 + (size_t)((k * 5) % 15) * 8; /* 16..128 */
  void *blocks[BLOCKS];
  double t0 = bench_now();
  for (long i = 0; i < iterations; i++) {
    for (int k = 0; k < BLOCKS; k++) {
      blocks[k] = malloc(sizes[k]);
      speed_escape(blocks[k]);
    }
    if (!blocks[0] || !blocks[BLOCKS - 1]) speed_check(NULL, 1);
    if (i & 1)
      for (int k = BLOCKS - 1; k >= 0; k--) free(blocks[k]);
    else
      for (int k = 0; k < BLOCKS; k++) free(blocks[k]);
  }
  double wall = bench_now() - t0;
  for (int k = 0; k < BLOCKS; k++) digest += sizes[k];
  bench_result_f64("wall_s", wall);
  bench_result_u64("ops", (uint64_t)iterations * BLOCKS);
  bench_result_u64("checksum", digest * (uint64_t)iterations);
  return 0;
}
