/* Huge blocks (above 2 MiB): each its own mapping, aligned to the area
 * size so that free() finds the header the same way it finds an area's.
 *
 *   [header, 4 KiB][user bytes ...]      user = base + user_offset
 *
 * realloc grows them with mremap (in place, or moved to a new reserved
 * range without copying).  Freed mappings are kept in a small cache for a
 * program that allocates the same large sizes again and again (no
 * mmap/munmap and no page faults each time); the release thread unmaps
 * what the cache holds once the purge delay has passed. */
#include <errno.h>
#include <string.h>

#include "internal.h"

static pthread_mutex_t huge_lock = PTHREAD_MUTEX_INITIALIZER;
static struct huge *huge_cache; /* most recently freed first */
static size_t huge_cache_bytes;
/* The most bytes the program has had live in huge blocks since the cache
 * last emptied: the cache may hold that much (at least HUGE_CACHE_FLOOR). */
static _Atomic size_t huge_live_peak;
#define HUGE_CACHE_FLOOR ((size_t)64 << 20)

/* Live huge bytes grew (a block mapped, taken from the cache or grown):
 * the peak moves with them. */
static void note_live_peak(void) {
  size_t live = COUNTER_GET(huge_live_bytes);
  size_t peak = atomic_load_explicit(&huge_live_peak, memory_order_relaxed);
  while (live > peak &&
         !atomic_compare_exchange_weak_explicit(&huge_live_peak, &peak, live, memory_order_relaxed,
                                                memory_order_relaxed)) {
  }
}

/* Huge blocks are about to fault in fresh pages (a new mapping, or one
 * grown): past the peak of live huge bytes the program is growing, not
 * cycling through buffers, and no free slot of the areas could have served
 * those pages, so the slots that wait for the purge delay go now instead
 * of stacking on top (bench/speed's realloc workload: peak RSS 23.8 ->
 * 21.9 MiB, glibc 21.6, with 4% more page faults; the large workload's
 * faults +3%).  A block taken from the cache as it is faults nothing and
 * releases nothing. */
static void note_fresh_growth(void) {
  size_t live = COUNTER_GET(huge_live_bytes);
  if (live > atomic_load_explicit(&huge_live_peak, memory_order_relaxed)) crowd_area_release_waiting();
  note_live_peak();
}

static size_t user_offset_for(size_t alignment) {
  if (alignment <= OS_PAGE) return OS_PAGE;
  return alignment <= AREA_SIZE ? alignment : AREA_SIZE;
}

/* Maps need bytes at a base aligned to the area size such that
 * base + offset is aligned to alignment. */
static char *huge_reserve(size_t need, size_t alignment) {
  if (alignment <= AREA_SIZE) return crowd_os_map_aligned(need, AREA_SIZE, NULL);
  if (need + alignment < need) return NULL;
  char *raw = crowd_os_map_aligned(need + alignment, AREA_SIZE, NULL);
  if (!raw) return NULL;
  uintptr_t user = ((uintptr_t)raw + AREA_SIZE + alignment - 1) & ~(uintptr_t)(alignment - 1);
  char *base = (char *)(user - AREA_SIZE);
  size_t head = (size_t)(base - raw);
  if (head) crowd_os_unmap(raw, head);
  size_t tail = need + alignment - head - need;
  if (tail) crowd_os_unmap(base + need, tail);
  COUNTER_SUB(released_bytes, head + tail); /* trimming, not a release */
  return base;
}

static void *huge_install(char *base, size_t need, size_t offset, size_t alignment) {
  struct huge *huge = (struct huge *)base;
  huge->kind = AREA_HUGE;
  huge->map_size = need;
  huge->user_offset = offset;
  huge->alignment = alignment;
  huge->check = crowd_cookie ^ (uintptr_t)base;
  crowd_area_register((uintptr_t)base, KIND_HUGE);
  COUNTER_ADD(huge_live_bytes, need);
  COUNTER_ADD(huge_live_count, 1);
  COUNTER_ADD(mapped_bytes, need);
  return base + offset;
}

/* Resizes a huge mapping to need bytes: shrinks it in place, grows it in
 * place, or moves it (mremap, no copy) to a new aligned range.  Returns the
 * header's address afterwards, NULL if the kernel refused. */
