/* The 32-bit millisecond stamps of the page descriptors (src/internal.h).
 *
 * The release thread reads the clock once per pass, and an owner thread
 * may stamp a page a moment later: a stamp can be ahead of the reading it
 * is compared with.  That must read as age 0.  Taken as a time 49 days
 * ahead, it gave the release thread a due time it slept towards for good,
 * and nothing was given back after the purge delay again. */
#include "unit_helpers.h"

#include "internal.h"

static void a_stamp_reads_back_as_its_time(void **state)
{
  (void)state;
  uint64_t now = 5000000;
  assert_int_equal(crowd_ms_unstamp(crowd_ms_stamp(now - 1234), now), now - 1234);
  assert_int_equal(crowd_ms_unstamp(crowd_ms_stamp(now), now), now);
}

static void a_stamp_ahead_of_the_clock_reading_is_age_zero(void **state)
{
  (void)state;
  uint64_t now = 5000000;
  for (uint64_t ahead = 1; ahead <= 1000; ahead *= 10)
    assert_int_equal(crowd_ms_unstamp(crowd_ms_stamp(now + ahead), now), now);
}

static void stamps_work_across_the_32_bit_wrap(void **state)
{
  (void)state;
  uint64_t wrap = (uint64_t)1 << 32;
  /* Taken 10 ms before the low 32 bits wrapped, read 10 ms after. */
  assert_int_equal(crowd_ms_unstamp(crowd_ms_stamp(wrap - 10), wrap + 10), wrap - 10);
  /* Taken just after the wrap, read just before it (another thread). */
  assert_int_equal(crowd_ms_unstamp(crowd_ms_stamp(wrap + 3), wrap - 2), wrap - 2);
  /* 0 means unset: a stamp never is. */
  assert_int_not_equal(crowd_ms_stamp(wrap), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_stamp_reads_back_as_its_time),
      cmocka_unit_test(a_stamp_ahead_of_the_clock_reading_is_age_zero),
      cmocka_unit_test(stamps_work_across_the_32_bit_wrap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
