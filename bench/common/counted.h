/* malloc/realloc/free that keep count of the bytes the program asked for.
 *
 * "Live bytes" is the floor any allocator's RSS is compared with; it has to
 * come from requested sizes, because malloc_usable_size() rounds differently
 * in every allocator.  Single-threaded programs only: the counters are
 * plain globals so the counting does not add atomics to the timed loop. */
#ifndef BENCH_COUNTED_H
#define BENCH_COUNTED_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern uint64_t counted_live_bytes;
extern uint64_t counted_live_blocks;

/* Exits with a message when malloc fails: a benchmark that goes on with a
 * NULL pointer measures nothing. */
void *counted_malloc(size_t size);
void *counted_realloc(void *p, size_t old_size, size_t new_size);
void counted_free(void *p, size_t size);

/* Writes every byte, as a program filling its buffers would, so that the
 * pages are really resident and RSS means something. */
static inline void touch(void *p, size_t size, unsigned char value) {
  memset(p, value, size);
}

#endif
