/* A growable array of (pointer, requested size, kind) records: what a
 * workload holds.  Its own storage comes from the counted allocator too, as
 * a real program's containers would. */
#ifndef BENCH_BLOCKS_H
#define BENCH_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "counted.h"

typedef struct {
  void *p;
  size_t size;
  int kind; /* what the workload made it as; the workload decides meaning */
} block_t;

typedef struct {
  block_t *items;
  size_t n, cap;
} blocks_t;

static inline void blocks_push(blocks_t *b, block_t item) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    b->items = counted_realloc(b->items, b->cap * sizeof *b->items,
                               cap * sizeof *b->items);
    b->cap = cap;
  }
  b->items[b->n++] = item;
}

/* Removes item i by moving the last one into its place (order is not kept). */
static inline block_t blocks_take(blocks_t *b, size_t i) {
  block_t item = b->items[i];
  b->items[i] = b->items[--b->n];
  return item;
}

static inline void blocks_release_storage(blocks_t *b) {
  counted_free(b->items, b->cap * sizeof *b->items);
  b->items = NULL;
  b->n = b->cap = 0;
}

#endif
