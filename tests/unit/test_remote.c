/* Frees from another thread come back to the owner: blocks one thread
 * allocates and another frees are reused by the owner's next allocations,
 * whether the pages they sit on were full, queued or current when the
 * frees arrived (the page's "tell me" bit and the owner's notified stack,
 * src/free.c).  Were a notification lost, every round would take fresh
 * pages and pages_in_use would climb. */
#include "unit_helpers.h"

#include <crowd.h>
#include <pthread.h>

#define ROUNDS 6
#define BLOCKS 20000

struct batch {
  void **blocks;
  size_t count;
};

static void *free_all(void *arg)
{
  struct batch *batch = arg;
  for (size_t i = 0; i < batch->count; i++) crowd_free(batch->blocks[i]);
  return NULL;
}

static uint64_t pages_in_use(void)
{
  struct crowd_stats st;
  memset(&st, 0, sizeof st);
  st.size = sizeof st;
  assert_int_equal(crowd_stats_get(&st), 0);
  return st.pages_in_use;
}

static void rounds_of_remote_frees(size_t block_size)
{
  static void *blocks[BLOCKS];
  struct batch batch = {blocks, BLOCKS};
  uint64_t first_round = 0;
  for (int round = 0; round < ROUNDS; round++) {
    for (size_t i = 0; i < BLOCKS; i++) {
      blocks[i] = crowd_malloc(block_size);
      assert_non_null(blocks[i]);
      memset(blocks[i], round, block_size);
    }
    uint64_t pages = pages_in_use();
    if (round == 0) first_round = pages;
    /* A little slack for pages of the thread's own bookkeeping. */
    if (pages > first_round + 2)
      fail_msg("%zu-byte blocks, round %d: %llu pages in use, round 0 needed %llu: "
               "blocks freed by the other thread were not reused",
               block_size, round, (unsigned long long)pages, (unsigned long long)first_round);
    pthread_t freer;
    assert_int_equal(pthread_create(&freer, NULL, free_all, &batch), 0);
    assert_int_equal(pthread_join(freer, NULL), 0);
  }
}

static void remote_frees_of_small_blocks_are_reused(void **state)
{
  rounds_of_remote_frees(48);
}

static void remote_frees_of_direct_table_limit_are_reused(void **state)
{
  rounds_of_remote_frees(1024);
}

static void remote_frees_of_mid_blocks_are_reused(void **state)
{
  rounds_of_remote_frees(3000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(remote_frees_of_small_blocks_are_reused),
      cmocka_unit_test(remote_frees_of_direct_table_limit_are_reused),
      cmocka_unit_test(remote_frees_of_mid_blocks_are_reused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
