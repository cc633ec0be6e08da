/* Allocation.
 *
 *   malloc ── crowd_malloc: pop the current page's free list  (fast, inline)
 *               └─ crowd_alloc_slow                            (this file)
 *                    ├─ first call of the thread: crowd_heap_for_thread (heap.c)
 *                    ├─ collect remote frees, else fill the holes of a fuller queued page
 *                    │    (heap.c, crowd_heap_take_roomy), else extend the current page (page.c)
 *                    └─ refill: full pages other threads freed into go back to the buckets,
 *                         then the fullest queued page of the class
 *                         → the fullest abandoned page (heap.c)
 *                         → a page from the fullest area (area.c)
 *          ├─ 8 KiB < size <= 128 KiB: the shared heap, same refill, under its lock
 *          ├─ 128 KiB < size <= 2 MiB: a page of its own from the areas (large)
 *          └─ size > 2 MiB: crowd_huge_alloc (huge.c)
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* The current page's free list ran dry, still inside the busy section (so
 * no lock is needed: the release thread leaves a busy heap alone). */
static CROWD_NOINLINE void *alloc_refill(struct crowd_thread *thread, struct page *page, unsigned size_class) {
  struct heap *heap = thread->heap;
  /* Other threads' frees wait on the notified stack: the slow path takes
   * them (it needs the lock to re-bucket pages). */
  bool notified = atomic_load_explicit(&heap->notified, memory_order_relaxed) != NULL;
  if (!notified && page != &crowd_empty_page && crowd_page_refill_free(page)) {
    struct block *block = page->free;
    page->free = block->next;
    crowd_page_add_used(page, 1);
    block->check = 0;
    crowd_busy_leave(thread);
    return block;
  }
  crowd_busy_leave(thread);
  return crowd_alloc_slow(heap, size_class);
}

/* The fast path proper, inside the busy section: pop the page's free list
 * (and leave the section), or NULL with the section still open for the
 * caller's refill. */
static inline struct block *alloc_pop(struct crowd_thread *thread, struct page *page) {
  struct block *block = page->free;
  if (likely(block != NULL)) {
    page->free = block->next;
    OWNER_ADD(page->above_floor, 1);
    block->check = 0; /* a stale cookie here would make its free look double */
    crowd_busy_leave(thread);
  }
  return block;
}

/* malloc up to CROWD_DIRECT_MAX: the page straight from the size step. */
static inline void *alloc_direct(size_t step) {
  struct crowd_thread *thread = &crowd_thread;
  crowd_busy_enter(thread);
  struct page *page = LOAD(thread->tables->direct[step]);
  struct block *block = alloc_pop(thread, page);
  if (likely(block != NULL)) return block;
  return alloc_refill(thread, page, crowd_size_class(step << 4)); /* the class only here */
}

static inline void *alloc_fast(unsigned size_class) {
  struct crowd_thread *thread = &crowd_thread;
  crowd_busy_enter(thread);
  struct page *page = LOAD(thread->tables->current[size_class]);
  struct block *block = alloc_pop(thread, page);
  if (likely(block != NULL)) return block;
  return alloc_refill(thread, page, size_class);
}

static void *alloc_locked(struct heap *heap, unsigned size_class);

/* Large classes: the shared heap, under its lock. */
static void *alloc_under_lock(struct heap *heap, unsigned size_class) {
  pthread_mutex_lock(&heap->lock);
  void *block = alloc_locked(heap, size_class);
  pthread_mutex_unlock(&heap->lock);
  crowd_release_poll();
  if (!block) errno = ENOMEM;
  return block;
}

static CROWD_NOINLINE void *alloc_shared(unsigned size_class) {
  crowd_ensure_init();
  return alloc_under_lock(crowd_shared_heap(crowd_thread.heap->shared_index), size_class);
}

struct heap crowd_large_owner;

void *crowd_large_alloc(size_t size, bool zero) {
  crowd_ensure_init();
  unsigned span = (unsigned)((size + SLOT_SIZE - 1) >> SLOT_SHIFT);
  bool memory_is_zero;
  struct page *page = crowd_area_take_span(span, true, &memory_is_zero);
  if (!page) { errno = ENOMEM; return NULL; }
  crowd_page_init_large(page, memory_is_zero);
  struct block *block = (struct block *)page->start;
  if (zero && !memory_is_zero) memset(block, 0, size);
  else if (!memory_is_zero) block->check = 0;
  return block;
}

/* A large block realloc has just copied elsewhere: its slots go back to
 * the area released at once.  Kept resident for the purge delay they
 * could only serve a request that fits in them, and a buffer that grows
 * by reallocation asks for more each time (measured on bench/speed's
 * realloc workload, doubling arrays: 4 MiB of such slots waited at the
 * peak, 18.4 MiB against glibc's 12.0). */
void crowd_large_free_moved(void *p) {
  struct area *area = (struct area *)crowd_area_of(p);
  struct page *page = crowd_page_of(area, p);
  if (LOAD(page->heap) != &crowd_large_owner || (void *)page->start != p) { crowd_free(p); return; }
  crowd_area_return_page_released(page);
  crowd_release_poll();
}

void *crowd_big_alloc(size_t size, bool zero) {
  if (size <= CROWD_LARGE_MAX) return crowd_large_alloc(size, zero);
  return crowd_huge_alloc(size, 0, zero);
}

CROWD_EXPORT void *crowd_malloc(size_t size) {
  if (likely(size <= CROWD_DIRECT_MAX)) return alloc_direct((size + 15) >> 4);
  if (likely(size <= CROWD_THREAD_MAX)) return alloc_fast(crowd_size_class(size));
  if (size <= CROWD_SMALL_MAX) return alloc_shared(crowd_size_class(size));
  return crowd_big_alloc(size, false);
}
#if CROWD_GLIBC_NAMES
CROWD_EXPORT void *malloc(size_t size) __attribute__((alias("crowd_malloc")));

