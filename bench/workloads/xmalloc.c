/* xmalloc — producer/consumer (after Lever & Boreham's xmalloc-test, as in
 * mimalloc-bench): one thread allocates, another frees.
 *
 * With T=2 one producer allocates COUNT blocks (16-512 bytes, log-uniform,
 * first word written) in batches of BATCH pointers and passes each batch
 * through a bounded queue (QUEUE batches) to one consumer, which frees
 * them.  T=4 runs two such pairs side by side (COUNT blocks per producer).
 * T=1 is the same work in one thread: it allocates a batch, then frees it
 * — the baseline without cross-thread frees.  Every free in T>=2 is a free
 * of a block another thread allocated, and the allocating thread never
 * gets one of its blocks back through free: the allocator has to move the
 * memory back to it.
 *
 * The queue is a mutex and two condition variables (a waiting thread
 * sleeps instead of spinning: on two cores a spinner would steal the
 * other thread's CPU).  One lock round trip per batch of 256 blocks.
 *
 *   xmalloc T COUNT [BATCH=256] [QUEUE=64] */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"
#include "rng.h"
#include "speed.h"

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t not_empty, not_full;
  void ***ring; /* ring[i] is a batch of `batch` pointers */
  long head, tail, count;
  bool done;
  int id;
  uint64_t digest;
  pthread_t producer, consumer;
  char pad[64];
} pair_t;

static long count_per_producer, batch, queue_len;

static void produce_batch(rng_t *rng, void **b, long n, uint64_t *digest) {
  for (long i = 0; i < n; i++) {
    size_t size = rng_log_uniform(rng, 16, 512);
    uint64_t *p = speed_check(malloc(size), size);
    p[0] = size;
    b[i] = p;
    *digest += size;
  }
}

static void consume_batch(void **b, long n) {
  for (long i = 0; i < n; i++) free(b[i]);
}

static void *producer(void *arg) {
  pair_t *q = arg;
  rng_t rng = rng_seeded(0x8a110c00u + (uint64_t)q->id);
  uint64_t digest = 0;
  for (long done = 0; done < count_per_producer; done += batch) {
    long n = count_per_producer - done < batch ? count_per_producer - done : batch;
    pthread_mutex_lock(&q->lock);
    while (q->count == queue_len) pthread_cond_wait(&q->not_full, &q->lock);
    long slot = q->tail % queue_len;
    pthread_mutex_unlock(&q->lock);
    /* The slot is ours until tail moves past it. */
    produce_batch(&rng, q->ring[slot], n, &digest);
    if (n < batch) q->ring[slot][n] = NULL;
    pthread_mutex_lock(&q->lock);
    q->tail++;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
  }
  pthread_mutex_lock(&q->lock);
  q->done = true;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->lock);
  q->digest = digest;
  return NULL;
}

static void *consumer(void *arg) {
  pair_t *q = arg;
  for (;;) {
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->done) pthread_cond_wait(&q->not_empty, &q->lock);
    if (q->count == 0) {
      pthread_mutex_unlock(&q->lock);
      return NULL;
    }
    long slot = q->head % queue_len;
    pthread_mutex_unlock(&q->lock);
    void **b = q->ring[slot];
    long n = 0;
    while (n < batch && b[n]) n++;
    consume_batch(b, n);
    pthread_mutex_lock(&q->lock);
    q->head++;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
  }
}

int main(int argc, char **argv) {
  int n_threads = (int)speed_arg(argc, argv, 1, 2);
  count_per_producer = speed_arg(argc, argv, 2, 10000000);
  batch = speed_arg(argc, argv, 3, 256);
  queue_len = speed_arg(argc, argv, 4, 64);
  if (n_threads < 1 || (n_threads > 1 && n_threads % 2) || count_per_producer < 0 || batch < 1 ||
      queue_len < 1) {
    fprintf(stderr, "usage: xmalloc T(1 or even) COUNT [BATCH] [QUEUE]\n");
    return 1;
  }
  bench_start("xmalloc");
  int n_pairs = n_threads == 1 ? 1 : n_threads / 2;
  pair_t *pairs = speed_check(calloc((size_t)n_pairs, sizeof *pairs), 1);
  for (int i = 0; i < n_pairs; i++) {
    pair_t *q = &pairs[i];
    q->id = i;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    q->ring = speed_check(calloc((size_t)queue_len, sizeof *q->ring), 1);
    /* batch + 1: room for the NULL that ends a short last batch. */
    for (long s = 0; s < queue_len; s++)
      q->ring[s] = speed_check(calloc((size_t)batch + 1, sizeof **q->ring), 1);
  }

  double t0 = bench_now();
  uint64_t digest = 0;
  if (n_threads == 1) {
    rng_t rng = rng_seeded(0x8a110c00u);
    void **b = pairs[0].ring[0];
    for (long done = 0; done < count_per_producer; done += batch) {
      long n = count_per_producer - done < batch ? count_per_producer - done : batch;
      produce_batch(&rng, b, n, &pairs[0].digest);
      consume_batch(b, n);
    }
    digest = speed_mix(0, pairs[0].digest);
  } else {
    for (int i = 0; i < n_pairs; i++) {
      if (pthread_create(&pairs[i].consumer, NULL, consumer, &pairs[i]) != 0) abort();
      if (pthread_create(&pairs[i].producer, NULL, producer, &pairs[i]) != 0) abort();
    }
    for (int i = 0; i < n_pairs; i++) {
      pthread_join(pairs[i].producer, NULL);
      pthread_join(pairs[i].consumer, NULL);
      digest = speed_mix(digest, pairs[i].digest);
    }
  }
  double wall = bench_now() - t0;

  for (int i = 0; i < n_pairs; i++) {
    for (long s = 0; s < queue_len; s++) free(pairs[i].ring[s]);
    free(pairs[i].ring);
  }
  free(pairs);
  bench_result_f64("wall_s", wall);
  bench_result_u64("ops", (uint64_t)n_pairs * (uint64_t)count_per_producer);
  bench_result_u64("checksum", digest);
  return 0;
}