static struct huge *mapping_resize(struct huge *huge, size_t need) {
  size_t old = huge->map_size;
  if (need <= old) {
    crowd_os_shrink(huge, old, need);
    huge->map_size = need;
  } else if (crowd_os_remap(huge, old, need, NULL)) {
    huge->map_size = need;
  } else {
    char *target = huge_reserve(need, huge->alignment);
    if (!target) return NULL;
    /* Unregister before the move: once the old range is unmapped, another
     * thread may map a block there and register it, and a late clear
     * would wipe its entry. */
    crowd_area_register((uintptr_t)huge, KIND_NONE);
    if (!crowd_os_remap(huge, old, need, target)) {
      crowd_area_register((uintptr_t)huge, KIND_HUGE);
      crowd_os_unmap(target, need);
      return NULL;
    }
    huge = (struct huge *)target;
    huge->map_size = need;
    crowd_area_register((uintptr_t)huge, KIND_HUGE);
  }
  COUNTER_ADD(mapped_bytes, need);
  COUNTER_SUB(mapped_bytes, old);
  return huge;
}

static void cache_unlink(struct huge *h) {
  if (h->prev) h->prev->next = h->next;
  else huge_cache = h->next;
  if (h->next) h->next->prev = h->prev;
  huge_cache_bytes -= h->map_size;
  COUNTER_SUB(huge_cached_bytes, h->map_size);
}

/* A cached mapping for need bytes: the smallest that is large enough (as
 * it is: its resident pages are worth more than the bytes a trim would
 * give back, and the budget bounds them); else the largest there is,
 * grown with mremap.  Either way its resident pages are reused and only
 * what is new faults (measured on bench/speed's large workload, 64 KiB -
 * 32 MiB blocks: asking for a close fit left most requests to fresh
 * mappings, twice glibc's page faults).
 * The smaller one is grown also when the fit would leave more than
 * GROW_RATHER_THAN_WASTE times the bytes the growth faults in unused: a
 * 3 MiB block given a 30 MiB mapping holds 27 MiB resident for nothing,
 * and the next 30 MiB block then has to grow something else anyway.  On
 * the large workload (8 sequences: 300-800 blocks, 3-8 live) the peak
 * fell on 6 of them (120 -> 105 MiB at 400 blocks, 186 -> 177 at 8 live),
 * the page faults with it; 2 or 4 instead of 8 raised both on some, 16
 * gained less. */
#define GROW_RATHER_THAN_WASTE 8
static struct huge *cache_take(size_t need, bool *grown) {
  pthread_mutex_lock(&huge_lock);
  struct huge *fit = NULL, *largest = NULL;
  for (struct huge *h = huge_cache; h; h = h->next) {
    if (h->map_size >= need) {
      if (!fit || h->map_size < fit->map_size) fit = h;
    } else if (!largest || h->map_size > largest->map_size) {
      largest = h;
    }
  }
  struct huge *best = fit ? fit : largest;
  if (fit && largest && fit->map_size - need > (need - largest->map_size) * GROW_RATHER_THAN_WASTE) best = largest;
  if (best) cache_unlink(best);
  pthread_mutex_unlock(&huge_lock);
  *grown = false;
  if (!best) return NULL;
  if (best->map_size < need) {
    *grown = true;
    struct huge *resized = mapping_resize(best, need);
    if (!resized) {
      crowd_area_register((uintptr_t)best, KIND_NONE);
      COUNTER_SUB(mapped_bytes, best->map_size);
      crowd_os_unmap(best, best->map_size);
      return NULL;
    }
    best = resized;
  }
  return best;
}

