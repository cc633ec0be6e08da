/* cache — false sharing caused by the allocator (after Hoard's
 * cache-thrash and cache-scratch, as in mimalloc-bench).
 *
 * thrash (active false sharing): T threads each, ITER times, allocate an
 * object of OBJSIZE bytes (default 8), write every byte of it REPS times,
 * and free it.  If the allocator gives objects of different threads parts
 * of one cache line, the writes bounce that line between the cores.
 *
 * scratch (passive false sharing): main allocates the T objects one after
 * another (so they share a cache line in most allocators) and hands one to
 * each thread; the thread frees it, then runs the same loop as thrash.  An
 * allocator that gives the freed block straight back to the thread that
 * freed it keeps every thread writing into main's shared cache line.
 *
 * Fixed work: T x ITER x REPS x OBJSIZE byte writes; the time shows the
 * sharing (with T=1 there is none, so that row is the baseline).
 *
 *   cache thrash|scratch T ITER REPS [OBJSIZE=8] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "speed.h"

typedef struct {
  int id;
  pthread_t thread;
  char *given; /* scratch: main's object, freed first */
  uint64_t digest;
} worker_t;

static long iterations, reps;
static size_t objsize;
static pthread_barrier_t start_barrier;

static void *work(void *arg) {
  worker_t *self = arg;
  if (self->given) free(self->given);
  pthread_barrier_wait(&start_barrier);
  uint64_t digest = 0;
  for (long i = 0; i < iterations; i++) {
    volatile char *p = speed_check(malloc(objsize), objsize);
    for (size_t k = 0; k < objsize; k++) p[k] = 0;
    for (long r = 0; r < reps; r++)
      for (size_t k = 0; k < objsize; k++) p[k] = (char)(p[k] + 1);
    digest += (unsigned char)p[0];
    free((void *)p);
  }
  self->digest = digest;
  return NULL;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  int scratch = strcmp(mode, "scratch") == 0;
  int n_threads = (int)speed_arg(argc, argv, 2, 2);
  iterations = speed_arg(argc, argv, 3, 1000);
  reps = speed_arg(argc, argv, 4, 10000);
  objsize = (size_t)speed_arg(argc, argv, 5, 8);
  if ((!scratch && strcmp(mode, "thrash") != 0) || n_threads < 1 || iterations < 0 || reps < 0 ||
      objsize < 1) {
    fprintf(stderr, "usage: cache thrash|scratch T ITER REPS [OBJSIZE]\n");
    return 1;
  }
  bench_start(scratch ? "cache-scratch" : "cache-thrash");
  worker_t *workers = speed_check(calloc((size_t)n_threads, sizeof *workers), 1);
  pthread_barrier_init(&start_barrier, NULL, (unsigned)n_threads);
  if (scratch)
    for (int t = 0; t < n_threads; t++) {
      workers[t].given = speed_check(malloc(objsize), objsize);
      memset(workers[t].given, 0, objsize);
    }

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

  pthread_barrier_destroy(&start_barrier);
  free(workers);
  bench_result_f64("wall_s", wall);
  bench_result_u64("ops", (uint64_t)n_threads * (uint64_t)iterations);
  bench_result_u64("checksum", digest);
  return 0;
}
