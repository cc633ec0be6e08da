/* Freeing.
 *
 *   free ── crowd_free: find the page from the address, check the pointer,
 *            push on the page's free list                     (fast, inline)
 *            ├─ another thread's page: crowd_free_remote (atomic push)
 *            ├─ used fell below the page's floor: crowd_free_slow
 *            │     (re-bucket, set a drained page aside, return an empty
 *            │      page to its area, which releases it after the delay)
 *            ├─ huge block: crowd_huge_free (huge.c)
 *            └─ not a crowd pointer / double free: report and abort
 */
#include <string.h>

#include "internal.h"


/* NULL, huge blocks and pointers that are not crowd's. */
static CROWD_NOINLINE void free_not_in_pages(void *p) {
  if (p == NULL) return;
  uintptr_t area_address = crowd_area_of(p);
  if (crowd_area_kind(area_address) == KIND_HUGE) crowd_huge_free((struct huge *)area_address, p);
  else crowd_free_foreign(p);
}

static CROWD_COLD void free_double(void *p) { crowd_fatal("double free", p); }

/* What free does once p is known to start a block the page handed out:
 * the double-free test, then the push (here, or remote). */
static inline void free_block(struct page *page, void *p) {
  struct block *block = p;
  uintptr_t freed_mark = crowd_cookie ^ (uintptr_t)p;
  if (unlikely(block->check == freed_mark)) { free_double(p); return; }
  /* Announce before looking at the owner: the release thread may be
   * taking this page for a moment (heap.c), and either we see the owner it
   * cleared or it sees us busy. */
  struct crowd_thread *thread = &crowd_thread;
  crowd_busy_enter(thread);
  struct heap *heap = thread->heap;
  if (unlikely(PEEK(page->heap) != heap)) {
    crowd_busy_leave(thread);
    crowd_free_remote(page, block);
    return;
  }
  /* On the free list itself: the next malloc of this class reuses the
   * block just freed, still in cache (measured on larson: 10% faster
   * than keeping the owner's frees apart until the list runs dry). */
  block->next = page->free;
  block->check = freed_mark;
  page->free = block;
  bool drained = crowd_page_owner_free_one(page); /* inside: the release thread may move the floor once we leave */
  crowd_busy_leave(thread);
  if (unlikely(drained)) crowd_free_slow(heap, page);
}

/* p failed the block-start test of its slot's descriptor: it lies in a
 * later slot of a page of several slots (or is no block at all). */
static CROWD_NOINLINE void free_beyond_first_slot(void *p) {
  uintptr_t area_address = (uintptr_t)p & ~AREA_MASK;
  struct page *page = crowd_page_of((struct area *)area_address, p);
  if (page == crowd_slot_descriptor(area_address, p) || !crowd_page_block_start(page, p)) {
    crowd_free_foreign(p);
    return;
  }
  free_block(page, p);
}

CROWD_EXPORT void crowd_free(void *p) {
  /* p itself, not p - 1 as crowd_area_of: no block of a page area starts
   * at the area's first byte.  The huge block that does (aligned to 4 MiB)
   * and NULL (area 0 is never registered) both go to free_not_in_pages,
   * which looks again with crowd_area_of. */
  uintptr_t area_address = (uintptr_t)p & ~AREA_MASK;
  if (unlikely(crowd_area_kind(area_address) != KIND_PAGES)) { free_not_in_pages(p); return; }
  struct page *page = crowd_slot_descriptor(area_address, p);
  if (unlikely(!crowd_page_block_start(page, p))) { free_beyond_first_slot(p); return; }
  free_block(page, p);
}
#if CROWD_GLIBC_NAMES
CROWD_EXPORT void free(void *p) __attribute__((alias("crowd_free")));
#endif

static void free_remote_push(struct page *page, struct block *block);

/* A block of the shared heap (large classes): a local free under its lock. */
static void free_shared(struct heap *heap, struct page *page, struct block *block) {
  pthread_mutex_lock(&heap->lock);
  if (LOAD(page->heap) != heap) {
    /* The release thread held the page a moment ago; it is back now, but
     * take the plain remote path rather than reason about it. */
    pthread_mutex_unlock(&heap->lock);
    free_remote_push(page, block);
    return;
  }
  block->next = page->free;
  block->check = crowd_cookie ^ (uintptr_t)block;
  page->free = block;
  if (crowd_page_add_used(page, -1) < 0) crowd_free_locked(heap, page);
  pthread_mutex_unlock(&heap->lock);
  crowd_release_poll();
}

CROWD_NOINLINE void crowd_free_remote(struct page *page, struct block *block) {
  struct heap *owner = LOAD(page->heap);
  if (owner == &crowd_large_owner) {
    block->check = crowd_cookie ^ (uintptr_t)block; /* a second free is caught while the slots wait */
    crowd_area_return_page(page);
    crowd_release_poll();
    return;
  }
  if (crowd_is_shared_heap(owner)) { free_shared(owner, page, block); return; }
  free_remote_push(page, block);
}

/* The push that found the page armed tells whoever looks after it. */
static CROWD_NOINLINE void remote_notify(struct page *page) {
  struct heap *owner = LOAD(page->heap);
  if (owner == NULL) { /* abandoned: the release thread's sweep takes the frees */
    crowd_release_wake();
    crowd_release_poll();
    return;
  }
  /* A full or queued page is not looked at by its owner until told: on the
   * owner's notified stack, its blocks are reused (or the page returned)
   * on the owner's next slow path instead of piling up unseen.  The flag
   * keeps it from being linked twice while the owner still holds it. */
  if (atomic_exchange_explicit(&page->notified, 1, memory_order_acq_rel)) return;
  struct page *top = atomic_load_explicit(&owner->notified, memory_order_relaxed);
  do {
    page->notify_next = top;
  } while (!atomic_compare_exchange_weak_explicit(&owner->notified, &top, page, memory_order_release,
                                                  memory_order_relaxed));
}

