/* desktop — one session of a desktop editor, with the user's pauses.
 *
 * Unlike churn (rounds of like documents), this follows one timeline whose
 * working set moves: the app starts (a few MiB of settings, glyphs, fonts
 * that live to the end); the user opens a large image project (~130 MiB
 * of 64 KiB tiles plus its object tree) and edits it in bursts, with an
 * undo history of replaced tiles; closes it, keeping a thumbnail and a
 * few recent-files entries; pauses; then works through a series of small
 * text documents, each closed with a few objects kept (clipboard,
 * history), while a glyph cache of bounded size churns; closes everything.
 * Between bursts the program sleeps without calling the allocator, as an
 * editor waits for the user: the footprint driver shows whether memory
 * freed by the big project comes back while the app is still running, not
 * only at the end.
 *
 *   desktop [--idle SECONDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "counted.h"
#include "report.h"
#include "rng.h"

static rng_t rng;

static block_t make(size_t size) {
  block_t b = {counted_malloc(size), size, 0};
  touch(b.p, size, (unsigned char)size);
  return b;
}

static void drop(block_t b) { counted_free(b.p, b.size); }

static void drop_all(blocks_t *set) {
  for (size_t i = 0; i < set->n; i++) drop(set->items[i]);
  blocks_release_storage(set);
}

static size_t small_size(void) {
  return rng_chance(&rng, 0.75) ? rng_range(&rng, 16, 96) : rng_log_uniform(&rng, 96, 1024);
}

/* Moves each block of `from` into `keep` with probability p, frees the rest. */
static void drop_keeping(blocks_t *from, blocks_t *keep, double p) {
  for (size_t i = 0; i < from->n; i++) {
    if (rng_chance(&rng, p)) blocks_push(keep, from->items[i]);
    else drop(from->items[i]);
  }
  blocks_release_storage(from);
}

static void glyph_cache_use(blocks_t *cache, int lookups) {
  enum { CAPACITY = 6000 };
  for (int i = 0; i < lookups; i++) {
    if (cache->n >= CAPACITY) drop(blocks_take(cache, rng_next(&rng) % cache->n));
    blocks_push(cache, make(rng_log_uniform(&rng, 64, 2048)));
  }
}

/* The big project: tiles and an object tree, edited in bursts. */
static void image_project(blocks_t *app, blocks_t *recent) {
  enum { TILE = 64 << 10, TILES = 2000, UNDO_TILES = 400 };
  blocks_t tiles = {0}, tree = {0}, undo = {0};
  for (int i = 0; i < TILES; i++) blocks_push(&tiles, make(TILE));
  for (int i = 0; i < 60000; i++) blocks_push(&tree, make(small_size()));
  bench_mark("project_open", counted_live_bytes);

  for (int burst = 0; burst < 12; burst++) {
    for (int e = 0; e < 120; e++) {
      /* A brush stroke replaces a tile; the old one goes to the undo list. */
      size_t t = rng_next(&rng) % tiles.n;
      blocks_push(&undo, tiles.items[t]);
      tiles.items[t] = make(TILE);
      if (undo.n > UNDO_TILES) drop(blocks_take(&undo, 0));
    }
    for (int e = 0; e < 3000; e++) {
      size_t i = rng_next(&rng) % tree.n;
      drop(tree.items[i]);
      tree.items[i] = make(small_size());
    }
    glyph_cache_use(app, 200);
    bench_idle(0.1);
  }

  drop_all(&undo);
  drop_all(&tiles);
  drop_keeping(&tree, recent, 0.003);
  blocks_push(recent, make(256 << 10)); /* thumbnail */
}

/* A small text document: open, a few edit bursts, close keeping 1%. */
static void text_document(blocks_t *app, blocks_t *kept) {
  blocks_t doc = {0};
  for (int i = (int)rng_range(&rng, 2000, 8000); i > 0; i--) blocks_push(&doc, make(small_size()));
  for (int i = (int)rng_range(&rng, 0, 3); i > 0; i--)
    blocks_push(&doc, make(rng_log_uniform(&rng, 4 << 10, 128 << 10)));
  for (int burst = 0; burst < 3; burst++) {
    for (int e = 0; e < 400; e++) {
      block_t *b = &doc.items[rng_next(&rng) % doc.n];
      size_t size = small_size();
      b->p = counted_realloc(b->p, b->size, size);
      b->size = size;
      touch(b->p, size, 7);
    }
    glyph_cache_use(app, 50);
    bench_idle(0.05);
  }
  drop_keeping(&doc, kept, 0.01);
}

int main(int argc, char **argv) {
  double idle_s = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--idle")) idle_s = atof(argv[i + 1]);
    else { fprintf(stderr, "usage: desktop [--idle SECONDS]\n"); return 1; }
  }
  bench_start("desktop");
  rng = rng_seeded(0xdE5C);
  double t0 = bench_now();

  blocks_t settings = {0}, glyphs = {0}, recent = {0}, clipboard = {0};
  for (int i = 0; i < 30000; i++) blocks_push(&settings, make(small_size()));
  for (int i = 0; i < 4; i++) blocks_push(&settings, make(64 << 10)); /* fonts */
  bench_mark("app_started", counted_live_bytes);

  image_project(&glyphs, &recent);
  bench_mark("project_closed", counted_live_bytes);
  bench_idle(2.0);

  for (int d = 0; d < 24; d++) text_document(&glyphs, &clipboard);

  /* Release: the last window closes; the app keeps its settings and the
   * recent-files list, drops caches and the clipboard. */
  drop_all(&glyphs);
  drop_all(&clipboard);
  double wall = bench_now() - t0;
  bench_result_f64("wall_s", wall);
  bench_result_u64("live_bytes", counted_live_bytes);
  bench_report_memory("final");
  bench_idle_and_poke(idle_s, counted_live_bytes);
  (void)settings;
  (void)recent;
  return 0;
}
