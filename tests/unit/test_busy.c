/* A busy heap keeps the free memory of the pages it still uses.
 *
 * The release thread gives back the free 4 KiB sub-pages of a page that
 * stays sparse for the purge delay (here 100 ms).  While the page's heap
 * keeps making pages current, that memory is likely to be wanted again,
 * and giving it back would cost a page fault per 4 KiB when it is: it
 * waits eight delays instead (heap.c, BUSY_HOLD).  Once the heap stops,
 * it goes within a few looks of the release thread, long before the eight
 * delays are over, without any further call into crowd.  Residency is
 * read with mincore(2); the release thread runs on its own. */
#include "unit_helpers.h"

#include <crowd.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

enum { BLOCK = 256, BLOCKS = SLOT / BLOCK, KEEP_EVERY = 32 };
enum { DELAY_MS = 100, BUSY_MS = 3 * DELAY_MS, HOLD_ENDS_MS = 8 * DELAY_MS, QUIET_BY_MS = 7 * DELAY_MS };

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One round of work that makes pages current: a class of its own filled
 * past one page and emptied again. */
static void switch_pages(void)
{
  enum { SIZE = 1024, COUNT = 2 * SLOT / SIZE + 1 };
  void *blocks[COUNT];
  for (int i = 0; i < COUNT; i++) {
    assert_non_null(blocks[i] = crowd_malloc(SIZE));
    memset(blocks[i], 1, 64);
  }
  for (int i = 0; i < COUNT; i++) crowd_free(blocks[i]);
}

static void sparse_page_waits_while_its_heap_is_busy(void **state)
{
  (void)state;
  if (syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0) <= 0 ||
      !(syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0) & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
    skip(); /* without membarrier the release thread takes nothing from a live heap */
  /* One page of 256-byte blocks, every byte written, then all but every
   * 32nd block freed: 8 live blocks, one in every other sub-page. */
  void *blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    assert_non_null(blocks[i] = crowd_malloc(BLOCK));
    memset(blocks[i], 0x5a, BLOCK);
  }
  uintptr_t slot = slot_of(blocks[0]);
  for (int i = 0; i < BLOCKS; i++)
    if (slot_of(blocks[i]) != slot) fail_msg("block %d is not in the first block's slot", i);
  for (int i = 0; i < BLOCKS; i++)
    if (i % KEEP_EVERY != 0) crowd_free(blocks[i]);
  assert_true(resident_from(slot, 0) >= SUBPAGES - 1);

  /* Busy for three purge delays: the sparse page keeps its sub-pages.  The
   * work pauses often, as a program's does, so that the release thread
   * finds the heap outside malloc and free (it takes nothing from a heap
   * inside them, nor while it holds its lock). */
  double start = now_ms();
  while (now_ms() - start < BUSY_MS) {
    switch_pages();
    struct timespec pause = {0, 2 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  unsigned held = resident_from(slot, 0);
  if (held < SUBPAGES - 1)
    fail_msg("while its heap was busy the sparse page gave back %u of %u sub-pages", SUBPAGES - held, SUBPAGES);

  /* Idle: no call into crowd; the free sub-pages go once the release
   * thread finds the heap quiet, before the hold would have ended. */
  unsigned resident = held;
  while (now_ms() - start < QUIET_BY_MS && (resident = resident_from(slot, 0)) > SUBPAGES / 2) {
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  if (resident > SUBPAGES / 2)
    fail_msg("%d ms after the page became sparse (%d ms idle) it still has %u of %u sub-pages resident "
             "(the hold would end at %d ms)", QUIET_BY_MS, QUIET_BY_MS - BUSY_MS, resident, SUBPAGES, HOLD_ENDS_MS);
  for (int i = 0; i < BLOCKS; i += KEEP_EVERY) {
    const unsigned char *b = blocks[i];
    for (int k = 0; k < BLOCK; k++)
      if (b[k] != 0x5a) fail_msg("live block %d lost its contents at byte %d", i, k);
    crowd_free(blocks[i]);
  }
}

int main(int argc, char **argv)
{
  (void)argc;
  static const char *const options[] = {"CROWD_PURGE_DELAY=100", "CROWD_RELEASE_THREAD=1", "CROWD_PURGE=dontneed",
                                        NULL};
  run_with_options(argv, options);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sparse_page_waits_while_its_heap_is_busy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
