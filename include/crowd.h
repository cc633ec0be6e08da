/* crowd — a malloc that gives memory back.
 *
 * The library exports the whole glibc malloc family (malloc, free, ...), so
 * LD_PRELOAD=libcrowd.so or linking with -lcrowd replaces the system
 * allocator.  The crowd_* names below are the same functions under names of
 * their own, so a program (and crowd's unit tests) can call crowd beside the
 * system malloc. */
#ifndef CROWD_H
#define CROWD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CROWD_VERSION_MAJOR 0
#define CROWD_VERSION_MINOR 1
#define CROWD_VERSION_PATCH 0
#define CROWD_VERSION_STRING "0.1.0"

void *crowd_malloc(size_t size);
void *crowd_calloc(size_t count, size_t size);
void *crowd_realloc(void *ptr, size_t size);
void *crowd_reallocarray(void *ptr, size_t count, size_t size);
void crowd_free(void *ptr);
void crowd_free_sized(void *ptr, size_t size);
void crowd_free_aligned_sized(void *ptr, size_t alignment, size_t size);
void *crowd_aligned_alloc(size_t alignment, size_t size);
int crowd_posix_memalign(void **result, size_t alignment, size_t size);
void *crowd_memalign(size_t alignment, size_t size);
void *crowd_valloc(size_t size);
void *crowd_pvalloc(size_t size);
size_t crowd_usable_size(const void *ptr);

/* Gives back to the kernel every page that holds no live block, now,
 * including what thread caches hold.  Returns the number of bytes released. */
size_t crowd_trim(void);

/* Counters.  The struct starts with its own size and version so that a
 * program built against an older header keeps working: crowd fills only
 * the fields the caller's struct has room for. */
#define CROWD_STATS_VERSION 1
struct crowd_stats {
  uint32_t size;    /* set by the caller: sizeof(struct crowd_stats) */
  uint32_t version; /* set by crowd: CROWD_STATS_VERSION */
  /* Live counts are the page owners' view: a block another thread freed
   * counts until its owner (or the release thread) takes that free. */
  uint64_t live_bytes;       /* bytes in blocks handed out and not freed (block sizes) */
  uint64_t live_blocks;      /* blocks handed out and not freed */
  uint64_t requested_bytes;  /* not tracked per block: 0 */
  uint64_t mapped_bytes;     /* address space crowd holds from the kernel */
  uint64_t resident_bytes;   /* bytes crowd has not released (its own view of RSS) */
  uint64_t huge_live_bytes;  /* bytes in huge blocks (above 2 MiB, each mapped on its own) */
  uint64_t huge_cached_bytes;/* freed huge mappings kept for reuse */
  uint64_t released_bytes;   /* total bytes given back with madvise/munmap */
  uint64_t purge_calls;      /* madvise calls that released memory */
  uint64_t areas_mapped;     /* areas reserved so far */
  uint64_t areas_unmapped;   /* areas returned to the kernel so far */
  uint64_t areas_live;       /* areas held now */
  uint64_t pages_in_use;     /* pages (miniheaps) holding a size class now */
  uint64_t pages_free_resident; /* free slots not yet released (some sub-pages may be) */
  uint64_t pages_free_released; /* free pages released to the kernel */
  uint64_t heaps_live;       /* thread heaps in use */
  uint64_t heaps_abandoned;  /* thread heaps whose thread exited */
  uint64_t release_thread_wakeups;
};
int crowd_stats_get(struct crowd_stats *stats);

/* Writes the statistics as one JSON object to the file descriptor: every
 * field of struct crowd_stats, plus per size class the pages in use by
 * occupancy bucket (eighths of capacity; the last entry: full pages).
 * CROWD_STATS=json writes it to stderr at exit.  Returns 0. */
int crowd_stats_json(int fd);

/* Writes the heap map (every area and page, occupancy and residency) as
 * JSON to the file descriptor.  `crowd map` draws it.  Returns 0. */
int crowd_map_write(int fd);

#ifdef __cplusplus
}
#endif
#endif
