/* Memory a page inherits and never uses goes back to the kernel.
 *
 * A page formed on slots that an earlier page left resident (they wait
 * for the purge delay so that the next page does not fault them in again)
 * holds that page's memory above its own bump mark.  If the new page does
 * not grow into it, crowd gives it back: at once when a shared-class page
 * drains to empty and stays its class's current page, else once it has
 * gone unused for the purge delay (here forced with crowd_trim).  Without that, a page
 * holding one small block would keep a whole slot resident for as long as
 * it lives.  Residency is read with mincore(2). */
#include "unit_helpers.h"

#include <crowd.h>
#include <stdlib.h>


/* Fills one slot with blocks of `size` (every byte written), then frees
 * them: the slot waits, resident, for the next page.  Returns the slot;
 * *keep is a block of the same class left live on the next page, so that
 * the slot's page is not its class's only page when it empties. */
static uintptr_t leave_a_resident_slot(size_t size, void **keep)
{
  size_t count = SLOT / size;
  void **blocks = calloc(count, sizeof *blocks);
  assert_non_null(blocks);
  for (size_t i = 0; i < count; i++) {
    assert_non_null(blocks[i] = crowd_malloc(size));
    memset(blocks[i], 0x5a, size);
  }
  uintptr_t slot = slot_of(blocks[0]);
  for (size_t i = 0; i < count; i++)
    if (slot_of(blocks[i]) != slot) fail_msg("block %zu of %zu bytes is not in the first block's slot", i, size);
  assert_non_null(*keep = crowd_malloc(size)); /* the slot's page is full: a new one */
  assert_true(slot_of(*keep) != slot);
  for (size_t i = 0; i < count; i++) crowd_free(blocks[i]);
  free(blocks);
  if (resident_from(slot, 0) < SUBPAGES - 1) fail_msg("the freed slot did not stay resident");
  return slot;
}

/* A page that keeps a block gives back the rest of its slot once it has
 * not grown into it for the purge delay. */
static void unused_inherited_memory_goes_after_the_delay(void **state)
{
  (void)state;
  void *keep;
  uintptr_t slot = leave_a_resident_slot(1024, &keep);
  /* A class this thread has not used yet: its first page is formed on the
   * only slot that waits resident, and touches its first 4 KiB. */
  uint8_t *block = crowd_malloc(2000);
  assert_non_null(block);
  if (slot_of(block) != slot) fail_msg("the new page was not formed on the resident slot");
  fill_pattern(block, 0, 2000, 7);
  assert_true(resident_from(slot, OS_PAGE_BYTES) >= SUBPAGES - 2); /* inherited */
  crowd_trim();
  unsigned left = resident_from(slot, OS_PAGE_BYTES);
  if (left != 0) fail_msg("%u pages above the page's bump mark still resident after crowd_trim", left);
  assert_int_equal(pattern_mismatch(block, 2000, 7), 2000);
  crowd_free(block);
  crowd_free(keep);
}

/* A page of a shared class (blocks above 8 KiB) that drains to empty and
 * stays its class's current page gives the inherited rest back at once:
 * the class will be served from the blocks the page has. */
static void inherited_memory_goes_when_a_shared_page_empties(void **state)
{
  (void)state;
  void *keep;
  uintptr_t slot = leave_a_resident_slot(16 * 1024, &keep);
  uint8_t *block = crowd_malloc(12 * 1024); /* 12 KiB blocks, carved one at a time */
  assert_non_null(block);
  if (slot_of(block) != slot) fail_msg("the new page was not formed on the resident slot");
  assert_true(resident_from(slot, 3 * OS_PAGE_BYTES) >= SUBPAGES - 4);
  crowd_free(block);
  unsigned left = resident_from(slot, 3 * OS_PAGE_BYTES);
  if (left != 0) fail_msg("%u pages above the emptied page's bump mark still resident", left);
  /* The page serves its class again. */
  uint8_t *again = crowd_malloc(12 * 1024);
  assert_non_null(again);
  assert_true(slot_of(again) == slot);
  fill_pattern(again, 0, 12 * 1024, 9);
  assert_int_equal(pattern_mismatch(again, 12 * 1024, 9), 12 * 1024);
  crowd_free(again);
  crowd_free(keep);
}

int main(int argc, char **argv)
{
  /* Freed slots must wait resident for the whole test (the default delay
   * is 500 ms; this makes it independent of the machine's speed). */
  (void)argc;
  static const char *const options[] = {"CROWD_PURGE_DELAY=60000", NULL};
  run_with_options(argv, options);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unused_inherited_memory_goes_after_the_delay),
      cmocka_unit_test(inherited_memory_goes_when_a_shared_page_empties),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
