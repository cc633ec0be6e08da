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

/* Whether a block of `usable` bytes goes on serving a request of size
 * bytes.  Growing within the block's class is the common case (a string
 * appended to) and takes the first test.  Shrinking keeps the block while
 * it stays at least half used, as in glibc, so that trimming a buffer
 * costs no copy; further only within its class, or when the block is large
 * (a request above CROWD_SMALL_MAX gets no smaller kind of block).  Size 0
 * never keeps it (usable is at least 16): realloc(p, 0) frees. */
static inline bool block_keeps(size_t usable, size_t size) {
  if (likely(size <= usable && size >= usable / 2)) return true;
  if (size > usable || size == 0) return false;
  return size > CROWD_SMALL_MAX || crowd_size_class(size) == crowd_size_class(usable);
}

/* A block that outgrows its class tends to grow again (a string appended
 * to, a buffer filled): the new one gets a quarter more room than the old,
 * as tcmalloc does, so that a string growing a few bytes at a time moves
 * less often.  Only blocks that realloc grows get the room.  Measured on
 * bench/realloc: 45% fewer moves, 179 -> 166 instructions per operation;
 * peak and idle RSS of bench/footprint's churn, desktop and server
 * unchanged. */
static size_t size_to_grow_to(size_t usable, size_t size) {
  size_t roomy = usable + usable / 4;
  return size > usable && size < roomy ? roomy : size;
}

/* The block must move (or go, for size 0): a new one, the contents, the
 * old one freed. */
static CROWD_NOINLINE void *realloc_move(void *p, size_t usable, size_t size) {
  if (size == 0) { crowd_free(p); return NULL; }
  size_t roomy = size_to_grow_to(usable, size);
  /* Grown past the small classes, a block becomes a huge one, a mapping of
   * its own that further growth extends with mremap: its pages move
   * instead of being copied into fresh ones, which fault again, and once
   * freed the mapping waits in the huge cache for the next buffer built
   * the same way (building a 1 MiB buffer by 4 KiB appends, 300 times:
   * 264,000 faults and 0.42 s when it went through large blocks; 560 and
   * 0.02 s so, as glibc).  Only for growth: malloc'd large blocks stay in
   * the areas. */
  bool to_huge = size > usable && roomy > CROWD_SMALL_MAX;
  void *fresh = to_huge ? crowd_huge_alloc(size, 0, false) : crowd_malloc(roomy);
  if (!fresh && !to_huge && roomy != size) fresh = crowd_malloc(size);
  if (!fresh) return NULL;
  memcpy(fresh, p, usable < size ? usable : size);
  /* A large block left behind by a growing buffer is not wanted again
   * soon: its pages go back at once rather than after the delay. */
  if (usable > CROWD_SMALL_MAX && crowd_area_kind(crowd_area_of(p)) == KIND_PAGES) crowd_large_free_moved(p);
  else crowd_free(p);
  return fresh;
}

static CROWD_COLD __attribute__((noreturn)) void realloc_foreign(void *p) {
  crowd_fatal("realloc of a pointer crowd did not hand out", p);
}
static CROWD_COLD __attribute__((noreturn)) void realloc_freed(void *p) {
  crowd_fatal("realloc of a freed pointer", p);
}

/* A huge block, or a pointer that is not crowd's.  The pointer is
 * checked here, as free() checks it, for every way out. */
static CROWD_NOINLINE void *realloc_not_in_pages(void *p, size_t size) {
  uintptr_t area_address = crowd_area_of(p);
  if (crowd_area_kind(area_address) != KIND_HUGE) realloc_foreign(p);
  struct huge *huge = (struct huge *)area_address;
  if (huge->kind != AREA_HUGE || (char *)huge + huge->user_offset != (char *)p) realloc_foreign(p);
  if (huge->check != (crowd_cookie ^ (uintptr_t)huge)) realloc_freed(p);
  /* A huge block that grows stays one (mremap), also below CROWD_SMALL_MAX:
   * realloc_move makes a block grown past roomy small sizes huge early. */
  size_t usable = crowd_huge_usable(huge);
  if (size > CROWD_SMALL_MAX || size > usable) return crowd_huge_realloc(huge, p, size);
  return realloc_move(p, usable, size);
}

/* The pointer is checked once, as free() checks it (a crowd area, the
 * start of a block its page has handed out, not freed), and a block that
 * still fits returns at once: a string builder calling realloc for every
 * appended byte mostly lands here. */
CROWD_EXPORT void *crowd_realloc(void *p, size_t size) {
  if (p == NULL) return crowd_malloc(size);
  uintptr_t area_address = crowd_area_of(p);
  if (unlikely(crowd_area_kind(area_address) != KIND_PAGES)) return realloc_not_in_pages(p, size);
  struct page *page = crowd_page_of((struct area *)area_address, p);
  size_t usable = page->block_size;
  if (unlikely(!crowd_page_block_start(page, p) || LOAD(page->state) == PAGE_FREE)) realloc_foreign(p);
  if (unlikely(((struct block *)p)->check == (crowd_cookie ^ (uintptr_t)p))) realloc_freed(p);
  if (likely(block_keeps(usable, size))) return p;
  return realloc_move(p, usable, size);
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
