#include "counted.h"

#include <stdio.h>

uint64_t counted_live_bytes;
uint64_t counted_live_blocks;

static void out_of_memory(size_t size) {
  fprintf(stderr, "bench: out of memory allocating %zu bytes\n", size);
  exit(2);
}

void *counted_malloc(size_t size) {
  void *p = malloc(size);
  if (!p) out_of_memory(size);
  counted_live_bytes += size;
  counted_live_blocks++;
  return p;
}

void *counted_realloc(void *p, size_t old_size, size_t new_size) {
  void *q = realloc(p, new_size);
  if (!q) out_of_memory(new_size);
  counted_live_bytes += new_size;
  counted_live_bytes -= old_size;
  if (!p) counted_live_blocks++;
  return q;
}

void counted_free(void *p, size_t size) {
  if (!p) return;
  free(p);
  counted_live_bytes -= size;
  counted_live_blocks--;
}
