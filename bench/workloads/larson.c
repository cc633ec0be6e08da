/* larson — a server "bleeding" memory between threads (after Larson &
 * Krishnan's benchmark, as in mimalloc-bench).
 *
 * T threads each own an array of SLOTS blocks of 16-1000 bytes (uniform,
 * as Larson's).  An operation picks a random slot, frees its block and puts
 * a new one of random size there (writing its first and last bytes).  The
 * work is cut into ROUNDS; between rounds the arrays move on to the next
 * thread (array a goes to thread a+1), so every round starts by freeing
 * blocks that another thread allocated — the original benchmark hands the
 * array to a freshly created thread instead; mstress covers thread
 * creation.  With T=1 the array stays with its only thread.
 *
 * Fixed work: OPS operations per thread, whatever the speed.
 *
 *   larson T OPS [SLOTS=1000] [ROUNDS=10] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"
#include "rng.h"
#include "speed.h"

enum { MIN_SIZE = 16, MAX_SIZE = 1000 };

typedef struct {
  int id;
  pthread_t thread;
  uint64_t digest;
  char pad[64];
} worker_t;

static int n_threads, n_rounds;
static long ops_per_round, slots_per_array;
static char ***arrays; /* arrays[a][s] */
static pthread_barrier_t round_barrier;

static void *work(void *arg) {
  worker_t *self = arg;
  uint64_t digest = 0;
  /* Round 0: fill this thread's own array. */
  rng_t rng = rng_seeded(0x1a550000u + (uint64_t)self->id);
  char **mine = arrays[self->id];
  for (long s = 0; s < slots_per_array; s++) {
    size_t size = rng_range(&rng, MIN_SIZE, MAX_SIZE);
    char *p = speed_check(malloc(size), size);
    p[0] = p[size - 1] = (char)s;
    mine[s] = p;
    digest += size;
  }
  pthread_barrier_wait(&round_barrier);
  for (int r = 0; r < n_rounds; r++) {
    /* Each (thread, round) has its own seed: the request sequence does not
     * depend on how the threads were scheduled. */
    rng = rng_seeded(0x1a55000000ull + (uint64_t)self->id * 1000003u + (uint64_t)r);
    char **slots = arrays[(self->id + r + 1) % n_threads];
    for (long i = 0; i < ops_per_round; i++) {
      long s = (long)(rng_next(&rng) % (uint64_t)slots_per_array);
      free(slots[s]);
      size_t size = rng_range(&rng, MIN_SIZE, MAX_SIZE);
      char *p = speed_check(malloc(size), size);
      p[0] = p[size - 1] = (char)i;
      slots[s] = p;
      digest += size;
    }
    pthread_barrier_wait(&round_barrier);
  }
  /* Free whatever array this thread ended with. */
  char **last = arrays[(self->id + n_rounds) % n_threads];
  for (long s = 0; s < slots_per_array; s++) free(last[s]);
  self->digest = digest;
  return NULL;
}

int main(int argc, char **argv) {
  n_threads = (int)speed_arg(argc, argv, 1, 2);
  long ops = speed_arg(argc, argv, 2, 2000000);
  slots_per_array = speed_arg(argc, argv, 3, 1000);
  n_rounds = (int)speed_arg(argc, argv, 4, 10);
  if (n_threads < 1 || ops < 0 || slots_per_array < 1 || n_rounds < 1) {
    fprintf(stderr, "usage: larson T OPS [SLOTS] [ROUNDS]\n");
    return 1;
  }
  ops_per_round = ops / n_rounds;
  bench_start("larson");

  worker_t *workers = speed_check(calloc((size_t)n_threads, sizeof *workers), 1);
  arrays = speed_check(calloc((size_t)n_threads, sizeof *arrays), 1);
  for (int a = 0; a < n_threads; a++)
    arrays[a] = speed_check(calloc((size_t)slots_per_array, sizeof **arrays), 1);
  pthread_barrier_init(&round_barrier, NULL, (unsigned)n_threads);

  double t0 = bench_now();
  for (int t = 0; t < n_threads; t++) {
    workers[t].id = t;
    if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) abort();
  }
  uint64_t digest = 0;
  for (int t = 0; t < n_threads; t++) {
    pthread_join(workers[t].thread, NULL);
    digest = speed_mix(digest, workers[t].digest);
  }
  double wall = bench_now() - t0;

  pthread_barrier_destroy(&round_barrier);
  for (int a = 0; a < n_threads; a++) free(arrays[a]);
  free(arrays);
  free(workers);
  bench_result_f64("wall_s", wall);
  bench_result_u64("ops", (uint64_t)n_threads * (uint64_t)(ops_per_round * n_rounds));
  bench_result_u64("checksum", digest);
  return 0;
}
