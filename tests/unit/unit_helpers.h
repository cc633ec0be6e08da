/* Shared helpers for the cmocka unit tests of the crowd_* API.
 *
 * The tests check memory contents with a position-dependent byte pattern so
 * that a block that moved, overlapped a neighbour or lost a tail shows up as
 * a mismatch at a precise offset. */
#ifndef CROWD_UNIT_HELPERS_H
#define CROWD_UNIT_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TABLE_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Byte i of the pattern named by seed: varies with i fast enough that a
 * shifted copy never matches, and with seed so neighbours differ. */
static inline uint8_t pattern_byte(uint32_t seed, size_t i)
{
  return (uint8_t)((i * 131u) ^ (i >> 8) ^ (seed * 29u) ^ (seed >> 3));
}

static inline void fill_pattern(void *p, size_t from, size_t to, uint32_t seed)
{
  uint8_t *b = p;
  for (size_t i = from; i < to; i++)
    b[i] = pattern_byte(seed, i);
}

/* Returns the first offset in [0, n) whose byte breaks the pattern, or n. */
static inline size_t pattern_mismatch(const void *p, size_t n, uint32_t seed)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != pattern_byte(seed, i))
      return i;
  return n;
}

/* Returns the first offset in [0, n) whose byte is not v, or n. */
static inline size_t byte_mismatch(const void *p, size_t n, uint8_t v)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != v)
      return i;
  return n;
}

static inline size_t page_size(void)
{
  return (size_t)sysconf(_SC_PAGESIZE);
}

static inline size_t round_up(size_t n, size_t to)
{
  return (n + to - 1) / to * to;
}

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)

/* crowd's 64 KiB slots, and how many of a slot's 4 KiB pages from byte
 * `from` on are resident (mincore(2)). */
enum { SLOT = 64 * 1024, OS_PAGE_BYTES = 4096, SUBPAGES = SLOT / OS_PAGE_BYTES };

static inline uintptr_t slot_of(const void *p) { return (uintptr_t)p & ~(uintptr_t)(SLOT - 1); }

static inline unsigned resident_from(uintptr_t slot, size_t from)
{
  unsigned char vec[SUBPAGES];
  assert_int_equal(mincore((void *)slot, SLOT, vec), 0);
  unsigned count = 0;
  for (size_t i = from / OS_PAGE_BYTES; i < SUBPAGES; i++) count += vec[i] & 1;
  return count;
}

/* crowd reads its options when the library is loaded, before main: a test
 * that needs some runs itself again with them in the environment.  The
 * first thing main does; settings are "NAME=VALUE", NULL-terminated. */
static inline void run_with_options(char **argv, const char *const *settings)
{
  int differ = 0;
  for (const char *const *s = settings; *s; s++) {
    const char *eq = strchr(*s, '=');
    char name[64];
    size_t len = (size_t)(eq - *s);
    if (!eq || len >= sizeof name) abort();
    memcpy(name, *s, len);
    name[len] = 0;
    const char *set = getenv(name);
    if (!set || strcmp(set, eq + 1) != 0) {
      differ = 1;
      setenv(name, eq + 1, 1);
    }
  }
  if (!differ) return;
  execv("/proc/self/exe", argv);
  perror("cannot run the test again with its crowd options (execv /proc/self/exe)");
  exit(1);
}

#endif
