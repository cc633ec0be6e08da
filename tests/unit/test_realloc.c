/* realloc keeps the contents: growing and shrinking through every size
 * class boundary, into huge blocks (grown with mremap) and back down.  The
 * block always holds the position pattern over its requested size, so a
 * lost or shifted byte shows at its offset. */
#include "unit_helpers.h"

#include <crowd.h>
#include <errno.h>
#include <sys/resource.h>
#include <time.h>

#define SEED 0xC0DEu

/* Resizes p from old_size to new_size, checks the kept prefix and fills
 * the new tail. */
static char *resize_and_check(char *p, size_t old_size, size_t new_size)
{
  char *q = crowd_realloc(p, new_size);
  if (q == NULL)
    fail_msg("realloc(%zu -> %zu) returned NULL", old_size, new_size);
  if (crowd_usable_size(q) < new_size)
    fail_msg("realloc(%zu -> %zu): usable size %zu", old_size, new_size,
             crowd_usable_size(q));
  size_t kept = old_size < new_size ? old_size : new_size;
  size_t bad = pattern_mismatch(q, kept, SEED);
  if (bad != kept)
    fail_msg("realloc(%zu -> %zu): byte %zu of the kept %zu changed", old_size,
             new_size, bad, kept);
  fill_pattern(q, kept, new_size, SEED);
  return q;
}

/* 7% steps are finer than the 12.5% spacing of the classes, so nearly
 * every class (and class limit) is entered on the way up and again on the
 * way down; the power-of-two-plus-16 classes are too close to their power
 * of two for these steps (unit.usable_size checks those). */
static size_t grow_7_percent(size_t n)
{
  size_t next = (size_t)((double)n * 1.07);
  return next > n ? next : n + 1;
}

static size_t shrink_7_percent(size_t n)
{
  size_t next = (size_t)((double)n / 1.07);
  return next < n ? next : n - 1;
}

/* Up to this many blockers stay live during one walk. */
enum { MAX_BLOCKERS = 1024 };

struct blockers {
  void *live[MAX_BLOCKERS];
  size_t count;
};

static void free_blockers(struct blockers *b)
{
  for (size_t i = 0; i < b->count; i++)
    crowd_free(b->live[i]);
  b->count = 0;
}

/* Resizes p step by step from *size to `to`.  With blockers, a block of the
 * new size is allocated after each step and kept live: it takes the space
 * behind p, so the next resize cannot always happen in place. */
static char *walk(char *p, size_t *size, size_t to, size_t (*step)(size_t),
                  struct blockers *blockers)
{
  int growing = to > *size;
  while (*size != to) {
    size_t next = step(*size);
    if (growing ? next > to : next < to)
      next = to;
    p = resize_and_check(p, *size, next);
    if (blockers && blockers->count < MAX_BLOCKERS)
      assert_non_null(blockers->live[blockers->count++] = crowd_malloc(next));
    *size = next;
  }
  return p;
}

static void realloc_through_every_class_and_back(void **state)
{
  size_t size = 1;
  char *p = crowd_malloc(size);
  assert_non_null(p);
  fill_pattern(p, 0, size, SEED);
  p = walk(p, &size, 140000, grow_7_percent, NULL);
  p = walk(p, &size, 1, shrink_7_percent, NULL);
  crowd_free(p);
}

static void realloc_through_every_class_with_blockers(void **state)
{
  static struct blockers blockers;
  size_t size = 1;
  char *p = crowd_malloc(size);
  assert_non_null(p);
  fill_pattern(p, 0, size, SEED);
  p = walk(p, &size, 140000, grow_7_percent, &blockers);
  free_blockers(&blockers);
  p = walk(p, &size, 1, shrink_7_percent, &blockers);
  free_blockers(&blockers);
  crowd_free(p);
}

static size_t grow_half(size_t n) { return n + n / 2 + 4097; }
static size_t shrink_half(size_t n) { return n / 2 * 3 / 4 + 1; }

/* From a medium block into huge blocks up to 64 MiB and back down to one
 * byte, with some odd non-page sizes on the way. */
static void realloc_into_huge_and_back(void **state)
{
  const size_t top = 64 * MiB;
  size_t size = 100000;
  char *p = crowd_malloc(size);
  assert_non_null(p);
  fill_pattern(p, 0, size, SEED);
  while (size < top) {
    size_t next = grow_half(size);
    if (next > top)
      next = top;
    p = resize_and_check(p, size, next);
    size = next;
  }
  /* small moves inside a huge block */
  p = resize_and_check(p, size, size + 1), size += 1;
  p = resize_and_check(p, size, size - 4097), size -= 4097;
  p = resize_and_check(p, size, size + 3 * MiB), size += 3 * MiB;
  while (size > 1) {
    size_t next = shrink_half(size);
    if (next >= size)
      next = size - 1;
    p = resize_and_check(p, size, next);
    size = next;
  }
  crowd_free(p);
}

/* Growing a huge block while another huge block sits live, many times: the
 * mremap path must move or extend without mixing the two. */
static void two_huge_blocks_grow_side_by_side(void **state)
{
  size_t size_a = 200000, size_b = 300000;
  char *a = crowd_malloc(size_a), *b = crowd_malloc(size_b);
  assert_non_null(a);
  assert_non_null(b);
  fill_pattern(a, 0, size_a, SEED);
  memset(b, 0xB5, size_b);
  for (int i = 0; i < 12; i++) {
    size_t next_a = size_a * 3 / 2 + 123;
    a = resize_and_check(a, size_a, next_a);
    size_a = next_a;
    size_t next_b = size_b + 1000000;
    b = crowd_realloc(b, next_b);
    assert_non_null(b);
    assert_int_equal(byte_mismatch(b, size_b, 0xB5), size_b);
    memset(b + size_b, 0xB5, next_b - size_b);
    size_b = next_b;
  }
  assert_int_equal(pattern_mismatch(a, size_a, SEED), size_a);
  crowd_free(a);
  crowd_free(b);
}

