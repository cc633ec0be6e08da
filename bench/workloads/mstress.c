/* mstress — threads come and go while objects outlive them (after
 * mimalloc-bench's mstress).
 *
 * ROUNDS rounds; each round creates T threads and joins them.  A thread
 * works on LOCAL private slots: OPS times it replaces the block in a random
 * slot by a new one (sizes mostly 16-512 bytes, 10% up to 8 KiB, 0.5% up
 * to 256 KiB; the first bytes written).  Before it exits it moves every
 * 4th block into a shared table of survivors, freeing the survivor it
 * displaces, and frees the rest.  Thread t of round r uses stripe
 * (t + r) % T of that table, so the survivor it frees was allocated by a
 * thread of an earlier round — one that has exited: its pages were
 * abandoned and must be taken over or given back.  main frees the last
 * survivors at the end.
 *
 * Fixed work: ROUNDS x T threads x OPS replacements.
 *
 *   mstress T ROUNDS OPS [LOCAL=2000] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "rng.h"
#include "speed.h"

typedef struct {
  int id, round;
  pthread_t thread;
  uint64_t digest;
} worker_t;

static int n_threads, n_rounds;
static long ops, n_local;
static void **survivors; /* n_threads stripes of n_local / 4 */

static size_t random_size(rng_t *r) {
  double u = rng_unit(r);
  if (u < 0.895) return rng_log_uniform(r, 16, 512);
  if (u < 0.995) return rng_log_uniform(r, 512, 8 << 10);
  return rng_log_uniform(r, 8 << 10, 256 << 10);
}

static void *fresh(rng_t *r, uint64_t *digest) {
  size_t size = random_size(r);
  char *p = speed_check(malloc(size), size);
  memset(p, (int)size, size < 64 ? size : 64);
  *digest += size;
  return p;
}

static void *work(void *arg) {
  worker_t *self = arg;
  rng_t rng = rng_seeded(0x357e5500000ull + (uint64_t)self->round * 131u + (uint64_t)self->id);
  uint64_t digest = 0;
  void **local = speed_check(malloc((size_t)n_local * sizeof *local), 1);
  for (long s = 0; s < n_local; s++) local[s] = fresh(&rng, &digest);
  for (long i = 0; i < ops; i++) {
    long s = (long)(rng_next(&rng) % (uint64_t)n_local);
    free(local[s]);
    local[s] = fresh(&rng, &digest);
  }
  long stripe_len = n_local / 4;
  void **stripe = survivors + (size_t)((self->id + self->round) % n_threads) * (size_t)stripe_len;
  for (long s = 0; s < n_local; s++) {
    if (s % 4 == 0 && s / 4 < stripe_len) {
      free(stripe[s / 4]); /* allocated by a thread of an earlier round */
      stripe[s / 4] = local[s];
    } else {
      free(local[s]);
    }
  }
  free(local);
  self->digest = digest;
  return NULL;
}

int main(int argc, char **argv) {
  n_threads = (int)speed_arg(argc, argv, 1, 2);
  n_rounds = (int)speed_arg(argc, argv, 2, 50);
  ops = speed_arg(argc, argv, 3, 50000);
  n_local = speed_arg(argc, argv, 4, 2000);
  if (n_threads < 1 || n_rounds < 0 || ops < 0 || n_local < 4) {
    fprintf(stderr, "usage: mstress T ROUNDS OPS [LOCAL]\n");
    return 1;
  }
  bench_start("mstress");
  size_t n_survivors = (size_t)n_threads * (size_t)(n_local / 4);
  survivors = speed_check(calloc(n_survivors, sizeof *survivors), 1);
  worker_t *workers = speed_check(calloc((size_t)n_threads, sizeof *workers), 1);

  double t0 = bench_now();
  uint64_t digest = 0;
  for (int r = 0; r < n_rounds; r++) {
    for (int t = 0; t < n_threads; t++) {
      workers[t].id = t;
      workers[t].round = r;
      if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) abort();
    }
    for (int t = 0; t < n_threads; t++) {
      pthread_join(workers[t].thread, NULL);
      digest = speed_mix(digest, workers[t].digest);
    }
  }
  for (size_t i = 0; i < n_survivors; i++) free(survivors[i]);
  double wall = bench_now() - t0;

  free(survivors);
  free(workers);
  bench_result_f64("wall_s", wall);
  bench_result_u64("ops", (uint64_t)n_rounds * (uint64_t)n_threads * (uint64_t)ops);
  bench_result_u64("checksum", digest);
  return 0;
}
