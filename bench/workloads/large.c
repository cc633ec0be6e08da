/* large — big blocks allocated, filled and freed over and over (after
 * mimalloc-bench's malloc-large): image buffers, file contents, decoded
 * frames.
 *
 * Keeps LIVE slots (default 4).  An operation frees the block in the next
 * slot and allocates a new one of 64 KiB - 32 MiB (log-uniform, so as many
 * blocks of 64-128 KiB as of 16-32 MiB; ~5 MiB on average), writes all of
 * it (memset) and reads one byte of each 4 KiB page back.
 *
 * Page faults are what this measures: an allocator that unmaps (or
 * MADV_DONTNEEDs) a freed block and maps fresh memory for the next one
 * pays a minor fault per 4 KiB page (~1.5-3 us each, against ~0.3 us to
 * write the page); one that keeps freed blocks mapped for reuse pays only
 * the writes, and holds more memory.
 *
 * Fixed work: OPS blocks.
 *
 *   large OPS [LIVE=4] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "rng.h"
#include "speed.h"

int main(int argc, char **argv) {
  long ops = speed_arg(argc, argv, 1, 600);
  long live = speed_arg(argc, argv, 2, 4);
  if (ops < 0 || live < 1) {
    fprintf(stderr, "usage: large OPS [LIVE]\n");
    return 1;
  }
  bench_start("large");
  unsigned char **slots = speed_check(calloc((size_t)live, sizeof *slots), 1);
  rng_t rng = rng_seeded(0x1a76eb10c5ull);
  uint64_t digest = 0, bytes = 0;
  double t0 = bench_now();
  for (long i = 0; i < ops; i++) {
    unsigned char **slot = &slots[i % live];
    free(*slot);
    size_t size = rng_log_uniform(&rng, 64 << 10, 32 << 20);
    unsigned char *p = speed_check(malloc(size), size);
    memset(p, (int)(i & 0xff), size);
    uint64_t sum = 0;
    for (size_t off = 0; off < size; off += 4096) sum += p[off];
    digest += size + sum;
    bytes += size;
    *slot = p;
  }
  for (long s = 0; s < live; s++) free(slots[s]);
  double wall = bench_now() - t0;
  free(slots);
  bench_result_f64("wall_s", wall);
  bench_result_u64("ops", (uint64_t)ops);
  bench_result_u64("bytes", bytes);
  bench_result_u64("checksum", digest);
  return 0;
}
