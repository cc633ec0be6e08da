/* The glibc malloc contract, checked through the crowd_* names: zero-sized
 * requests, free(NULL), calloc zeroing, overflow and out-of-memory errors,
 * posix_memalign argument errors, realloc(NULL, n), free_sized and
 * crowd_trim. */
#include "unit_helpers.h"

#include <crowd.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static int compare_pointers(const void *a, const void *b)
{
  uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
  return x < y ? -1 : x > y;
}

/* glibc gives each malloc(0) its own minimum block; programs use such
 * pointers as unique keys, so two live ones must never compare equal. */
static void malloc_zero_gives_unique_freeable_pointers(void **state)
{
  enum { N = 2000 };
  static void *blocks[N], *sorted[N];
  for (int i = 0; i < N; i++) {
    blocks[i] = crowd_malloc(0);
    assert_non_null(blocks[i]);
    sorted[i] = blocks[i];
  }
  qsort(sorted, N, sizeof sorted[0], compare_pointers);
  for (int i = 1; i < N; i++)
    if (sorted[i] == sorted[i - 1])
      fail_msg("malloc(0) returned %p twice while both were live", sorted[i]);
  for (int i = 0; i < N; i++)
    crowd_free(blocks[i]);
}

static void free_null_is_a_no_op(void **state)
{
  errno = 4242;
  crowd_free(NULL);
  crowd_free_sized(NULL, 0);
  crowd_free_sized(NULL, 100);
  crowd_free_aligned_sized(NULL, 64, 64);
  /* A no-op leaves errno alone (glibc >= 2.33, POSIX.1-2024). */
  assert_int_equal(errno, 4242);
  void *p = crowd_malloc(16); /* the allocator is still usable */
  assert_non_null(p);
  crowd_free(p);
}

/* Sizes from the smallest class through medium classes to huge blocks,
 * with the class limits (128 KiB) on both sides. */
static const size_t calloc_sizes[] = {
  1, 8, 16, 24, 40, 64, 100, 128, 255, 512, 1000, 2048, 4000, 4096,
  8192, 10000, 16384, 20000, 32768, 50000, 65536, 100000, 131071,
  131072, 131073, 200000, 1 << 20, (3 << 20) + 123, 16 << 20,
};

/* Freed blocks come back dirty; calloc must zero them however it got them
 * (thread cache, page free list, cached huge mapping). */
static void calloc_zeroes_recycled_memory(void **state)
{
  enum { MAX_BATCH = 64 };
  void *blocks[MAX_BATCH];
  for (size_t s = 0; s < TABLE_LEN(calloc_sizes); s++) {
    size_t size = calloc_sizes[s];
    int batch = size <= 4096 ? MAX_BATCH : size <= 131072 ? 8 : 2;
    int rounds = size >= MiB ? 4 : 16;
    for (int r = 0; r < rounds; r++) {
      for (int i = 0; i < batch; i++) {
        blocks[i] = crowd_malloc(size);
        assert_non_null(blocks[i]);
        memset(blocks[i], 0xAA, crowd_usable_size(blocks[i]));
      }
      for (int i = 0; i < batch; i++)
        crowd_free(blocks[i]);
      for (int i = 0; i < batch; i++) {
        /* Alternate the factor order: both must be handled the same. */
        blocks[i] = (i & 1) ? crowd_calloc(1, size) : crowd_calloc(size, 1);
        assert_non_null(blocks[i]);
        size_t bad = byte_mismatch(blocks[i], size, 0);
        if (bad != size)
          fail_msg("calloc(%zu) round %d block %d: byte %zu is 0x%02x, not 0",
                   size, r, i, bad, ((uint8_t *)blocks[i])[bad]);
      }
      for (int i = 0; i < batch; i++)
        crowd_free(blocks[i]);
    }
  }
}

/* Every request here is impossible to satisfy, mostly because a size
 * computation overflows; each must fail cleanly with ENOMEM. */
#define IMPOSSIBLE(fn, expr) \
  static void *fn(void) { return (expr); }
