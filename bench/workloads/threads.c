/* threads — multi-threaded malloc/free throughput with cross-thread frees.
 *
 * T threads each run N iterations over a private array of slots: pick a
 * slot at random, free what is in it, put a new block of random size there.
 * About 10% of the blocks taken out are not freed by their owner but handed
 * to the next thread, which frees them: the producer/consumer pattern of
 * queues and thread pools, and the hard case for per-thread caches.
 *
 * Fixed work (T*N iterations), so a faster allocator does not get to
 * allocate more: wall time is the result.
 *
 *   threads [T=4] [N=3000000] [SLOTS=4096] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "rng.h"

/* A handed-over block carries its own link, so handing over never calls
 * malloc.  Blocks are at least 16 bytes. */
typedef struct handed {
  struct handed *next;
} handed_t;

typedef struct {
  _Atomic(handed_t *) inbox; /* blocks other threads gave us to free */
  int id;
  pthread_t thread;
  char pad[64];
} worker_t;

static worker_t *workers;
static int n_threads;
static long iterations;
static size_t n_slots;
static pthread_barrier_t all_done_allocating;

/* Lock-free push; the owner takes the whole list at once with an exchange,
 * so there is no ABA problem. */
static void hand_over(worker_t *to, void *block) {
  handed_t *h = block;
  h->next = atomic_load_explicit(&to->inbox, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&to->inbox, &h->next, h,
                                                memory_order_release,
                                                memory_order_relaxed)) {
  }
}

static void drain(worker_t *self) {
  handed_t *h = atomic_exchange_explicit(&self->inbox, NULL, memory_order_acquire);
  while (h) {
    handed_t *next = h->next;
    free(h);
    h = next;
  }
}

/* Most requests small, a tail to 32 KiB. */
static size_t random_size(rng_t *r) {
  return rng_chance(r, 0.9) ? rng_log_uniform(r, 16, 512)
                            : rng_log_uniform(r, 512, 32 << 10);
}

static void *work(void *arg) {
  worker_t *self = arg;
  worker_t *neighbour = &workers[(self->id + 1) % n_threads];
  rng_t rng = rng_seeded(0x5eed0000u + (uint64_t)self->id);
  void **slots = calloc(n_slots, sizeof *slots);
  if (!slots) abort();

  for (long i = 0; i < iterations; i++) {
    size_t s = rng_next(&rng) % n_slots;
    if (slots[s]) {
      if (rng_chance(&rng, 0.10)) hand_over(neighbour, slots[s]);
      else free(slots[s]);
    }
    size_t size = random_size(&rng);
    char *p = malloc(size);
    if (!p) abort();
    /* Write the first and last bytes: enough to fault the block's pages in
     * for small sizes without making the loop a memset benchmark. */
    p[0] = (char)i;
    p[size - 1] = (char)i;
    slots[s] = p;
    if ((i & 63) == 0) drain(self);
  }
  for (size_t s = 0; s < n_slots; s++) free(slots[s]);
  free(slots);
  /* Everyone has stopped handing over after this barrier. */
  pthread_barrier_wait(&all_done_allocating);
  drain(self);
  return NULL;
}

int main(int argc, char **argv) {
  n_threads = argc > 1 ? atoi(argv[1]) : 4;
  iterations = argc > 2 ? atol(argv[2]) : 3000000;
  n_slots = argc > 3 ? (size_t)atol(argv[3]) : 4096;
  if (n_threads < 1 || iterations < 1 || n_slots < 1) {
    fprintf(stderr, "usage: threads [T] [N] [SLOTS]\n");
    return 1;
  }
  bench_start("threads");

  workers = calloc((size_t)n_threads, sizeof *workers);
  if (!workers) abort();
  pthread_barrier_init(&all_done_allocating, NULL, (unsigned)n_threads);
  double t0 = bench_now();
  for (int t = 0; t < n_threads; t++) {
    workers[t].id = t;
    if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) abort();
  }
  for (int t = 0; t < n_threads; t++) pthread_join(workers[t].thread, NULL);
  double wall = bench_now() - t0;
  pthread_barrier_destroy(&all_done_allocating);
  free(workers);

  bench_result_f64("wall_s", wall);
  bench_result_u64("threads", (uint64_t)n_threads);
  bench_result_u64("ops", (uint64_t)n_threads * (uint64_t)iterations);
  bench_result_u64("live_bytes", 0);
  bench_report_memory("final");
  return 0;
}
