/* realloc — growing strings and arrays (string builders, token buffers,
 * vectors), single-threaded.
 *
 * Strings: 512 strings are being built at once.  An operation picks one
 * and appends to it — 70% one character, 30% a chunk of 2-64 — with a
 * realloc to exactly the new length + 1 each time, as naive C code does.
 * A string that reaches its target length (log-uniform 8 B-16 KiB) is
 * freed and a new one started.
 * Arrays: 16 arrays of 8-byte elements are being filled; an operation
 * pushes one element and doubles the capacity with realloc when full
 * (from 4 elements up to a target of log-uniform 64 - 512 Ki elements,
 * i.e. up to 4 MiB); a full array is freed and a new one started.
 * 3 of 4 operations are string appends, 1 of 4 array pushes.  Every
 * appended byte and pushed element is written.
 *
 * Fixed work: OPS operations.  OPS=0 only starts up and exits (the
 * baseline for instruction counts).
 *
 *   realloc OPS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "rng.h"
#include "speed.h"

enum { STRINGS = 512, ARRAYS = 16 };

typedef struct {
  char *p;
  size_t len, target;
} string_t;

typedef struct {
  uint64_t *p;
  size_t n, cap, target;
} array_t;

static string_t strings[STRINGS];
static array_t arrays[ARRAYS];

int main(int argc, char **argv) {
  long ops = speed_arg(argc, argv, 1, 20000000);
  if (ops < 0) {
    fprintf(stderr, "usage: realloc OPS\n");
    return 1;
  }
  bench_start("realloc");
  rng_t rng = rng_seeded(0x9e4110c0u);
  uint64_t digest = 0;
  double t0 = bench_now();
  for (long i = 0; i < ops; i++) {
    if (rng_next(&rng) % 4) {
      string_t *s = &strings[rng_next(&rng) % STRINGS];
      if (!s->target) s->target = rng_log_uniform(&rng, 8, 16 << 10);
      size_t add = rng_chance(&rng, 0.7) ? 1 : rng_range(&rng, 2, 64);
      s->p = speed_check(realloc(s->p, s->len + add + 1), s->len + add + 1);
      memset(s->p + s->len, 'a' + (int)(i % 26), add);
      s->len += add;
      s->p[s->len] = '\0';
      if (s->len >= s->target) {
        digest += s->len + (unsigned char)s->p[s->len / 2];
        free(s->p);
        s->p = NULL;
        s->len = s->target = 0;
      }
    } else {
      array_t *a = &arrays[rng_next(&rng) % ARRAYS];
      if (!a->target) a->target = rng_log_uniform(&rng, 64, 512 << 10);
      if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4;
        a->p = speed_check(realloc(a->p, a->cap * sizeof *a->p), a->cap * sizeof *a->p);
      }
      a->p[a->n] = a->n * 2654435761u;
      a->n++;
      if (a->n >= a->target) {
        digest += a->n + a->p[a->n / 3];
        free(a->p);
        memset(a, 0, sizeof *a);
      }
    }
  }
  for (int s = 0; s < STRINGS; s++) free(strings[s].p);
  for (int a = 0; a < ARRAYS; a++) free(arrays[a].p);
  double wall = bench_now() - t0;
  bench_result_f64("wall_s", wall);
  bench_result_u64("ops", (uint64_t)ops);
  bench_result_u64("checksum", digest);
  return 0;
}
