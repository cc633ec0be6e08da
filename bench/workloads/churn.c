/* churn — a desktop program opening, editing and closing documents.
 *
 * Each round opens a few documents (thousands of strings and tree nodes,
 * some buffers up to 64 KiB, now and then a 256 KiB-4 MiB image or undo
 * buffer), edits them (realloc, replace, insert, delete), and closes most
 * of them; a few percent of each closed document's objects stay alive
 * (recent-files entries, clipboard, caches) and expire at random in later
 * rounds.  Those survivors sit between freed blocks: that is the
 * fragmentation an allocator must cope with to give memory back.  At the
 * end everything is freed except a small known set.
 *
 * Fixed work, fixed seed: every allocator gets the same request sequence.
 *
 *   churn [--rounds N] [--idle SECONDS]
 *
 * --idle > 0 is for the footprint driver: after the release phase, mark,
 * sit idle without any allocator call, poke the allocator once, exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "counted.h"
#include "report.h"
#include "rng.h"

enum kind { STRING, NODE, BUFFER, BIG };

typedef struct {
  blocks_t objects;
} document_t;

enum { MAX_OPEN = 16 };

static rng_t rng;

static size_t kind_min(int kind) {
  static const size_t min[] = {16, 24, 512, 256 << 10};
  return min[kind];
}

static size_t kind_max(int kind) {
  static const size_t max[] = {512, 192, 64 << 10, 4 << 20};
  return max[kind];
}

/* Mostly short strings, a third of them longer (names, paragraphs). */
static size_t fresh_size(int kind) {
  static const size_t node_sizes[] = {24, 32, 48, 64, 96, 128, 192};
  switch (kind) {
  case STRING:
    return rng_chance(&rng, 0.7) ? rng_range(&rng, 16, 64)
                                 : rng_log_uniform(&rng, 64, 512);
  case NODE:
    return node_sizes[rng_next(&rng) % (sizeof node_sizes / sizeof *node_sizes)];
  case BUFFER:
    return rng_log_uniform(&rng, 512, 64 << 10);
  default:
    return rng_log_uniform(&rng, 256 << 10, 4 << 20);
  }
}

static int fresh_kind(void) {
  double u = rng_unit(&rng);
  return u < 0.48 ? STRING : u < 0.96 ? NODE : BUFFER;
}

static block_t new_block(int kind) {
  block_t b = {NULL, fresh_size(kind), kind};
  b.p = counted_malloc(b.size);
  touch(b.p, b.size, (unsigned char)b.size);
  return b;
}

static document_t *open_document(void) {
  document_t *doc = counted_malloc(sizeof *doc);
  memset(doc, 0, sizeof *doc);
  size_t n = rng_range(&rng, 4000, 16000);
  for (size_t i = 0; i < n; i++) blocks_push(&doc->objects, new_block(fresh_kind()));
  /* Images, undo snapshots: the few blocks big enough to be mmapped. */
  for (int i = (int)rng_range(&rng, 0, 2); i > 0; i--)
    blocks_push(&doc->objects, new_block(BIG));
  return doc;
}

/* One user edit: text grows or shrinks in place (realloc), a paragraph is
 * replaced (free + malloc), something is inserted or deleted. */
static void edit(document_t *doc) {
  blocks_t *objs = &doc->objects;
  if (objs->n == 0) {
    blocks_push(objs, new_block(fresh_kind()));
    return;
  }
  size_t i = rng_next(&rng) % objs->n;
  block_t *b = &objs->items[i];
  double u = rng_unit(&rng);
  if (u < 0.35) {
    size_t size = rng_chance(&rng, 0.7)
                      ? (size_t)((double)b->size * (1.1 + 0.9 * rng_unit(&rng)))
                      : (size_t)((double)b->size * (0.5 + 0.4 * rng_unit(&rng)));
    if (size < kind_min(b->kind)) size = kind_min(b->kind);
    if (size > kind_max(b->kind)) size = kind_max(b->kind);
    b->p = counted_realloc(b->p, b->size, size);
    if (size > b->size) touch((char *)b->p + b->size, size - b->size, 1);
    b->size = size;
  } else if (u < 0.65) {
    int kind = b->kind;
    counted_free(b->p, b->size);
    *b = new_block(kind);
  } else if (u < 0.90) {
    blocks_push(objs, new_block(fresh_kind()));
  } else {
    block_t gone = blocks_take(objs, i);
    counted_free(gone.p, gone.size);
  }
}

/* Frees the document; each object survives into `keep` with probability
 * keep_p (big buffers never do: nobody keeps an image of a closed file). */
static void close_document(document_t *doc, blocks_t *keep, double keep_p) {
  for (size_t i = 0; i < doc->objects.n; i++) {
    block_t b = doc->objects.items[i];
    if (b.kind != BIG && keep_p > 0 && rng_chance(&rng, keep_p))
      blocks_push(keep, b);
    else
      counted_free(b.p, b.size);
  }
  blocks_release_storage(&doc->objects);
  counted_free(doc, sizeof *doc);
}

/* Long-lived objects are not immortal: some expire every round, at random
 * positions, so survivors of different rounds interleave. */
static void expire(blocks_t *long_lived, double p) {
  for (size_t i = 0; i < long_lived->n;) {
    if (rng_chance(&rng, p)) {
      block_t b = blocks_take(long_lived, i);
      counted_free(b.p, b.size);
    } else {
      i++;
    }
  }
}

int main(int argc, char **argv) {
  int rounds = 40;
  double idle_s = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--idle")) idle_s = atof(argv[i + 1]);
    else { fprintf(stderr, "usage: churn [--rounds N] [--idle SECONDS]\n"); return 1; }
  }
  bench_start("churn");
  rng = rng_seeded(0xc0ffee);

  document_t *open[MAX_OPEN];
  int n_open = 0;
  blocks_t long_lived = {0};
  double t0 = bench_now();
  uint64_t peak_live = 0;

  for (int round = 0; round < rounds; round++) {
    for (int k = (int)rng_range(&rng, 4, 7); k > 0 && n_open < MAX_OPEN; k--)
      open[n_open++] = open_document();

    size_t total = 0;
    for (int d = 0; d < n_open; d++) total += open[d]->objects.n;
    for (size_t e = total / 2; e > 0; e--) edit(open[rng_next(&rng) % n_open]);
    if (counted_live_bytes > peak_live) peak_live = counted_live_bytes;

    expire(&long_lived, 0.25);
    /* Close all but one or two documents, which stay open into the next
     * round: documents have lifetimes of one round or several. */
    int stay = (int)rng_range(&rng, 1, 2);
    while (n_open > stay) {
      int d = (int)(rng_next(&rng) % (uint64_t)n_open);
      close_document(open[d], &long_lived, 0.03);
      open[d] = open[--n_open];
    }
  }

  /* Release phase: close everything, keep every 16th long-lived object. */
  while (n_open > 0) close_document(open[--n_open], NULL, 0);
  size_t kept = 0;
  for (size_t i = 0; i < long_lived.n; i++) {
    block_t b = long_lived.items[i];
    if (i % 16 == 0) long_lived.items[kept++] = b;
    else counted_free(b.p, b.size);
  }
  long_lived.n = kept;
  double wall = bench_now() - t0;

  bench_result_f64("wall_s", wall);
  bench_result_u64("peak_live_bytes", peak_live);
  bench_result_u64("live_bytes", counted_live_bytes);
  bench_result_u64("live_blocks", counted_live_blocks);
  bench_report_memory("final");
  bench_idle_and_poke(idle_s, counted_live_bytes);
  return 0;
}
