/* Borrowing from the class above (src/borrow.c): a 1-8 KiB class about to
 * carve fresh memory takes a free block of the next class up, and stops
 * doing so once that class ran dry after lending, until it frees a block of
 * its own.  One thread, classes no other test here touches: 1536 B
 * (requests of 1500) borrows from 1664 B (requests of 1600). */
#include "unit_helpers.h"

#include <crowd.h>

enum { BORROWER_SIZE = 1500, BORROWER_CLASS = 1536, LENDER_SIZE = 1600, LENDER_CLASS = 1664, LENDERS = 64 };

static void *lenders[LENDERS];

static void *checked_malloc(size_t size)
{
  void *p = crowd_malloc(size);
  assert_non_null(p);
  memset(p, 0x5a, size);
  return p;
}

static void a_growing_class_borrows_then_waits_for_a_free_of_its_own(void **state)
{
  /* The lender's page: some blocks live, some free. */
  for (int i = 0; i < LENDERS; i++) lenders[i] = checked_malloc(LENDER_SIZE);
  for (int i = 0; i < LENDERS; i += 2) {
    crowd_free(lenders[i]);
    lenders[i] = NULL;
  }

  /* The borrower has no free block: it gets one of the lender's. */
  void *borrowed = checked_malloc(BORROWER_SIZE);
  assert_int_equal(crowd_usable_size(borrowed), LENDER_CLASS);

  /* The lender uses up its free blocks and has to go back to its page. */
  for (int i = 0; i < LENDERS; i += 2) lenders[i] = checked_malloc(LENDER_SIZE);
  void *extra = checked_malloc(LENDER_SIZE);
  crowd_free(extra); /* the lender has a free block again */

  /* Now the borrower carves its own, although the lender has a free block. */
  void *own = checked_malloc(BORROWER_SIZE);
  assert_int_equal(crowd_usable_size(own), BORROWER_CLASS);
  void *own2 = checked_malloc(BORROWER_SIZE);
  assert_int_equal(crowd_usable_size(own2), BORROWER_CLASS);

  /* A free of its own lifts the wait: once its own free block is reused,
   * it borrows again. */
  crowd_free(own);
  void *reused = checked_malloc(BORROWER_SIZE);
  assert_ptr_equal(reused, own);
  /* Its page may still hold blocks carved with own2: use them up. */
  void *more[64];
  int taken = 0;
  for (; taken < 64; taken++) {
    more[taken] = checked_malloc(BORROWER_SIZE);
    if (crowd_usable_size(more[taken]) == LENDER_CLASS) break;
  }
  if (taken == 64) fail_msg("the class never borrowed again after a free of its own");

  for (int i = 0; i <= taken && i < 64; i++) crowd_free(more[i]);
  crowd_free(reused);
  crowd_free(own2);
  crowd_free(borrowed);
  for (int i = 0; i < LENDERS; i++) crowd_free(lenders[i]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_growing_class_borrows_then_waits_for_a_free_of_its_own),
  };
  return cmocka_run_group_tests_name("borrow", tests, NULL, NULL);
}