IMPOSSIBLE(malloc_size_max, crowd_malloc(SIZE_MAX))
IMPOSSIBLE(malloc_ptrdiff_max_plus_1, crowd_malloc((size_t)PTRDIFF_MAX + 1))
IMPOSSIBLE(malloc_ptrdiff_max, crowd_malloc((size_t)PTRDIFF_MAX))
IMPOSSIBLE(malloc_size_max_minus_page, crowd_malloc(SIZE_MAX - 4096))
IMPOSSIBLE(calloc_half_times_2, crowd_calloc(SIZE_MAX / 2 + 1, 2))
IMPOSSIBLE(calloc_2_times_half, crowd_calloc(2, SIZE_MAX / 2 + 1))
IMPOSSIBLE(calloc_2p32_times_2p32, crowd_calloc((size_t)1 << 32, (size_t)1 << 32))
IMPOSSIBLE(calloc_max_times_max, crowd_calloc(SIZE_MAX, SIZE_MAX))
IMPOSSIBLE(calloc_1_times_max, crowd_calloc(1, SIZE_MAX))
IMPOSSIBLE(realloc_null_size_max, crowd_realloc(NULL, SIZE_MAX))
IMPOSSIBLE(reallocarray_null_overflow, crowd_reallocarray(NULL, SIZE_MAX / 2 + 1, 2))
IMPOSSIBLE(aligned_alloc_size_max, crowd_aligned_alloc(64, SIZE_MAX))
IMPOSSIBLE(aligned_alloc_page_ptrdiff_max, crowd_aligned_alloc(4096, (size_t)PTRDIFF_MAX))
IMPOSSIBLE(memalign_size_plus_align_wraps, crowd_memalign(4096, SIZE_MAX - 32))
IMPOSSIBLE(memalign_huge_align_huge_size, crowd_memalign((size_t)1 << 30, SIZE_MAX / 2))
IMPOSSIBLE(valloc_size_max, crowd_valloc(SIZE_MAX))
IMPOSSIBLE(pvalloc_rounding_wraps, crowd_pvalloc(SIZE_MAX - 100))

struct impossible_request {
  const char *name;
  void *(*attempt)(void);
};

static const struct impossible_request impossible_requests[] = {
  {"malloc(SIZE_MAX)", malloc_size_max},
  {"malloc(PTRDIFF_MAX + 1)", malloc_ptrdiff_max_plus_1},
  {"malloc(PTRDIFF_MAX)", malloc_ptrdiff_max},
  {"malloc(SIZE_MAX - 4096)", malloc_size_max_minus_page},
  {"calloc(SIZE_MAX / 2 + 1, 2)", calloc_half_times_2},
  {"calloc(2, SIZE_MAX / 2 + 1)", calloc_2_times_half},
  {"calloc(2^32, 2^32)", calloc_2p32_times_2p32},
  {"calloc(SIZE_MAX, SIZE_MAX)", calloc_max_times_max},
  {"calloc(1, SIZE_MAX)", calloc_1_times_max},
  {"realloc(NULL, SIZE_MAX)", realloc_null_size_max},
  {"reallocarray(NULL, SIZE_MAX / 2 + 1, 2)", reallocarray_null_overflow},
  {"aligned_alloc(64, SIZE_MAX)", aligned_alloc_size_max},
  {"aligned_alloc(4096, PTRDIFF_MAX)", aligned_alloc_page_ptrdiff_max},
  {"memalign(4096, SIZE_MAX - 32)", memalign_size_plus_align_wraps},
  {"memalign(1 GiB, SIZE_MAX / 2)", memalign_huge_align_huge_size},
  {"valloc(SIZE_MAX)", valloc_size_max},
  {"pvalloc(SIZE_MAX - 100)", pvalloc_rounding_wraps},
};

static void impossible_request_fails_with_enomem(void **state)
{
  const struct impossible_request *req = *state;
  errno = 0;
  void *p = req->attempt();
  int err = errno;
  if (p != NULL) {
    crowd_free(p);
    fail_msg("%s returned %p instead of NULL", req->name, p);
  }
  if (err != ENOMEM)
    fail_msg("%s: errno is %d (%s), want ENOMEM", req->name, err, strerror(err));
}

