/* The rest of the malloc family, on top of crowd_malloc/crowd_free, and
 * their glibc names.  Semantics follow glibc 2.36 where C leaves a choice
 * (realloc(p, 0) frees and returns NULL; memalign rounds a non-power-of-two
 * alignment up), except that aligned_alloc rejects a bad alignment with
 * EINVAL as glibc 2.38 and C17 do. */
#include <errno.h>
#include <malloc.h>
#include <string.h>

#include "internal.h"

#define ALIAS(name, target) CROWD_EXPORT __typeof__(target) name __attribute__((alias(#target)))

CROWD_EXPORT void *crowd_calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) { errno = ENOMEM; return NULL; }
  if (total > CROWD_SMALL_MAX) return crowd_big_alloc(total, true);
  void *p = crowd_malloc(total);
  if (p) memset(p, 0, total);
  return p;
}

CROWD_EXPORT void *crowd_realloc(void *p, size_t size) {
  if (p == NULL) return crowd_malloc(size);
  if (size == 0) { crowd_free(p); return NULL; }
  uintptr_t area_address = crowd_area_of(p);
  if (!crowd_area_registered(area_address)) crowd_fatal("realloc of a pointer crowd did not hand out", p);
  struct area *area = (struct area *)area_address;
  if (area->kind == AREA_HUGE && size > CROWD_SMALL_MAX)
    return crowd_huge_realloc((struct huge *)area, p, size);
  size_t old = crowd_block_size(p);
  if (area->kind == AREA_PAGES) {
    if (((struct block *)p)->check == (crowd_cookie ^ (uintptr_t)p)) crowd_fatal("realloc of a freed pointer", p);
    /* Same class: nothing to do.  Shrinking within half the block also
     * stays, as in glibc, so that trimming a buffer costs no copy. */
    if (size <= old && (size > CROWD_SMALL_MAX || crowd_size_class(size) == crowd_size_class(old) || size >= old / 2))
      return p;
  }
  void *fresh = crowd_malloc(size);
  if (!fresh) return NULL;
  memcpy(fresh, p, old < size ? old : size);
  if (area->kind == AREA_PAGES && old > CROWD_SMALL_MAX) crowd_large_free_moved(p);
  else crowd_free(p);
  return fresh;
}

CROWD_EXPORT void *crowd_reallocarray(void *p, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) { errno = ENOMEM; return NULL; }
  return crowd_realloc(p, total);
}

/* Aligned blocks: the smallest class at least size bytes whose block size
 * is a multiple of the alignment (page starts are 64 KiB aligned, so every
 * block of that class is aligned); else a huge block. */
void *crowd_alloc_aligned(size_t alignment, size_t size) {
  if (alignment <= CROWD_MIN_ALIGN) return crowd_malloc(size);
  if (size > PTRDIFF_MAX) { errno = ENOMEM; return NULL; }
  crowd_ensure_init();
  if (size <= CROWD_SMALL_MAX && alignment <= SLOT_SIZE) {
    for (unsigned c = crowd_size_class(size ? size : 1); c < CLASS_COUNT; c++) {
      if (crowd_classes[c].size % alignment == 0) return crowd_alloc_class(c);
    }
  }
  return crowd_huge_alloc(size, alignment, false);
}

static bool power_of_two(size_t x) { return x && !(x & (x - 1)); }

CROWD_EXPORT int crowd_posix_memalign(void **result, size_t alignment, size_t size) {
  if (!power_of_two(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
  int saved = errno;
  void *p = crowd_alloc_aligned(alignment, size);
  if (!p) { errno = saved; return ENOMEM; }
  *result = p;
  return 0;
}

CROWD_EXPORT void *crowd_aligned_alloc(size_t alignment, size_t size) {
  if (!power_of_two(alignment)) { errno = EINVAL; return NULL; }
  return crowd_alloc_aligned(alignment, size);
}

CROWD_EXPORT void *crowd_memalign(size_t alignment, size_t size) {
  if (alignment > ((size_t)1 << 62)) { errno = EINVAL; return NULL; }
  if (!power_of_two(alignment)) {
    size_t rounded = CROWD_MIN_ALIGN;
    while (rounded < alignment) rounded <<= 1;
    alignment = rounded;
  }
  return crowd_alloc_aligned(alignment, size);
}

CROWD_EXPORT void *crowd_valloc(size_t size) { return crowd_alloc_aligned(OS_PAGE, size); }

CROWD_EXPORT void *crowd_pvalloc(size_t size) {
  size_t rounded = (size + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
  if (rounded < size) { errno = ENOMEM; return NULL; }
  return crowd_alloc_aligned(OS_PAGE, rounded ? rounded : OS_PAGE);
}

CROWD_EXPORT size_t crowd_usable_size(const void *p) {
  return p ? crowd_block_size(p) : 0;
}


CROWD_EXPORT size_t crowd_trim(void) {
  crowd_ensure_init();
  return crowd_release_now(true);
}

CROWD_EXPORT int crowd_malloc_trim(size_t pad) { return crowd_trim() > 0; }

/* glibc's tunables.  Those with a meaning for crowd map to its options:
 * M_TRIM_THRESHOLD < 0 (glibc: never trim) turns purging off, and the
 * release thread follows M_ARENA_MAX == 1 not at all.  The rest are
 * accepted and ignored, as the README lists. */
CROWD_EXPORT int crowd_mallopt(int param, int value) {
  crowd_ensure_init();
  switch (param) {
    case M_TRIM_THRESHOLD:
      crowd_options.purge_delay_ms = value < 0 ? -1 : crowd_options.purge_delay_ms < 0 ? 1000 : crowd_options.purge_delay_ms;
      return 1;
    case M_MMAP_THRESHOLD: case M_TOP_PAD: case M_MMAP_MAX: case M_CHECK_ACTION: case M_PERTURB:
    case M_ARENA_TEST: case M_ARENA_MAX: case M_MXFAST:
      return 1;
    default:
      return 0;
  }
}

#if CROWD_GLIBC_NAMES
CROWD_EXPORT size_t malloc_usable_size(void *p) { return crowd_usable_size(p); }

__attribute__((used)) static void *const crowd_link_family[] = {
    (void *)malloc_stats, (void *)mallinfo2, (void *)malloc_info, (void *)crowd_free,
    (void *)crowd_stats_get};

ALIAS(calloc, crowd_calloc);
ALIAS(realloc, crowd_realloc);
ALIAS(reallocarray, crowd_reallocarray);
ALIAS(posix_memalign, crowd_posix_memalign);
ALIAS(aligned_alloc, crowd_aligned_alloc);
ALIAS(memalign, crowd_memalign);
ALIAS(valloc, crowd_valloc);
ALIAS(pvalloc, crowd_pvalloc);
ALIAS(malloc_trim, crowd_malloc_trim);
ALIAS(mallopt, crowd_mallopt);
#endif