static long minor_faults(void)
{
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

/* A buffer built by appends, freed, built again (a string builder, a file
 * read into a growing buffer): past the small classes it grows by mremap,
 * and the next build reuses the freed mapping with its pages, so building
 * it again faults in almost nothing.  1 MiB is 256 pages: before, every
 * build faulted about 880 of them (copies into fresh blocks). */
static void rebuilt_buffer_keeps_its_pages(void **state)
{
  const size_t target = 1 * MiB, step = 4096;
  long faults_after_first = 0;
  for (int build = 0; build < 20; build++) {
    char *p = NULL;
    for (size_t len = 0; len < target; len += step) {
      p = crowd_realloc(p, len + step);
      assert_non_null(p);
      fill_pattern(p, len, len + step, SEED + (uint32_t)build);
    }
    assert_int_equal(pattern_mismatch(p, target, SEED + (uint32_t)build), target);
    crowd_free(p);
    if (build == 0)
      faults_after_first = minor_faults();
  }
  long per_build = (minor_faults() - faults_after_first) / 19;
  if (per_build > 64)
    fail_msg("rebuilding a 1 MiB buffer faulted %ld pages a time", per_build);
}

/* Asking for less than before still gives the tail back. */
static void shrinking_a_huge_block_gives_back_its_tail(void **state)
{
  char *p = crowd_malloc(16 * MiB);
  assert_non_null(p);
  fill_pattern(p, 0, 16 * MiB, SEED);
  struct crowd_stats before = {.size = sizeof before};
  crowd_stats_get(&before);
  p = crowd_realloc(p, 2 * MiB);
  assert_non_null(p);
  assert_int_equal(pattern_mismatch(p, 2 * MiB, SEED), 2 * MiB);
  struct crowd_stats after = {.size = sizeof after};
  crowd_stats_get(&after);
  if (before.mapped_bytes - after.mapped_bytes < 13 * MiB)
    fail_msg("shrinking 16 -> 2 MiB unmapped only %llu bytes",
             (unsigned long long)(before.mapped_bytes - after.mapped_bytes));
  crowd_free(p);
}

static struct crowd_stats stats_now(void)
{
  struct crowd_stats stats = {.size = sizeof stats};
  crowd_stats_get(&stats);
  return stats;
}

/* A huge block that grows past the peak of live huge bytes leaves nothing
 * cached beside it: the growth faults in fresh pages, and the freed
 * mapping would stack on top of them. */
static void growing_past_the_peak_empties_the_huge_cache(void **state)
{
  crowd_trim(); /* the peak counts from an empty cache: not the other tests' blocks */
  char *kept = crowd_malloc(4 * MiB);
  char *freed = crowd_malloc(8 * MiB);
  assert_non_null(kept);
  assert_non_null(freed);
  fill_pattern(kept, 0, 4 * MiB, SEED);
  fill_pattern(freed, 0, 8 * MiB, SEED);
  crowd_free(freed);
  uint64_t cached = stats_now().huge_cached_bytes;
  if (cached < 8 * MiB)
    fail_msg("a freed 8 MiB block left %llu bytes cached", (unsigned long long)cached);
  kept = resize_and_check(kept, 4 * MiB, 16 * MiB);
  cached = stats_now().huge_cached_bytes;
  if (cached != 0)
    fail_msg("growing 4 -> 16 MiB past a 12 MiB peak kept %llu bytes cached", (unsigned long long)cached);
  crowd_free(kept);
}

/* Huge blocks that grow past their peak take fresh pages that no free
 * slot of the areas could have served: the slots waiting for the purge
 * delay are given back then, not held beside them. */
static void huge_growth_gives_back_waiting_slots(void **state)
{
  crowd_trim(); /* nothing waits, and the huge peak counts from here */
  enum { BLOCKS = 8 };
  char *blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    blocks[i] = crowd_malloc(256 * 1024);
    assert_non_null(blocks[i]);
    fill_pattern(blocks[i], 0, 256 * 1024, SEED);
  }
  for (int i = 0; i < BLOCKS; i++) crowd_free(blocks[i]);
  uint64_t waiting = stats_now().pages_free_resident;
  if (waiting < BLOCKS * 4)
    fail_msg("8 freed 256 KiB blocks left only %llu slots waiting", (unsigned long long)waiting);
  struct timespec pause = {0, 40 * 1000 * 1000}; /* older than what is "just freed" */
  while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
  }
  char *huge = crowd_malloc(8 * MiB);
  assert_non_null(huge);
  waiting = stats_now().pages_free_resident;
  if (waiting != 0)
    fail_msg("a huge block past the peak left %llu slots waiting", (unsigned long long)waiting);
  crowd_free(huge);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(realloc_through_every_class_and_back),
    cmocka_unit_test(realloc_through_every_class_with_blockers),
    cmocka_unit_test(realloc_into_huge_and_back),
    cmocka_unit_test(two_huge_blocks_grow_side_by_side),
    cmocka_unit_test(rebuilt_buffer_keeps_its_pages),
    cmocka_unit_test(shrinking_a_huge_block_gives_back_its_tail),
    cmocka_unit_test(growing_past_the_peak_empties_the_huge_cache),
    cmocka_unit_test(huge_growth_gives_back_waiting_slots),
  };
  return cmocka_run_group_tests_name("realloc", tests, NULL, NULL);
}