/* A failed resize must leave the original block allocated and intact. */
static void failed_resize_keeps_the_original(void **state)
{
  const size_t sizes[] = {100, 20000, 300000};
  for (size_t s = 0; s < TABLE_LEN(sizes); s++) {
    size_t n = sizes[s];
    char *p = crowd_malloc(n);
    assert_non_null(p);
    fill_pattern(p, 0, n, 7);

    errno = 0;
    assert_null(crowd_reallocarray(p, SIZE_MAX / 2 + 1, 2));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(crowd_reallocarray(p, (size_t)1 << 33, (size_t)1 << 31));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(crowd_realloc(p, SIZE_MAX));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(crowd_realloc(p, (size_t)PTRDIFF_MAX + 1));
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(pattern_mismatch(p, n, 7), n);

    /* and the block still works as a block */
    char *q = crowd_reallocarray(p, 3, n);
    assert_non_null(q);
    assert_int_equal(pattern_mismatch(q, n, 7), n);
    crowd_free(q);
  }
}

/* posix_memalign reports bad alignments through its return value: the
 * alignment must be a power of two and a multiple of sizeof(void *). */
static void posix_memalign_rejects_bad_alignment(void **state)
{
  const size_t bad[] = {0, 1, 2, 3, sizeof(void *) / 2, sizeof(void *) + 4,
                        12, 24, 48, 96, 4097, 65535, SIZE_MAX};
  for (size_t i = 0; i < TABLE_LEN(bad); i++) {
    void *result = NULL;
    int rc = crowd_posix_memalign(&result, bad[i], 64);
    if (rc != EINVAL) {
      if (rc == 0)
        crowd_free(result);
      fail_msg("posix_memalign(alignment %zu) returned %d, want EINVAL (%d)",
               bad[i], rc, EINVAL);
    }
  }
}

static void posix_memalign_reports_enomem_by_return(void **state)
{
  void *result = NULL;
  int rc = crowd_posix_memalign(&result, 64, SIZE_MAX);
  assert_int_equal(rc, ENOMEM);
  rc = crowd_posix_memalign(&result, 4096, (size_t)PTRDIFF_MAX + 1);
  assert_int_equal(rc, ENOMEM);
}

static void realloc_null_acts_as_malloc(void **state)
{
  const size_t sizes[] = {0, 1, 16, 100, 5000, 131072, 200000, 3 * MiB};
  for (size_t i = 0; i < TABLE_LEN(sizes); i++) {
    char *p = crowd_realloc(NULL, sizes[i]);
    assert_non_null(p);
    assert_true(crowd_usable_size(p) >= sizes[i]);
    memset(p, 0x3C, sizes[i]);
    crowd_free(p);
  }
}

static uint64_t live_blocks_now(void)
{
  struct crowd_stats st = {.size = sizeof st};
  assert_int_equal(crowd_stats_get(&st), 0);
  return st.live_blocks;
}

/* free_sized with the size the block was asked for is a valid free: the
 * blocks must come back (live count drops) without any complaint. */
static void free_sized_accepts_matching_blocks(void **state)
{
  const size_t sizes[] = {1, 16, 48, 100, 1000, 4096, 20000, 131072, 200000, 2 * MiB};
  enum { PER_SIZE = 50 };
  static void *blocks[TABLE_LEN(sizes)][PER_SIZE];
  uint64_t before = live_blocks_now();
  for (size_t s = 0; s < TABLE_LEN(sizes); s++)
    for (int i = 0; i < PER_SIZE; i++)
      assert_non_null(blocks[s][i] = crowd_malloc(sizes[s]));
  uint64_t allocated = live_blocks_now();
  assert_true(allocated >= before + TABLE_LEN(sizes) * PER_SIZE);
  for (size_t s = 0; s < TABLE_LEN(sizes); s++)
    for (int i = 0; i < PER_SIZE; i++)
      crowd_free_sized(blocks[s][i], sizes[s]);
  assert_true(live_blocks_now() + TABLE_LEN(sizes) * PER_SIZE <= allocated);
}

