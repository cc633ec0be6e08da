/* Multithreaded stress: threads allocate, resize, check and free blocks of
 * random sizes (mostly small, some medium, a few huge), hand blocks to each
 * other through a mutex-protected exchange (so blocks are freed by threads
 * that did not allocate them) and are created and joined in rounds, the
 * blocks of a round's threads living on into the next round (so blocks of
 * exited threads get freed later).
 *
 * Every block carries a byte pattern derived from its own address; any
 * overlap, stray write or lost realloc content aborts with the details.
 * Work is bounded by counts, not time; seeds are fixed per thread and round.
 *
 * usage: stress EXPECTED_LIBRARY|- [threads rounds ops_per_thread_round [mix]]
 * mix is "small" (default: 90 % small, 9.5 % medium, 0.5 % huge) or
 * "huge" (60 % small, 30 % medium, 10 % huge: the huge-block paths, mmap,
 * mremap and the huge cache, under cross-thread traffic).
 * Built with STRESS_CROWD_API it calls crowd_* (the TSan variant, linked
 * statically); otherwise it calls plain malloc and checks that malloc
 * comes from EXPECTED_LIBRARY (linked or preloaded). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef STRESS_CROWD_API
#include <crowd.h>
#define heap_malloc crowd_malloc
#define heap_calloc crowd_calloc
#define heap_realloc crowd_realloc
#define heap_free crowd_free
#define heap_usable_size crowd_usable_size
#else
#include <malloc.h>
#include "expect_allocator.h"
#define heap_malloc malloc
#define heap_calloc calloc
#define heap_realloc realloc
#define heap_free free
#define heap_usable_size malloc_usable_size
#endif

#define MAX_THREADS 16
#define SLOTS_PER_THREAD 512
#define EXCHANGE_SLOTS 64
#define MIN_ALIGNMENT 16

struct block {
  unsigned char *p;
  size_t size;
};

static struct block thread_slots[MAX_THREADS][SLOTS_PER_THREAD];
static struct block exchange[EXCHANGE_SLOTS];
static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;

struct config {
  int threads, rounds, ops;
};

static uint64_t next_random(uint64_t *state)
{
  uint64_t x = *state; /* xorshift64* */
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t key_of(const void *p)
{
  return (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
}

static unsigned char pattern_at(uint64_t key, size_t offset)
{
  return (unsigned char)((key >> (8 * (offset & 7))) + offset * 0x3B + (offset >> 9));
}

/* The offsets of a block that carry the pattern: all of a small block; the
 * head, the tail and a stride through a bigger one (touching every byte of
 * huge blocks would make the test about page faults, not the allocator). */
#define FULL_LIMIT 4096
#define EDGE 256

static size_t stride_for(size_t size)
{
  return size <= 131072 ? 1021 : size / 16 + 1;
}

typedef int (*offset_fn)(unsigned char *p, size_t offset, uint64_t key, void *ctx);

/* Calls fn for each pattern offset of a block of `size` below `limit`;
 * stops at (and returns) the first offset for which fn returns nonzero,
 * or returns SIZE_MAX. */
static size_t for_each_offset(unsigned char *p, size_t size, size_t limit,
                              uint64_t key, offset_fn fn, void *ctx)
{
  if (limit > size)
    limit = size;
  if (size <= FULL_LIMIT) {
    for (size_t i = 0; i < limit; i++)
      if (fn(p, i, key, ctx))
        return i;
    return SIZE_MAX;
  }
  for (size_t i = 0; i < EDGE && i < limit; i++)
    if (fn(p, i, key, ctx))
      return i;
  for (size_t i = EDGE; i < size - EDGE && i < limit; i += stride_for(size))
    if (fn(p, i, key, ctx))
      return i;
  for (size_t i = size - EDGE; i < limit; i++)
    if (fn(p, i, key, ctx))
      return i;
  return SIZE_MAX;
}

static int write_byte(unsigned char *p, size_t i, uint64_t key, void *ctx)
{
  (void)ctx;
  p[i] = pattern_at(key, i);
  return 0;
}

static int byte_differs(unsigned char *p, size_t i, uint64_t key, void *ctx)
{
  (void)ctx;
  return p[i] != pattern_at(key, i);
}

static int byte_nonzero(unsigned char *p, size_t i, uint64_t key, void *ctx)
{
  (void)key, (void)ctx;
  return p[i] != 0;
}

static void die(const char *what, const struct block *b, size_t offset)
{
  int err = errno;
  fprintf(stderr, "stress: %s: block %p size %zu, offset %zu (errno %d: %s)\n",
          what, (void *)b->p, b->size, offset, err, strerror(err));
  abort();
}

static void stamp(const struct block *b)
{
  for_each_offset(b->p, b->size, b->size, key_of(b->p), write_byte, NULL);
}

static void check(const struct block *b, const char *when)
{
  size_t bad = for_each_offset(b->p, b->size, b->size, key_of(b->p), byte_differs, NULL);
  if (bad != SIZE_MAX)
    die(when, b, bad);
}

/* Shares of small and medium requests, in thousandths; the rest is huge. */
static unsigned small_share = 900, medium_share = 95;

static size_t random_size(uint64_t *rng)
{
  uint64_t r = next_random(rng) % 1000;
  if (r < small_share) /* small; half of them tiny */
    return 1 + next_random(rng) % (r < small_share / 2 ? 128 : 1024);
  if (r < small_share + medium_share) /* medium, up to the 128 KiB class limit */
    return 1025 + next_random(rng) % (128 * 1024);
  return 128 * 1024 + 1 + next_random(rng) % (4 << 20); /* huge */
}

static void allocate_into(struct block *b, uint64_t *rng)
{
  b->size = random_size(rng);
  int zeroed = next_random(rng) % 5 == 0;
  errno = 0;
  b->p = zeroed ? heap_calloc(1, b->size) : heap_malloc(b->size);
  if (b->p == NULL)
    die("allocation failed", b, 0);
  if ((uintptr_t)b->p % MIN_ALIGNMENT != 0)
    die("block is not 16-aligned", b, 0);
  if (heap_usable_size(b->p) < b->size)
    die("usable size below the request", b, heap_usable_size(b->p));
  if (zeroed) {
    size_t bad = for_each_offset(b->p, b->size, b->size, 0, byte_nonzero, NULL);
    if (bad != SIZE_MAX)
      die("calloc block not zeroed", b, bad);
  }
  stamp(b);
}

static void release(struct block *b, const char *when)
{
  check(b, when);
  heap_free(b->p);
  b->p = NULL;
  b->size = 0;
}

/* realloc keeps the pattern of the old address over the kept prefix. */
static void resize(struct block *b, uint64_t *rng)
{
  check(b, "before realloc");
  struct block old = *b;
  uint64_t old_key = key_of(old.p); /* the old pointer is dead after realloc */
  size_t new_size = random_size(rng);
  errno = 0;
  unsigned char *q = heap_realloc(b->p, new_size);
  if (q == NULL)
    die("realloc failed", b, new_size);
  struct block moved = {q, old.size};
  size_t kept = new_size < old.size ? new_size : old.size;
  size_t bad = for_each_offset(q, old.size, kept, old_key, byte_differs, NULL);
  if (bad != SIZE_MAX)
    die("realloc lost content (block shown at its new address)", &moved, bad);
  b->p = q;
  b->size = new_size;
  stamp(b);
}

/* Swaps a slot with a random exchange slot: the block given away will be
 * checked and freed by whichever thread takes it next. */
static void trade(struct block *b, uint64_t *rng)
{
  size_t j = next_random(rng) % EXCHANGE_SLOTS;
  pthread_mutex_lock(&exchange_lock);
  struct block taken = exchange[j];
  exchange[j] = *b;
  pthread_mutex_unlock(&exchange_lock);
  *b = taken;
  if (b->p != NULL)
    check(b, "block received from another thread");
}

struct worker {
  int index, round, ops;
};

static void *run_worker(void *arg)
{
  const struct worker *w = arg;
  uint64_t rng = 0x9E3779B97F4A7C15ull * (uint64_t)(w->round * MAX_THREADS + w->index + 1);
  struct block *slots = thread_slots[w->index];
  for (int op = 0; op < w->ops; op++) {
    struct block *b = &slots[next_random(&rng) % SLOTS_PER_THREAD];
    if (b->p == NULL) {
      allocate_into(b, &rng);
      continue;
    }
    uint64_t r = next_random(&rng) % 100;
    if (r < 50)
      release(b, "before free");
    else if (r < 62)
      resize(b, &rng);
    else if (r < 80)
      trade(b, &rng);
    else
      check(b, "live block");
  }
  return NULL;
}

static void check_everything(const struct config *cfg, const char *when)
{
  for (int t = 0; t < cfg->threads; t++)
    for (int i = 0; i < SLOTS_PER_THREAD; i++)
      if (thread_slots[t][i].p != NULL)
        check(&thread_slots[t][i], when);
  for (int i = 0; i < EXCHANGE_SLOTS; i++)
    if (exchange[i].p != NULL)
      check(&exchange[i], when);
}

static void free_everything(const struct config *cfg)
{
  for (int t = 0; t < cfg->threads; t++)
    for (int i = 0; i < SLOTS_PER_THREAD; i++)
      if (thread_slots[t][i].p != NULL)
        release(&thread_slots[t][i], "final free");
  for (int i = 0; i < EXCHANGE_SLOTS; i++)
    if (exchange[i].p != NULL)
      release(&exchange[i], "final free");
}

static int parse_positive(const char *s, int fallback)
{
  int v = s ? atoi(s) : 0;
  return v > 0 ? v : fallback;
}

int main(int argc, char **argv)
{
#ifndef STRESS_CROWD_API
  expect_allocator(argc > 1 ? argv[1] : NULL);
#endif
  struct config cfg = {
    .threads = parse_positive(argc > 2 ? argv[2] : NULL, 4),
    .rounds = parse_positive(argc > 3 ? argv[3] : NULL, 20),
    .ops = parse_positive(argc > 4 ? argv[4] : NULL, 20000),
  };
  if (cfg.threads > MAX_THREADS)
    cfg.threads = MAX_THREADS;
  const char *mix = argc > 5 ? argv[5] : "small";
  if (strcmp(mix, "huge") == 0) {
    small_share = 600;
    medium_share = 300;
  } else if (strcmp(mix, "small") != 0) {
    fprintf(stderr, "stress: unknown mix %s\n", mix);
    return 2;
  }

  pthread_t tids[MAX_THREADS];
  struct worker workers[MAX_THREADS];
  for (int round = 0; round < cfg.rounds; round++) {
    for (int t = 0; t < cfg.threads; t++) {
      workers[t] = (struct worker){.index = t, .round = round, .ops = cfg.ops};
      if (pthread_create(&tids[t], NULL, run_worker, &workers[t]) != 0) {
        fprintf(stderr, "stress: pthread_create failed\n");
        return 1;
      }
    }
    for (int t = 0; t < cfg.threads; t++)
      pthread_join(tids[t], NULL);
    /* The round's threads are gone; their blocks must be intact. */
    check_everything(&cfg, "after a round, block of an exited thread");
  }
  free_everything(&cfg);
  printf("stress: %d threads x %d rounds x %d ops, %s mix: ok\n", cfg.threads,
         cfg.rounds, cfg.ops, mix);
  return 0;
}