static void free_remote_push(struct page *page, struct block *block) {
  if (LOAD(page->state) == PAGE_FREE) crowd_free_foreign(block);
  block->check = crowd_cookie ^ (uintptr_t)block;
  uintptr_t word = atomic_load_explicit(&page->thread_free, memory_order_relaxed), pushed;
  do {
    block->next = crowd_remote_list(word);
    pushed = (uintptr_t)block | (((word >> REMOTE_COUNT_SHIFT) + 1) << REMOTE_COUNT_SHIFT);
  } while (!atomic_compare_exchange_weak_explicit(&page->thread_free, &word, pushed, memory_order_acq_rel,
                                                  memory_order_relaxed));
  if (unlikely(word & REMOTE_ARMED)) remote_notify(page);
}

CROWD_COLD void crowd_free_foreign(void *p) {
  crowd_fatal("free of a pointer crowd did not hand out (or already freed)", p);
}

/* Crowding on free: a page that drains gives way to fuller ones.  Sparse
 * pages give back their free sub-pages at once (nothing will be placed in
 * them while fuller pages have room); empty pages go back to the area. */
/* A page fell below half full: nothing will be placed in it while fuller
 * pages have room.  If it stays sparse for the purge
 * delay, the release thread gives back its free sub-pages (release.c);
 * doing it at once would fault them in again when the page refills. */
static void mark_sparse(struct page *page) {
  if (page->sparse_since) return;
  page->sparse_since = crowd_ms_stamp(crowd_os_now_ms());
  crowd_release_wake();
}

void crowd_free_locked(struct heap *heap, struct page *page) {
  if (crowd_borrow_on_free(heap, page)) return;
  unsigned size_class = page->size_class;
  struct heap_class *hc = &heap->classes[size_class];
  if (LOAD(page->state) == PAGE_CURRENT) {
    if (crowd_page_used(page) == 0) {
      /* The class's only page with room stays: a malloc/free loop must not
       * take and return a page each time round.  If it stays empty for the
       * purge delay, the release thread takes it (release.c). */
      if (hc->bucket_mask == 0) {
        crowd_page_set_floor(page, 0);
        /* A shared-class page (a few blocks of 8-128 KiB) gives back at
         * once what it inherited and never grew into: refilled, it serves
         * its class from the blocks it has.  A thread-class page fills and
         * drains within a few operations and grows past its old mark as
         * often (larson: 50% more page faults when these went too); it
         * keeps them until the release thread finds them unused for the
         * purge delay (crowd_page_release_untouched). */
        if (page->inherited_since && crowd_is_shared_heap(heap)) crowd_page_release_untouched(page);
        page->freed_at_ms = crowd_os_now_ms();
        crowd_release_wake();
        return;
      }
      crowd_heap_set_current(heap, size_class, &crowd_empty_page);
      crowd_area_return_page(page);
      return;
    }
    if ((hc->bucket_mask & ~1u) == 0) {
      /* Sparse, and no fuller page to move to: keep allocating here. */
      crowd_page_set_floor(page, 1);
      mark_sparse(page);
      return;
    }
    /* Drained to its last eighth while fuller pages wait with room: set it
     * aside so that it can empty; the next malloc takes the fullest. */
    crowd_heap_set_current(heap, size_class, &crowd_empty_page);
    crowd_heap_queue(heap, page);
    mark_sparse(page);
    return;
  }
  crowd_heap_unqueue(heap, page);
  if (crowd_page_used(page) == 0) {
    crowd_area_return_page(page);
    return;
  }
  crowd_heap_queue(heap, page);
  /* Less than half full: its free sub-pages go if it stays so (a page of a
   * large class holds 2-8 blocks, so "nearly empty" would come too late). */
  if (page->bucket < BUCKET_COUNT / 2) mark_sparse(page);
  else page->sparse_since = 0;
}

/* heap comes from the fast path: the page's owner field may be cleared
 * for a moment by the release thread, which holds this lock meanwhile. */
CROWD_NOINLINE void crowd_free_slow(struct heap *heap, struct page *page) {
  pthread_mutex_lock(&heap->lock);
  crowd_free_locked(heap, page);
  pthread_mutex_unlock(&heap->lock);
  crowd_release_poll();
}

void crowd_free_sized(void *p, size_t size) { crowd_free(p); }
void crowd_free_aligned_sized(void *p, size_t alignment, size_t size) { crowd_free(p); }
#if CROWD_GLIBC_NAMES
CROWD_EXPORT void free_sized(void *p, size_t size) __attribute__((alias("crowd_free_sized")));
CROWD_EXPORT void free_aligned_sized(void *p, size_t alignment, size_t size)
    __attribute__((alias("crowd_free_aligned_sized")));
#endif

/* Bytes usable in the block at p (validating it like free does). */
size_t crowd_block_size(const void *p) {
  uintptr_t area_address = crowd_area_of(p);
  if (!crowd_area_registered(area_address)) crowd_fatal("pointer crowd did not hand out", p);
  struct area *area = (struct area *)area_address;
  if (area->kind != AREA_PAGES) return crowd_huge_usable((const struct huge *)area);
  struct page *page = crowd_page_of(area, p);
  if (LOAD(page->state) == PAGE_FREE || !crowd_page_block_start(page, p))
    crowd_fatal("pointer crowd did not hand out", p);
  return page->block_size;
}