static void free_aligned_sized_accepts_matching_blocks(void **state)
{
  const size_t aligns[] = {16, 64, 256, 4096, 65536, 2 * MiB};
  const size_t sizes[] = {1, 100, 4096, 100000};
  enum { N = TABLE_LEN(aligns) * TABLE_LEN(sizes) };
  void *blocks[N];
  uint64_t before = live_blocks_now();
  for (size_t a = 0, k = 0; a < TABLE_LEN(aligns); a++)
    for (size_t s = 0; s < TABLE_LEN(sizes); s++, k++) {
      /* aligned_alloc sizes are whole multiples of the alignment (C11) */
      size_t size = round_up(sizes[s], aligns[a]);
      blocks[k] = crowd_aligned_alloc(aligns[a], size);
      assert_non_null(blocks[k]);
      assert_int_equal((uintptr_t)blocks[k] % aligns[a], 0);
    }
  uint64_t allocated = live_blocks_now();
  assert_true(allocated >= before + N);
  for (size_t a = 0, k = 0; a < TABLE_LEN(aligns); a++)
    for (size_t s = 0; s < TABLE_LEN(sizes); s++, k++)
      crowd_free_aligned_sized(blocks[k], aligns[a], round_up(sizes[s], aligns[a]));
  assert_true(live_blocks_now() + N <= allocated);
}

/* crowd_trim after a big free must return, release what it promised (no
 * free page left resident) and leave the allocator fully usable. */
static void trim_after_frees_releases_and_keeps_working(void **state)
{
  enum { N = 64 * 1024 };
  static void *blocks[N];
  for (int i = 0; i < N; i++) {
    blocks[i] = crowd_malloc(1000);
    assert_non_null(blocks[i]);
    memset(blocks[i], 0x11, 1000);
  }
  void *huge = crowd_malloc(8 * MiB);
  assert_non_null(huge);
  memset(huge, 0x22, 8 * MiB);
  for (int i = 0; i < N; i++)
    crowd_free(blocks[i]);
  crowd_free(huge);

  struct crowd_stats before = {.size = sizeof before};
  assert_int_equal(crowd_stats_get(&before), 0);
  (void)crowd_trim();
  struct crowd_stats after = {.size = sizeof after};
  assert_int_equal(crowd_stats_get(&after), 0);
  if (after.resident_bytes > before.resident_bytes)
    fail_msg("resident_bytes grew across crowd_trim: %llu -> %llu",
             (unsigned long long)before.resident_bytes,
             (unsigned long long)after.resident_bytes);
  if (after.pages_free_resident != 0)
    fail_msg("crowd_trim left %llu free pages resident",
             (unsigned long long)after.pages_free_resident);

  for (int i = 0; i < 1000; i++) {
    char *p = crowd_malloc(1000);
    assert_non_null(p);
    memset(p, 0x33, 1000);
    crowd_free(p);
  }
  (void)crowd_trim(); /* a second trim with nothing to give back is fine too */
}

int main(void)
{
  static struct CMUnitTest tests[32 + TABLE_LEN(impossible_requests)];
  size_t n = 0;
  const struct CMUnitTest fixed[] = {
    cmocka_unit_test(malloc_zero_gives_unique_freeable_pointers),
    cmocka_unit_test(free_null_is_a_no_op),
    cmocka_unit_test(calloc_zeroes_recycled_memory),
    cmocka_unit_test(failed_resize_keeps_the_original),
    cmocka_unit_test(posix_memalign_rejects_bad_alignment),
    cmocka_unit_test(posix_memalign_reports_enomem_by_return),
    cmocka_unit_test(realloc_null_acts_as_malloc),
    cmocka_unit_test(free_sized_accepts_matching_blocks),
    cmocka_unit_test(free_aligned_sized_accepts_matching_blocks),
    cmocka_unit_test(trim_after_frees_releases_and_keeps_working),
  };
  for (size_t i = 0; i < TABLE_LEN(fixed); i++)
    tests[n++] = fixed[i];
  /* One cmocka test per impossible request, named after the request. */
  for (size_t i = 0; i < TABLE_LEN(impossible_requests); i++)
    tests[n++] = (struct CMUnitTest){
      .name = impossible_requests[i].name,
      .test_func = impossible_request_fails_with_enomem,
      .initial_state = (void *)&impossible_requests[i],
    };
  return _cmocka_run_group_tests("contract", tests, n, NULL, NULL);
}
