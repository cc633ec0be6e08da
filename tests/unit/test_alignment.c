/* Aligned allocation: aligned_alloc, memalign and posix_memalign for every
 * power of two up to 4 MiB, valloc and pvalloc.  Every result must be
 * aligned (and at least 16-aligned, crowd's minimum), hold the requested
 * size, and be writable over its whole usable size without touching the
 * other blocks of the same batch. */
#include "unit_helpers.h"

#include <crowd.h>
#include <errno.h>
#include <stdlib.h>

#define MAX_ALIGNMENT (4 * MiB)
#define MIN_ALIGNMENT 16

enum aligned_api { ALIGNED_ALLOC, MEMALIGN, POSIX_MEMALIGN };
static const char *const api_names[] = {"aligned_alloc", "memalign", "posix_memalign"};

static void *allocate_aligned(enum aligned_api api, size_t alignment, size_t size)
{
  switch (api) {
  case ALIGNED_ALLOC:
    return crowd_aligned_alloc(alignment, size);
  case MEMALIGN:
    return crowd_memalign(alignment, size);
  case POSIX_MEMALIGN: {
    void *p = NULL;
    int rc = crowd_posix_memalign(&p, alignment, size);
    if (rc != 0)
      fail_msg("posix_memalign(%zu, %zu) returned %d", alignment, size, rc);
    return p;
  }
  }
  return NULL;
}

/* The sizes that sit on and around the alignment, plus a fixed medium one. */
static size_t sizes_for_alignment(size_t alignment, size_t out[8])
{
  size_t sizes[] = {0, 1, 17, alignment - 1, alignment, alignment + 1,
                    3 * alignment, 200000};
  memcpy(out, sizes, sizeof sizes);
  return TABLE_LEN(sizes);
}

static void check_block(enum aligned_api api, void *p, size_t alignment, size_t size)
{
  if (p == NULL)
    fail_msg("%s(%zu, %zu) returned NULL", api_names[api], alignment, size);
  size_t want = alignment > MIN_ALIGNMENT ? alignment : MIN_ALIGNMENT;
  if ((uintptr_t)p % want != 0)
    fail_msg("%s(%zu, %zu) = %p is not %zu-aligned", api_names[api], alignment,
             size, p, want);
  if (crowd_usable_size(p) < size)
    fail_msg("%s(%zu, %zu): usable size %zu is below the request",
             api_names[api], alignment, size, crowd_usable_size(p));
}

/* All sizes for one alignment are live together, each filled over its full
 * usable size with its own byte, then checked: overlap shows as a foreign
 * byte. */
static void check_api_at_alignment(enum aligned_api api, size_t alignment)
{
  size_t sizes[8];
  size_t n = sizes_for_alignment(alignment, sizes);
  void *blocks[8];
  for (size_t i = 0; i < n; i++) {
    blocks[i] = allocate_aligned(api, alignment, sizes[i]);
    check_block(api, blocks[i], alignment, sizes[i]);
    memset(blocks[i], (int)(0x40 + i), crowd_usable_size(blocks[i]));
  }
  for (size_t i = 0; i < n; i++) {
    size_t usable = crowd_usable_size(blocks[i]);
    size_t bad = byte_mismatch(blocks[i], usable, (uint8_t)(0x40 + i));
    if (bad != usable)
      fail_msg("%s(%zu, %zu): byte %zu of %zu was overwritten", api_names[api],
               alignment, sizes[i], bad, usable);
  }
  for (size_t i = 0; i < n; i++)
    crowd_free(blocks[i]);
}

static void aligned_alloc_every_power_of_two(void **state)
{
  for (size_t a = 1; a <= MAX_ALIGNMENT; a *= 2)
    check_api_at_alignment(ALIGNED_ALLOC, a);
}

static void memalign_every_power_of_two(void **state)
{
  for (size_t a = 1; a <= MAX_ALIGNMENT; a *= 2)
    check_api_at_alignment(MEMALIGN, a);
}

static void posix_memalign_every_power_of_two(void **state)
{
  for (size_t a = sizeof(void *); a <= MAX_ALIGNMENT; a *= 2)
    check_api_at_alignment(POSIX_MEMALIGN, a);
}

static const size_t page_sized_requests[] = {0, 1, 100, 4095, 4096, 4097,
                                             100000, 200000, 1 << 20, (1 << 20) + 1};

static void valloc_is_page_aligned(void **state)
{
  size_t page = page_size();
  for (size_t i = 0; i < TABLE_LEN(page_sized_requests); i++) {
    size_t size = page_sized_requests[i];
    char *p = crowd_valloc(size);
    assert_non_null(p);
    if ((uintptr_t)p % page != 0)
      fail_msg("valloc(%zu) = %p is not page-aligned", size, (void *)p);
    assert_true(crowd_usable_size(p) >= size);
    memset(p, 0x77, crowd_usable_size(p));
    crowd_free(p);
  }
}

/* pvalloc rounds the request up to whole pages: the rounded size is what
 * the caller may use. */
static void pvalloc_is_page_aligned_and_page_rounded(void **state)
{
  size_t page = page_size();
  for (size_t i = 0; i < TABLE_LEN(page_sized_requests); i++) {
    size_t size = page_sized_requests[i];
    char *p = crowd_pvalloc(size);
    assert_non_null(p);
    if ((uintptr_t)p % page != 0)
      fail_msg("pvalloc(%zu) = %p is not page-aligned", size, (void *)p);
    size_t rounded = round_up(size, page);
    if (crowd_usable_size(p) < rounded)
      fail_msg("pvalloc(%zu): usable size %zu, want at least %zu", size,
               crowd_usable_size(p), rounded);
    memset(p, 0x78, rounded);
    crowd_free(p);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(aligned_alloc_every_power_of_two),
    cmocka_unit_test(memalign_every_power_of_two),
    cmocka_unit_test(posix_memalign_every_power_of_two),
    cmocka_unit_test(valloc_is_page_aligned),
    cmocka_unit_test(pvalloc_is_page_aligned_and_page_rounded),
  };
  return cmocka_run_group_tests_name("alignment", tests, NULL, NULL);
}