void *crowd_huge_alloc(size_t size, size_t alignment, bool zero) {
  if (size > PTRDIFF_MAX) { errno = ENOMEM; return NULL; }
  crowd_ensure_init();
  size_t offset = user_offset_for(alignment);
  size_t need = (size + offset + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
  if (need < size) { errno = ENOMEM; return NULL; }
  if (offset == OS_PAGE) {
    bool grown;
    struct huge *cached = cache_take(need, &grown);
    if (cached) {
      cached->check = crowd_cookie ^ (uintptr_t)cached;
      COUNTER_ADD(huge_live_bytes, cached->map_size);
      COUNTER_ADD(huge_live_count, 1);
      cached->requested = size;
      char *user = (char *)cached + cached->user_offset;
      if (grown) note_fresh_growth();
      else note_live_peak();
      if (zero) memset(user, 0, size);
      return user;
    }
  }
  char *base = huge_reserve(need, alignment);
  if (!base) { errno = ENOMEM; return NULL; }
  void *user = huge_install(base, need, offset, alignment);
  ((struct huge *)base)->requested = size;
  note_fresh_growth();
  return user;
}

size_t crowd_huge_usable(const struct huge *huge) {
  return huge->map_size - huge->user_offset;
}

static void huge_unmap(struct huge *huge) {
  size_t size = huge->map_size;
  crowd_area_register((uintptr_t)huge, KIND_NONE);
  COUNTER_SUB(mapped_bytes, size);
  crowd_os_unmap(huge, size);
}

/* Drops the oldest cached mappings until the cache holds at most budget
 * bytes. */
static void cache_shrink_to(size_t budget) {
  if (COUNTER_GET(huge_cached_bytes) <= budget) return; /* a peek; the lock decides */
  struct huge *evict = NULL;
  pthread_mutex_lock(&huge_lock);
  while (huge_cache_bytes > budget) {
    struct huge *oldest = huge_cache;
    while (oldest->next) oldest = oldest->next;
    if (oldest->prev) oldest->prev->next = NULL;
    else huge_cache = NULL;
    huge_cache_bytes -= oldest->map_size;
    COUNTER_SUB(huge_cached_bytes, oldest->map_size);
    oldest->next = evict;
    evict = oldest;
  }
  pthread_mutex_unlock(&huge_lock);
  while (evict) {
    struct huge *next = evict->next;
    huge_unmap(evict);
    evict = next;
  }
}

void crowd_huge_free(struct huge *huge, void *p) {
  if (huge->kind != AREA_HUGE || (char *)huge + huge->user_offset != (char *)p)
    crowd_fatal("free of a pointer crowd did not hand out", p);
  if (huge->check != (crowd_cookie ^ (uintptr_t)huge)) crowd_fatal("double free", p);
  huge->check = 0;
  COUNTER_SUB(huge_live_bytes, huge->map_size);
  COUNTER_SUB(huge_live_count, 1);
  /* While the program works, the cache may hold as much as it has had live
   * in huge blocks at its peak: a program that cycles through big buffers
   * then takes every one from the cache instead of faulting it in afresh
   * (bench/speed's large workload: a cache of 32 MiB + half the live bytes
   * faulted 560 pages per block, this 50, as tcmalloc does).  A quarter
   * more than that peak: cached mappings grow (mremap) when they serve a
   * bigger block, so the set a program cycles through ends up larger than
   * what was ever live at once, and a budget of exactly the peak evicted
   * one of them now and then only to fault it in again (large: 43K faults
   * against 31K with the quarter; its peak RSS fell too, 130.5 -> 124.6
   * MiB, as fewer fresh mappings overlap the ones being dropped).  Memory
   * stays within 2.25 times the peak of live huge bytes, and the purge
   * delay and the release thread still empty the cache when the program
   * stops using it. */
  size_t budget = atomic_load_explicit(&huge_live_peak, memory_order_relaxed);
  budget += budget / 4;
  if (budget < HUGE_CACHE_FLOOR) budget = HUGE_CACHE_FLOOR;
  if (budget > crowd_options.huge_cache_max) budget = crowd_options.huge_cache_max;
  bool cacheable = huge->user_offset == OS_PAGE && huge->map_size <= budget && crowd_options.purge_delay_ms != 0;
  if (!cacheable) { huge_unmap(huge); return; }
  pthread_mutex_lock(&huge_lock);
  huge->freed_at_ms = crowd_os_now_ms();
  huge->prev = NULL;
  huge->next = huge_cache;
  if (huge_cache) huge_cache->prev = huge;
  huge_cache = huge;
  huge_cache_bytes += huge->map_size;
  COUNTER_ADD(huge_cached_bytes, huge->map_size);
  pthread_mutex_unlock(&huge_lock);
  cache_shrink_to(budget);
  crowd_release_wake();
  crowd_release_poll();
}

/* The caller (api.c) has checked that p is a live huge block. */
void *crowd_huge_realloc(struct huge *huge, void *p, size_t size) {
  size_t offset = huge->user_offset;
  size_t need = (size + offset + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
  if (need < size || size > PTRDIFF_MAX) { errno = ENOMEM; return NULL; }
  size_t old = huge->map_size;
  if (need <= old) {
    /* Shrinking: give back the tail once it is worth a syscall.  Only when
     * the program asks for less than before: a buffer growing into a
     * mapping that came bigger from the cache keeps it, resident pages and
     * all (a string builder that made a 1 MiB buffer over and over faulted
     * 250 pages a buffer when the first append trimmed it). */
    if (size < huge->requested && old - need >= old / 4) {
      crowd_os_shrink(huge, old, need);
      huge->map_size = need;
      COUNTER_SUB(huge_live_bytes, old - need);
      COUNTER_SUB(mapped_bytes, old - need);
    }
    huge->requested = size;
    return p;
  }
  /* Grow by at least an eighth so that a string grown byte by byte does
   * not call mremap each time. */
  size_t grown = old + old / 8;
  if (need < grown) need = (grown + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
  struct huge *moved = mapping_resize(huge, need);
  if (!moved) { errno = ENOMEM; return NULL; }
  huge = moved;
  huge->check = crowd_cookie ^ (uintptr_t)huge;
  COUNTER_ADD(huge_live_bytes, need - old);
  huge->requested = size;
  /* The growth faults in fresh pages wherever the mapping lies, so what the
   * cache holds beside it would stack on top: the cache keeps at most what
   * the live huge bytes have fallen short of their peak, and a program
   * that grows its buffers past that peak does so without a cache.  On
   * bench/speed's realloc workload (arrays doubled up to 4 MiB) peak RSS
   * fell from 26.3 to 23.8 MiB (glibc 21.6), with 10% more page faults.
   * Trimming it also when malloc takes a block from the cache doubled the
   * large workload's faults (no realloc there) and raised its peak. */
  size_t live = COUNTER_GET(huge_live_bytes);
  size_t peak = atomic_load_explicit(&huge_live_peak, memory_order_relaxed);
  cache_shrink_to(peak > live ? peak - live : 0);
  note_fresh_growth();
  return (char *)huge + offset;
}

/* Unmaps cached mappings freed longer ago than the delay (all with force). */
size_t crowd_huge_purge(uint64_t now, bool force, uint64_t *next_due_ms) {
  int64_t delay = crowd_options.purge_delay_ms;
  size_t released = 0;
  uint64_t next_due = 0;
  struct huge *evict = NULL;
  pthread_mutex_lock(&huge_lock);
  struct huge *h = huge_cache;
  while (h) {
    struct huge *next = h->next;
    bool due = force || (delay >= 0 && h->freed_at_ms + (uint64_t)delay <= now);
    if (due) {
      if (h->prev) h->prev->next = h->next;
      else huge_cache = h->next;
      if (h->next) h->next->prev = h->prev;
      huge_cache_bytes -= h->map_size;
      COUNTER_SUB(huge_cached_bytes, h->map_size);
      h->next = evict;
      evict = h;
    } else if (delay >= 0) {
      crowd_due_at(&next_due, h->freed_at_ms + (uint64_t)delay);
    }
    h = next;
  }
  /* An empty cache starts the peak afresh: a program whose big phase is
   * over does not keep a budget sized for it. */
  if (!huge_cache) atomic_store_explicit(&huge_live_peak, COUNTER_GET(huge_live_bytes), memory_order_relaxed);
  pthread_mutex_unlock(&huge_lock);
  while (evict) {
    struct huge *next = evict->next;
    released += evict->map_size;
    huge_unmap(evict);
    evict = next;
  }
  if (next_due_ms) *next_due_ms = next_due;
  return released;
}

void crowd_huge_fork_lock(void) { pthread_mutex_lock(&huge_lock); }
void crowd_huge_fork_unlock(void) { pthread_mutex_unlock(&huge_lock); }