/* Linked from libcrowd.a, a program must get the whole family or none of
 * it: a calloc from glibc freed by crowd would abort.  This table pulls
 * api.o (which pulls free.o and stats.o) wherever malloc is pulled. */
extern void *crowd_calloc(size_t, size_t);
__attribute__((used)) static void *const crowd_link_family[] = {(void *)crowd_calloc};
#endif

static void *page_pop(struct page *page) {
  struct block *block = page->free;
  if (block) {
    page->free = block->next;
    crowd_page_add_used(page, 1);
    block->check = 0;
    return block;
  }
  return crowd_page_extend(page);
}

/* Full and queued pages that other threads freed into (free.c put them on
 * the notified stack): take those frees, re-bucket, return empty pages. */
static void take_notified(struct heap *heap) {
  struct page *page = atomic_exchange_explicit(&heap->notified, NULL, memory_order_acquire);
  while (page) {
    struct page *next = page->notify_next;
    atomic_store_explicit(&page->notified, 0, memory_order_seq_cst);
    unsigned state = LOAD(page->state);
    if (LOAD(page->heap) == heap && (state == PAGE_FULL || state == PAGE_QUEUED)) {
      crowd_heap_unqueue(heap, page);
      crowd_page_collect(page);
      if (crowd_page_used(page) == 0) crowd_area_return_page(page);
      else crowd_heap_queue(heap, page);
    }
    page = next;
  }
}

static void make_current(struct heap *heap, struct page *page) {
  heap->page_switches++;
  crowd_page_disarm(page);
  crowd_page_restore_subpages(page);
  STORE(page->state, PAGE_CURRENT);
  STORE(page->heap, heap);
  page->freed_at_ms = 0;
  page->reclaim_seen = 0;
  /* A current page that drains to its last eighth goes to the slow path:
   * set aside if fuller pages wait with room, else its free sub-pages are
   * given back (free.c). */
  page->sparse_since = 0;
  crowd_page_set_floor(page, crowd_bucket_floor(page, 1));
  crowd_borrow_on_current(heap, page);
  crowd_heap_set_current(heap, page->size_class, page);
}

/* The current page is used up (and armed): file it with the full pages. */
static void retire_full(struct heap *heap, struct page *page) {
  /* page->notified is not reset here: the page may still sit on a notified
   * stack, and only the walk that takes it off may clear the flag (else it
   * could be pushed on a second stack while linked in the first). */
  STORE(page->state, PAGE_FULL);
  crowd_page_set_floor(page, page->capacity);
  page->freed_at_ms = 0;
  crowd_list_push(&heap->classes[page->size_class].full, page);
  crowd_heap_set_current(heap, page->size_class, &crowd_empty_page);
}

static void *alloc_locked(struct heap *heap, unsigned size_class) {
  struct page *page = heap->tables.current[size_class];
  crowd_borrow_note_dry(heap, size_class, page);
  bool looked_for_holes = false;
  for (;;) {
    if (page != &crowd_empty_page) {
      /* Blocks freed before fresh ones: the owner's and other threads'
       * frees, then those set aside by a sub-page release, then the holes
       * of a fuller page of the class, and only then the page's untouched
       * end (which would fault in new memory). */
      if (page->free || crowd_page_refill_free(page)) {
        if (unlikely(page->reclaim_seen)) page->reclaim_seen = 0; /* in use: see crowd_heap_reclaim_empty */
        return page_pop(page);
      }
      if (page->subpages_released) crowd_page_restore_subpages(page);
      if (!looked_for_holes && crowd_page_used(page) > 0) {
        looked_for_holes = true; /* once: the page set aside here is queued, and could come back */
        struct page *roomy = crowd_heap_take_roomy(heap, size_class);
        if (roomy) {
          crowd_heap_queue(heap, page);
          make_current(heap, roomy);
          page = roomy;
          continue;
        }
      }
      /* Before fresh memory: a free block of the class above (borrow.c). */
      struct page *lender = crowd_borrow_lender(heap, size_class, page);
      if (lender) return page_pop(lender);
      void *block = page_pop(page);
      if (block) return block;
      /* Remote frees that came in since the refill keep the page current. */
      if (crowd_page_arm(page)) retire_full(heap, page);
      else continue;
    }
    if (atomic_load_explicit(&heap->notified, memory_order_relaxed)) take_notified(heap);
    page = crowd_heap_take_fullest(heap, size_class);
    if (!page) page = crowd_abandoned_take(size_class, heap);
    if (!page) {
      if (crowd_is_shared_heap(heap) && !crowd_area_has_waiting_run(crowd_classes[size_class].span))
        crowd_heap_reclaim_empty(heap, size_class);
      page = crowd_area_take_page(size_class);
    }
    if (!page) return NULL;
    make_current(heap, page);
  }
}

CROWD_NOINLINE void *crowd_alloc_slow(struct heap *heap, unsigned size_class) {
  if (heap == &crowd_empty_heap) {
    heap = crowd_heap_for_thread();
    if (!heap) { errno = ENOMEM; return NULL; }
  }
  return alloc_under_lock(heap, size_class);
}

/* malloc for a known class (aligned allocations). */
void *crowd_alloc_class(unsigned size_class) {
  if (size_class > crowd_size_class(CROWD_THREAD_MAX)) return alloc_shared(size_class);
  return alloc_fast(size_class);
}
