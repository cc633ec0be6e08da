/* crowd_usable_size: never below the request, and the whole usable size is
 * the caller's to write (glibc allows it; real programs do it), so writing
 * it must not reach into a neighbouring block. */
#include "unit_helpers.h"

#include <crowd.h>
#include <pthread.h>
#include <stdio.h>

/* Neighbours of the same size usually sit next to each other in one page,
 * so four of them at once catch a usable size that overstates the slot. */
enum { NEIGHBOURS = 4 };

/* Every size up to 1 KiB, then steps that still land in every size class
 * (odd steps so both class ends are hit), up to 300000 (huge). */
static size_t next_size(size_t size)
{
  if (size < 1024)
    return size + 1;
  if (size < 16384)
    return size + 13;
  return size + 997;
}

static void usable_size_covers_request_and_is_writable(void **state)
{
  void *blocks[NEIGHBOURS];
  for (size_t size = 0; size <= 300000; size = next_size(size)) {
    for (int k = 0; k < NEIGHBOURS; k++) {
      blocks[k] = crowd_malloc(size);
      assert_non_null(blocks[k]);
      size_t usable = crowd_usable_size(blocks[k]);
      if (usable < size)
        fail_msg("malloc(%zu): usable size %zu is below the request", size, usable);
      if (crowd_usable_size(blocks[k]) != usable)
        fail_msg("malloc(%zu): usable size changed between two calls", size);
      fill_pattern(blocks[k], 0, usable, (uint32_t)(size * NEIGHBOURS + k));
    }
    for (int k = 0; k < NEIGHBOURS; k++) {
      size_t usable = crowd_usable_size(blocks[k]);
      size_t bad = pattern_mismatch(blocks[k], usable, (uint32_t)(size * NEIGHBOURS + k));
      if (bad != usable)
        fail_msg("malloc(%zu) block %d: byte %zu of %zu usable was overwritten "
                 "by a neighbour", size, k, bad, usable);
    }
    for (int k = 0; k < NEIGHBOURS; k++)
      crowd_free(blocks[k]);
  }
}

/* Mixed sizes live at once: a block written to its usable size must not
 * spill into blocks of other classes either. */
static void mixed_sizes_written_to_usable_size_stay_separate(void **state)
{
  enum { N = 3000 };
  static void *blocks[N];
  for (int i = 0; i < N; i++) {
    size_t size = (size_t)(i * 7919) % 40000;
    blocks[i] = crowd_malloc(size);
    assert_non_null(blocks[i]);
    fill_pattern(blocks[i], 0, crowd_usable_size(blocks[i]), (uint32_t)i);
  }
  for (int i = 0; i < N; i++) {
    size_t usable = crowd_usable_size(blocks[i]);
    size_t bad = pattern_mismatch(blocks[i], usable, (uint32_t)i);
    if (bad != usable)
      fail_msg("block %d (%zu usable): byte %zu overwritten", i, usable, bad);
    crowd_free(blocks[i]);
  }
}

/* A buffer of a power of two from 1 KiB to 8 KiB plus a small header
 * (SQLite's page cache: 4096 + 8, 1024 + 8) gets a block at most 16 bytes
 * over the power of two, not the next class 12% up; every power of two
 * stays a class of its own.  From 16 KiB up the next class is 12% up.
 * In a thread of its own, on a fresh heap: a 1-8 KiB class may borrow a
 * block of the class above when that class has a page with room
 * (borrow.c), and here the class above has none yet when it is asked. */
static void *check_header_classes(void *failure)
{
  /* In this order each class is asked for before the class above it has
   * a page: power, power + 16, power + power / 8. */
  for (size_t power = 1024; power <= 8192; power *= 2) {
    void *exact = crowd_malloc(power);
    size_t exact_usable = crowd_usable_size(exact);
    crowd_free(exact);
    for (size_t header = 1; header <= 16; header += 5) {
      void *p = crowd_malloc(power + header);
      size_t usable = p ? crowd_usable_size(p) : 0;
      crowd_free(p);
      if (usable != power + 16) {
        snprintf(failure, 200, "malloc(%zu): usable size %zu, want %zu", power + header, usable, power + 16);
        return NULL;
      }
    }
    void *above = crowd_malloc(power + 17);
    size_t above_usable = crowd_usable_size(above);
    crowd_free(above);
    if (exact_usable != power || above_usable != power + power / 8) {
      snprintf(failure, 200, "malloc(%zu), malloc(%zu): usable sizes %zu, %zu", power, power + 17,
               exact_usable, above_usable);
      return NULL;
    }
  }
  void *beyond = crowd_malloc(16384 + 8);
  size_t beyond_usable = crowd_usable_size(beyond);
  crowd_free(beyond);
  if (beyond_usable != 16384 + 2048)
    snprintf(failure, 200, "malloc(16392): usable size %zu, want 18432", beyond_usable);
  return NULL;
}

static void power_of_two_plus_a_header_is_not_padded(void **state)
{
  char failure[200] = "";
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, check_header_classes, failure), 0);
  assert_int_equal(pthread_join(thread, NULL), 0);
  if (failure[0])
    fail_msg("%s", failure);
}

static void usable_size_of_null_is_zero(void **state)
{
  assert_int_equal(crowd_usable_size(NULL), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(usable_size_covers_request_and_is_writable),
    cmocka_unit_test(mixed_sizes_written_to_usable_size_stay_separate),
    cmocka_unit_test(power_of_two_plus_a_header_is_not_padded),
    cmocka_unit_test(usable_size_of_null_is_zero),
  };
  return cmocka_run_group_tests_name("usable_size", tests, NULL, NULL);
}
