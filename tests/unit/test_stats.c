/* crowd_stats_get: fills the header fields, counts live blocks and bytes
 * exactly enough to see 1000 allocations come and go, counts huge blocks,
 * and never writes past the size the caller declared (older callers). */
#include "unit_helpers.h"

#include <crowd.h>
#include <stddef.h>

static struct crowd_stats stats_now(void)
{
  struct crowd_stats st;
  memset(&st, 0xFF, sizeof st);
  st.size = sizeof st;
  assert_int_equal(crowd_stats_get(&st), 0);
  return st;
}

static void stats_fill_size_and_version(void **state)
{
  /* Hold a block so that crowd has mapped memory even when the test runs
   * under a sanitizer (which keeps malloc itself). */
  void *held = crowd_malloc(100);
  assert_non_null(held);
  struct crowd_stats st = stats_now();
  assert_int_equal(st.size, sizeof st);
  assert_int_equal(st.version, CROWD_STATS_VERSION);
  assert_int_equal(st.requested_bytes, 0); /* documented as not tracked */
  assert_true(st.mapped_bytes > 0);
  assert_true(st.live_bytes >= st.huge_live_bytes);
  crowd_free(held);
}

#define N_BLOCKS 1000
#define BLOCK_SIZE 64

static void live_counts_follow_allocations(void **state)
{
  static void *blocks[N_BLOCKS];
  struct crowd_stats before = stats_now();
  for (int i = 0; i < N_BLOCKS; i++)
    assert_non_null(blocks[i] = crowd_malloc(BLOCK_SIZE));
  struct crowd_stats allocated = stats_now();
  for (int i = 0; i < N_BLOCKS; i++)
    crowd_free(blocks[i]);
  struct crowd_stats freed = stats_now();

  if (allocated.live_blocks < before.live_blocks + N_BLOCKS)
    fail_msg("live_blocks went %llu -> %llu after %d allocations",
             (unsigned long long)before.live_blocks,
             (unsigned long long)allocated.live_blocks, N_BLOCKS);
  if (allocated.live_bytes < before.live_bytes + N_BLOCKS * BLOCK_SIZE)
    fail_msg("live_bytes went %llu -> %llu after %d x %d bytes",
             (unsigned long long)before.live_bytes,
             (unsigned long long)allocated.live_bytes, N_BLOCKS, BLOCK_SIZE);
  /* A few blocks of slack: freeing pages may start crowd's release thread,
   * and pthread_create allocates its thread descriptor's DTV with calloc. */
  if (freed.live_blocks + N_BLOCKS > allocated.live_blocks + 4)
    fail_msg("live_blocks went %llu -> %llu after freeing %d blocks",
             (unsigned long long)allocated.live_blocks,
             (unsigned long long)freed.live_blocks, N_BLOCKS);
  if (freed.live_bytes + N_BLOCKS * BLOCK_SIZE > allocated.live_bytes + 4 * 4096)
    fail_msg("live_bytes went %llu -> %llu after freeing %d x %d bytes",
             (unsigned long long)allocated.live_bytes,
             (unsigned long long)freed.live_bytes, N_BLOCKS, BLOCK_SIZE);
}

static void huge_blocks_are_counted(void **state)
{
  const size_t size = 4 * MiB; /* above the 2 MiB large-block limit: a huge block */
  struct crowd_stats before = stats_now();
  char *p = crowd_malloc(size);
  assert_non_null(p);
  memset(p, 1, size);
  struct crowd_stats allocated = stats_now();
  crowd_free(p);
  struct crowd_stats freed = stats_now();

  assert_true(allocated.huge_live_bytes >= before.huge_live_bytes + size);
  assert_true(allocated.live_bytes >= before.live_bytes + size);
  assert_true(allocated.mapped_bytes >= size);
  assert_true(freed.huge_live_bytes + size <= allocated.huge_live_bytes);
  assert_true(freed.live_bytes + size <= allocated.live_bytes);
}

/* A caller built against an older, shorter struct: crowd must fill only
 * what that struct has room for and leave the bytes after it alone. */
static void stats_respect_a_shorter_caller_struct(void **state)
{
  const size_t old_size = offsetof(struct crowd_stats, requested_bytes);
  union {
    struct crowd_stats st;
    unsigned char bytes[sizeof(struct crowd_stats) + 64];
  } buf;
  memset(&buf, 0xA5, sizeof buf);
  buf.st.size = (uint32_t)old_size;
  assert_int_equal(crowd_stats_get(&buf.st), 0);
  assert_int_equal(buf.st.version, CROWD_STATS_VERSION);
  assert_true(buf.st.live_blocks != 0xA5A5A5A5A5A5A5A5ull);
  size_t tail = sizeof buf - old_size;
  size_t bad = byte_mismatch(buf.bytes + old_size, tail, 0xA5);
  if (bad != tail)
    fail_msg("crowd_stats_get wrote byte %zu past the caller's %zu-byte struct",
             bad, old_size);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(stats_fill_size_and_version),
    cmocka_unit_test(live_counts_follow_allocations),
    cmocka_unit_test(huge_blocks_are_counted),
    cmocka_unit_test(stats_respect_a_shorter_caller_struct),
  };
  return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
