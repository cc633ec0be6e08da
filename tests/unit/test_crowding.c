/* Crowding on allocation: a thread reuses the holes that frees left in its
 * fuller pages before it hands out blocks of its current page that were
 * never used (crowd_heap_take_roomy, src/heap.c).  Fresh blocks cost memory
 * the program has not touched yet; the holes do not.  Were the holes left
 * alone, the allocations below would all come from untouched memory and
 * none would land where a block was freed. */
#include "unit_helpers.h"

#include <crowd.h>
#include <stdlib.h>
#include <time.h>

enum {
  BLOCK = 64,
  /* Several pages of 64-byte blocks (1024 to a page), and a current page
   * with most of its blocks never handed out. */
  FILLED = 4096 + 300,
  AGAIN = 512,
};

static int compare_addresses(const void *a, const void *b)
{
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

static void holes_are_filled_before_fresh_blocks(void **state)
{
  (void)state;
  static void *blocks[FILLED], *again[AGAIN];
  static uintptr_t freed[AGAIN];
  for (size_t i = 0; i < FILLED; i++) assert_non_null(blocks[i] = crowd_malloc(BLOCK));
  /* Every fourth block of the first full pages: they stay three quarters
   * full, with a quarter of their blocks free. */
  size_t holes = 0;
  for (size_t i = 0; i < 4 * AGAIN; i += 4) {
    freed[holes++] = (uintptr_t)blocks[i];
    crowd_free(blocks[i]);
    blocks[i] = NULL;
  }
  qsort(freed, holes, sizeof freed[0], compare_addresses);
  size_t reused = 0;
  for (size_t i = 0; i < AGAIN; i++) {
    assert_non_null(again[i] = crowd_malloc(BLOCK));
    uintptr_t p = (uintptr_t)again[i];
    if (bsearch(&p, freed, holes, sizeof freed[0], compare_addresses)) reused++;
  }
  /* The current page's blocks already carved (at most a 4 KiB run of
   * them) may come first; everything after them must be a hole. */
  if (reused < AGAIN - 4096 / BLOCK)
    fail_msg("%zu of %d new blocks reused the %zu freed ones; the rest were never used before", reused,
             AGAIN, holes);
  for (size_t i = 0; i < AGAIN; i++) crowd_free(again[i]);
  for (size_t i = 0; i < FILLED; i++) crowd_free(blocks[i]);
}

/* A shared-heap class (8-128 KiB blocks) that needs a page takes the
 * memory of another class's page that has stayed empty, instead of fresh
 * memory: the emptied page would otherwise keep its memory until the
 * purge delay (src/heap.c, crowd_heap_reclaim_empty).  "Stayed empty":
 * emptied 20 ms ago or more and found so at an earlier fresh page of the
 * heap, unused since; a class that allocates from its page meanwhile
 * keeps it.  The four classes here have pages of two 64 KiB slots, so a
 * page formed on the emptied one starts where it did. */
static void emptied_shared_page_serves_another_class(void **state)
{
  (void)state;
  crowd_trim(); /* no freed slot waits anywhere: the next page would be fresh */
  struct timespec pause = {0, 30 * 1000 * 1000};
  void *looping = crowd_malloc(24000), *idle = crowd_malloc(20000);
  assert_non_null(looping);
  assert_non_null(idle);
  crowd_free(looping);
  crowd_free(idle);
  while (nanosleep(&pause, &pause) != 0) {}
  /* A fresh page: both emptied pages are seen empty, neither goes yet. */
  void *second = crowd_malloc(18000);
  assert_non_null(second);
  if (second == looping || second == idle)
    fail_msg("malloc(18000) took an emptied page at the first look");
  /* The 24000-byte class allocates again: its page is in use. */
  crowd_free(crowd_malloc(24000));
  /* Another fresh page: the 20000-byte page stayed empty and serves it. */
  void *third = crowd_malloc(32000);
  assert_non_null(third);
  if (third != idle)
    fail_msg("malloc(32000) at %p, not in the page malloc(20000) emptied at %p", third, idle);
  crowd_free(second);
  crowd_free(third);
  void *again = crowd_malloc(24000);
  if (again != looping)
    fail_msg("malloc(24000) at %p: its class lost the page it kept using at %p", again, looping);
  crowd_free(again);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(holes_are_filled_before_fresh_blocks),
      cmocka_unit_test(emptied_shared_page_serves_another_class),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
