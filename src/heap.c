/* Thread heaps: each thread allocates from pages it owns, with no lock.
 *
 * A heap keeps, per size class, the page it allocates from (current), the
 * pages with room sorted into occupancy buckets, and its full pages.  When
 * a thread exits its pages are abandoned: empty ones go back to their area,
 * the rest wait on a per-class list until another thread adopts them (or
 * the release thread finds them emptied by frees from other threads).
 *
 * Thread churn: a heap whose thread exits is parked with its pages; the
 * next thread to start takes it whole (a server's short-lived workers then
 * reuse each other's pages as they are, with their remote frees).  A heap
 * parked for the purge delay has its pages abandoned, so that threads that
 * already run can adopt them. */
#include <string.h>

#include "internal.h"

pthread_mutex_t crowd_heap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t heap_key;
static bool heap_key_ready;

static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct page_list abandoned[CLASS_COUNT];
static _Atomic uint32_t abandoned_count[CLASS_COUNT]; /* peeked without the lock */

struct page crowd_empty_page;
/* The heap of threads that have not allocated yet: an address to compare
 * with (zero, in .bss).  Its tables are crowd_empty_tables, where every
 * class's current page is the empty page, so the first malloc lands in
 * the slow path and gets the thread a heap. */
struct heap crowd_empty_heap;
struct heap_tables crowd_empty_tables = {.direct = {[0 ... DIRECT_COUNT - 1] = &crowd_empty_page},
                                         .current = {[0 ... CLASS_COUNT - 1] = &crowd_empty_page}};
/* Large classes, for every thread, under its lock (see CROWD_THREAD_MAX).
 * Zero until first used, and set up then: as initialised data their
 * pointers would be relocated at load, which dirties all 33 KiB of them in
 * every program, also in those that never allocate a large-class block or
 * run on fewer processors than there are shared heaps. */
struct heap crowd_shared_heaps[SHARED_HEAPS];
static _Atomic uint8_t shared_heap_ready[SHARED_HEAPS];
static struct heap *heap_list;

/* A heap crowd has just mapped or set up: its lock, and a place in the
 * list of all heaps.  Called with crowd_heap_lock held. */
static void heap_link_new(struct heap *heap) {
  heap->lock = (pthread_mutex_t)PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
  heap->next_heap = heap_list;
  heap_list = heap;
}

static void heap_clear_current(struct heap *heap) {
  for (unsigned c = 0; c < CLASS_COUNT; c++) crowd_heap_set_current(heap, c, &crowd_empty_page);
}

struct heap *crowd_shared_heap(unsigned index) {
  struct heap *heap = &crowd_shared_heaps[index];
  if (likely(atomic_load_explicit(&shared_heap_ready[index], memory_order_acquire))) return heap;
  pthread_mutex_lock(&crowd_heap_lock);
  if (!atomic_load_explicit(&shared_heap_ready[index], memory_order_relaxed)) {
    heap_clear_current(heap);
    heap->live = 1;
    heap->owner_busy = &crowd_never_busy;
    heap_link_new(heap);
    atomic_store_explicit(&shared_heap_ready[index], 1, memory_order_release);
  }
  pthread_mutex_unlock(&crowd_heap_lock);
  return heap;
}
__thread struct crowd_thread crowd_thread __attribute__((tls_model("initial-exec"))) = {.heap = &crowd_empty_heap, .tables = &crowd_empty_tables};
_Atomic uint8_t crowd_never_busy;

/* The shared heap for a thread's large classes: one that the fewest live
 * threads use, and among those the one its heap used before.  Every shared
 * heap keeps a page per large class it has served, so a program that runs
 * one thread at a time (threads created and joined in turn) keeps using one
 * shared heap instead of spreading its few large blocks over all of them
 * (measured on mstress, one thread: 1.5 MiB of such pages instead of 0.6).
 * Called with crowd_heap_lock held. */
static uint32_t pick_shared_index(const struct heap *heap, bool fresh) {
  /* No more shared heaps than processors: more threads than that cannot
   * allocate at the same moment. */
  static uint32_t count;
  if (!count) {
    unsigned n = crowd_os_cpu_count();
    if (!n) n = SHARED_HEAPS;
    count = n > SHARED_HEAPS ? SHARED_HEAPS : n;
  }
  unsigned users[SHARED_HEAPS] = {0};
  for (struct heap *h = heap_list; h; h = h->next_heap)
    if (h->live && !crowd_is_shared_heap(h)) users[h->shared_index]++;
  uint32_t best = fresh || heap->shared_index >= count ? 0 : heap->shared_index;
  for (uint32_t i = 0; i < count; i++)
    if (users[i] < users[best]) best = i;
  return best;
}

static void heap_park(struct heap *heap) {
  pthread_mutex_lock(&crowd_heap_lock);
  heap->live = 0;
  heap->parked_with_pages = 1;
  heap->parked_at_ms = crowd_os_now_ms();
  COUNTER_SUB(heaps_live, 1);
  COUNTER_ADD(heaps_abandoned, 1);
  pthread_mutex_unlock(&crowd_heap_lock);
}

static void heap_thread_exit(void *value) {
  struct heap *heap = value;
  crowd_thread.heap = &crowd_empty_heap;
  crowd_thread.tables = &crowd_empty_tables;
  if (heap && heap != &crowd_empty_heap) {
    /* The release thread reads the busy flag under the heap's lock: once
     * the thread is gone its TLS is too. */
    pthread_mutex_lock(&heap->lock);
    heap->owner_busy = &crowd_never_busy;
    pthread_mutex_unlock(&heap->lock);
    heap_park(heap);
    crowd_release_wake();
    crowd_release_poll();
  }
}

static void heap_key_init(void) {
  if (!heap_key_ready && pthread_key_create(&heap_key, heap_thread_exit) == 0) heap_key_ready = true;
}

/* Called on a thread's first allocation.  Takes a parked heap if one is
 * there, else maps a new one (heaps are never unmapped: remote frees may
 * still compare against their address). */
struct heap *crowd_heap_for_thread(void) {
  crowd_ensure_init();
  struct heap *heap = crowd_thread.heap;
  if (heap != &crowd_empty_heap) return heap;
  pthread_mutex_lock(&crowd_heap_lock);
  heap_key_init();
  /* A parked heap that still has its pages first, the latest parked. */
  for (struct heap *h = heap_list; h; h = h->next_heap) {
    if (h->live) continue;
    if (heap == &crowd_empty_heap || (h->parked_with_pages && (!heap->parked_with_pages || h->parked_at_ms > heap->parked_at_ms)))
      heap = h;
  }
  bool keep_pages = heap != &crowd_empty_heap && heap->parked_with_pages;
  bool fresh = heap == &crowd_empty_heap;
  if (fresh) {
    heap = crowd_os_map(sizeof(struct heap));
    if (!heap) { pthread_mutex_unlock(&crowd_heap_lock); return NULL; }
    heap_link_new(heap);
  } else {
    COUNTER_SUB(heaps_abandoned, 1);
  }
  if (!keep_pages) {
    heap_clear_current(heap);
    /* A fresh mapping reads as zero already: clearing it would touch the
     * 7 KiB of class lists that a thread using a few classes never needs
     * (a small program's threads: 4 KiB of RSS each). */
    if (!fresh) memset(heap->classes, 0, sizeof heap->classes);
  }
  heap->parked_with_pages = 0;
  heap->shared_index = pick_shared_index(heap, fresh);
  pthread_mutex_lock(&heap->lock);
  heap->owner_busy = &crowd_thread.busy;
  pthread_mutex_unlock(&heap->lock);
  heap->live = 1;
  COUNTER_ADD(heaps_live, 1);
  pthread_mutex_unlock(&crowd_heap_lock);
  crowd_thread.heap = heap;
  crowd_thread.tables = &heap->tables;
  /* pthread_setspecific may allocate for high key numbers: the heap is
   * already installed, so that allocation takes the normal path. */
  if (heap_key_ready) pthread_setspecific(heap_key, heap);
  return heap;
}

/* Before size_class takes fresh memory: the current pages of the heap's
 * other classes that have stayed empty go back to the area, where the new
 * page takes their slots, still resident, instead of faulting in new ones.
 * An emptied page stays current so that a malloc/free loop keeps it, and
 * the release thread takes it only after the purge delay; until then it
 * holds memory no other class can use.  "Stayed empty": empty for 20 ms,
 * and found empty here before with no block handed out since (a second
 * chance; the time it emptied alone says nothing of a loop, which frees
 * back to empty without a slow path).  For the shared heaps, whose pages
 * hold a few blocks of 8-128 KiB: python in bench/speed peaks 0.5% lower
 * (52.2 -> 51.9 MiB, medians of 5).  Only when no waiting slot would serve
 * the new page (alloc.c asks the areas first): reclaiming also then took
 * mstress-t4 from 2.9K to 4.3K page faults, for no lower peak.  Thread heaps are left alone: there it did not
 * help, and xmalloc-t2's peak, noisy as it is, looked worse.
 * Called with the heap's lock. */
void crowd_heap_reclaim_empty(struct heap *heap, unsigned size_class) {
  uint64_t now = crowd_os_now_ms();
  for (unsigned c = 0; c < CLASS_COUNT; c++) {
    struct page *page = heap->tables.current[c];
    if (c == size_class || page == &crowd_empty_page || crowd_page_used(page) != 0) continue;
    /* freed_at_ms: it emptied while current (crowd_free_locked). */
    if (!page->freed_at_ms || now - page->freed_at_ms < JUST_FREED_MS) continue;
    if (!page->reclaim_seen) { page->reclaim_seen = 1; continue; }
    crowd_heap_set_current(heap, c, &crowd_empty_page);
    crowd_area_return_page(page);
  }
}

/* Files a page the owner stops allocating from in its occupancy bucket,
 * armed so that the first remote free tells the owner (free.c). */
void crowd_heap_queue(struct heap *heap, struct page *page) {
  struct heap_class *hc = &heap->classes[page->size_class];
  while (!crowd_page_arm(page)) crowd_page_collect(page);
  if (crowd_page_used(page) == 0) { /* those frees emptied it */
    crowd_area_return_page(page);
    return;
  }
  unsigned b = crowd_page_bucket(page);
  STORE(page->state, PAGE_QUEUED);
  page->bucket = (uint8_t)b;
  /* Frees move a queued page down its buckets without the slow path: the
   * ranking is corrected when a page is picked (crowd_heap_take_fullest).
   * free() stops only where something happens: the page falls below half
   * (its free sub-pages may go, heap.c) or empties (back to the area).
   * Measured on random replacement of 512-1000 byte blocks: a slow path
   * at every eighth was 1 free in 18, and cost a quarter of the time. */
  crowd_page_set_floor(page, b >= BUCKET_COUNT / 2 ? crowd_bucket_floor(page, BUCKET_COUNT / 2) : 1);
  crowd_list_push(&hc->bucket[b], page);
  hc->bucket_mask |= 1u << b;
}

/* The page a class allocates from, in current[] and in the direct[] steps
 * of its sizes. */
void crowd_heap_set_current(struct heap *heap, unsigned size_class, struct page *page) {
  STORE(heap->tables.current[size_class], page);
  uint32_t size = crowd_classes[size_class].size;
  if (size > CROWD_DIRECT_MAX) return;
  unsigned first = size_class == 0 ? 0 : crowd_classes[size_class - 1].size / 16 + 1;
  for (unsigned step = first; step <= size / 16; step++) STORE(heap->tables.direct[step], page);
}

/* Moves a queued page to the bucket its occupancy says now. */
static void heap_rebucket(struct heap_class *hc, struct page *page, unsigned b) {
  crowd_list_remove(&hc->bucket[page->bucket], page);
  if (!hc->bucket[page->bucket].head) hc->bucket_mask &= ~(1u << page->bucket);
  page->bucket = (uint8_t)b;
  crowd_list_push(&hc->bucket[b], page);
  hc->bucket_mask |= 1u << b;
}

/* Crowding, page level.  The fullest bucket wins: pages are ranked by live
 * blocks, not bytes, because any block is about as likely to be freed as
 * any other, so a page with few blocks is the one that empties soonest if
 * left alone.  Within the bucket the lowest address wins (among the first
 * few), which packs the heap toward the start of its areas.  A page filed
 * in a higher bucket than it has drained to is moved down on the way (each
 * page at most once per bucket), so the pick is by what pages hold now. */
struct page *crowd_heap_take_fullest(struct heap *heap, unsigned size_class) {
  struct heap_class *hc = &heap->classes[size_class];
  while (hc->bucket_mask) {
    unsigned b = 31u - (unsigned)__builtin_clz(hc->bucket_mask);
    struct page *best = NULL;
    /* Pages of a class share their capacity: one division for the bucket. */
    uint32_t bucket_floor = crowd_bucket_floor(hc->bucket[b].head, b);
    unsigned looked = 0;
    for (struct page *page = hc->bucket[b].head, *next; page && looked < 8; page = next, looked++) {
      next = page->next;
      if (b > 0 && crowd_page_used(page) < bucket_floor) { heap_rebucket(hc, page, crowd_page_bucket(page)); continue; }
      if (!best || (uintptr_t)page < (uintptr_t)best) best = page;
    }
    if (best) {
      crowd_heap_unqueue(heap, best);
      return best;
    }
  }
  return NULL;
}

/* Crowding before the bump: the page to fill instead of handing out
 * untouched blocks of the current one (alloc.c), or NULL.  The fullest
 * queued page that is at least a quarter full and has a sixteenth of its
 * blocks free: a page with one or two holes would be given up again at
 * the next allocation, and a page less full than that is left to empty.
 * Measured on small (single thread, mostly 16-128 B, some long-lived):
 * filling the holes of any queued page took peak RSS from 6.9 to 5.9 MiB
 * and cost 9% more instructions, in page switches (about 500 instructions
 * each); with these two limits 6.2 MiB and 1.3% fewer instructions (fewer
 * fresh blocks to carve).  larson's peak fell 5-9%, mstress-t4's 5%. */
struct page *crowd_heap_take_roomy(struct heap *heap, unsigned size_class) {
  struct heap_class *hc = &heap->classes[size_class];
  uint32_t buckets = hc->bucket_mask & ~((1u << (BUCKET_COUNT / 4)) - 1);
  while (buckets) {
    unsigned b = 31u - (unsigned)__builtin_clz(buckets);
    buckets &= ~(1u << b);
    struct page *best = NULL;
    unsigned looked = 0;
    for (struct page *page = hc->bucket[b].head; page && looked < 8; page = page->next, looked++) {
      uint32_t used = crowd_page_used(page), capacity = page->capacity;
      uint32_t want_free = capacity / 16 > 2 ? capacity / 16 : 2;
      /* Filed by the occupancy it had when queued: frees since may have
       * taken it below a quarter (the next full pick re-files it). */
      if (capacity - used < want_free || used * 4 < capacity) continue;
      if (!best || (uintptr_t)page < (uintptr_t)best) best = page;
    }
    if (best) {
      crowd_heap_unqueue(heap, best);
      return best;
    }
  }
  return NULL;
}

void crowd_heap_unqueue(struct heap *heap, struct page *page) {
  struct heap_class *hc = &heap->classes[page->size_class];
  if (page->state == PAGE_QUEUED) {
    crowd_list_remove(&hc->bucket[page->bucket], page);
    if (!hc->bucket[page->bucket].head) hc->bucket_mask &= ~(1u << page->bucket);
  } else if (page->state == PAGE_FULL) {
    crowd_list_remove(&hc->full, page);
  }
}

/* Leaves the page to whoever comes next: empty pages go back to the area,
 * others to the abandoned list of their class. */
static void page_abandon(struct page *page) {
  crowd_page_collect(page);
  if (crowd_page_used(page) == 0) { crowd_area_return_page(page); return; }
  STORE(page->heap, NULL);
  STORE(page->state, PAGE_ABANDONED);
  /* Armed, a remote free wakes the release thread, whose sweep takes it. */
  while (!crowd_page_arm(page)) crowd_page_collect(page);
  if (crowd_page_used(page) == 0) { crowd_area_return_page(page); return; }
  pthread_mutex_lock(&abandoned_lock);
  crowd_list_push(&abandoned[page->size_class], page);
  STORE(abandoned_count[page->size_class], LOAD(abandoned_count[page->size_class]) + 1);
  pthread_mutex_unlock(&abandoned_lock);
}

/* A parked heap's pages go to the abandoned lists (empty ones to their
 * areas).  Called by the release thread with crowd_heap_lock held. */
void crowd_heap_abandon_pages(struct heap *heap) {
  pthread_mutex_lock(&heap->lock);
  struct page *notified = atomic_exchange_explicit(&heap->notified, NULL, memory_order_acquire);
  for (; notified; notified = notified->notify_next) atomic_store_explicit(&notified->notified, 0, memory_order_relaxed);
  for (unsigned c = 0; c < CLASS_COUNT; c++) {
    struct heap_class *hc = &heap->classes[c];
    struct page *current = heap->tables.current[c];
    crowd_heap_set_current(heap, c, &crowd_empty_page);
    if (current != &crowd_empty_page) page_abandon(current);
    for (unsigned b = 0; b < BUCKET_COUNT; b++)
      while (hc->bucket[b].head) {
        struct page *page = hc->bucket[b].head;
        crowd_list_remove(&hc->bucket[b], page);
        page_abandon(page);
      }
    while (hc->full.head) {
      struct page *page = hc->full.head;
      crowd_list_remove(&hc->full, page);
      page_abandon(page);
    }
    hc->bucket_mask = 0;
  }
  heap->parked_with_pages = 0;
  pthread_mutex_unlock(&heap->lock);
}

/* Adopts the fullest abandoned page of the class (crowding again: the
 * sparse ones are left to empty). */
struct page *crowd_abandoned_take(unsigned size_class, struct heap *heap) {
  if (!LOAD(abandoned_count[size_class])) return NULL; /* a peek; the lock decides */
  pthread_mutex_lock(&abandoned_lock);
  struct page *best = NULL;
  unsigned looked = 0;
  for (struct page *page = abandoned[size_class].head; page && looked < 16; page = page->next, looked++) {
    bool room = crowd_page_used(page) < page->capacity || crowd_page_has_remote(page);
    if (room && (!best || crowd_page_used(page) > crowd_page_used(best))) best = page;
  }
  if (best) {
    crowd_list_remove(&abandoned[size_class], best);
    STORE(abandoned_count[size_class], LOAD(abandoned_count[size_class]) - 1);
    STORE(best->heap, heap);
    STORE(best->state, PAGE_CURRENT);
  }
  pthread_mutex_unlock(&abandoned_lock);
  if (best) crowd_page_collect(best);
  return best;
}

/* Returns abandoned pages that frees from other threads have emptied. */
void crowd_abandoned_sweep(void) {
  for (unsigned c = 0; c < CLASS_COUNT; c++) {
    if (!LOAD(abandoned_count[c])) continue;
    pthread_mutex_lock(&abandoned_lock);
    struct page *page = abandoned[c].head;
    while (page) {
      struct page *next = page->next;
      crowd_page_collect(page);
      uint32_t used = crowd_page_used(page);
      /* Nobody allocates from an abandoned page: what is free in it can go
       * (again once a quarter more of its blocks have gone). */
      if (used && (page->released_at_used == UINT16_MAX || used + used / 4 < page->released_at_used))
        crowd_page_release_subpages(page);
      while (!crowd_page_arm(page)) crowd_page_collect(page); /* for the next remote free */
      used = crowd_page_used(page);
      if (used == 0) {
        crowd_list_remove(&abandoned[c], page);
        STORE(abandoned_count[c], LOAD(abandoned_count[c]) - 1);
        pthread_mutex_unlock(&abandoned_lock);
        crowd_area_return_page(page);
        pthread_mutex_lock(&abandoned_lock);
        next = abandoned[c].head; /* the list may have changed meanwhile */
      }
      page = next;
    }
    pthread_mutex_unlock(&abandoned_lock);
  }
}

/* The release thread's work on a heap whose owner may be idle:
 *   - a current page with no live block for the purge delay goes back to
 *     its area;
 *   - a page sparse for the purge delay (lowest bucket, or a current page
 *     drained that far) gives back its free 4 KiB sub-pages, and again
 *     later if more of its blocks go;
 *   - a page formed on slots an earlier page left resident gives back what
 *     lies above its bump mark if it has not grown into it within the
 *     purge delay (crowd_page_release_untouched).
 * The owner may be inside its lock-free malloc or free at any moment.
 * The protocol that makes taking a page for a moment safe:
 *   1. hold the heap's lock: the owner is not in a slow path;
 *   2. point the heap's current slot away from the page (malloc then goes
 *      to the slow path and waits for the lock) and clear the page's owner
 *      (free then takes the remote path, an atomic push);
 *   3. membarrier: every thread of the process passes a full barrier, so
 *      the owner either sees step 2 from now on, or its busy flag, set
 *      before it looked, is visible to us;
 *   4. busy clear: the pages are ours until we put owner and slot back;
 *      busy set: put everything back at once and try again shortly.
 * Without membarrier (old kernels, some sandboxes) nothing is taken here:
 * those pages wait for their thread's next slow path or its exit. */
enum claim_kind { CLAIM_EMPTY = 1, CLAIM_SPARSE = 2, CLAIM_UNTOUCHED = 4 };

struct claim {
  struct page *page;
  unsigned size_class;
  bool was_current;
  unsigned kinds; /* enum claim_kind bits */
};

/* Busy heaps.  The free sub-pages of a sparse page are memory its heap
 * reaches for again once fuller pages fill and the page becomes current:
 * given back, they cost a page fault per 4 KiB then, and each madvise a
 * TLB shootdown on the CPU the program runs on.  gcc, in a 2 s compile:
 * 178 sparse pages gave back sub-pages (740 madvise calls, 16.7 MB) and
 * 162 were allocated from again within 4 s of becoming sparse; 19.6K page
 * faults (median of 3; 15.4K with the purge off).  So while a heap keeps
 * making pages current (a look of the release thread within the last
 * BUSY_RECHECK_MS found its count moved), its sparse pages wait BUSY_HOLD
 * purge delays instead of one, and the thread looks again every
 * BUSY_RECHECK_MS: the first look that finds the heap quiet gives them
 * back as before, so a program that goes idle loses them about 100-200 ms
 * later than it would have.  gcc: 17.6K faults against 19.6K (medians of
 * 3), peak unchanged.
 * Held and measured, but not kept: emptied current pages and what a page
 * formed on resident slots has not grown into.  Neither saved gcc faults
 * beyond what holding sparse pages saves; with the first, the server
 * workload (threads come and go, and their heaps' emptied pages would
 * wait 4 s) peaked higher in three runs of three, 166.7-175.8 MiB against
 * 163.3-164.8, though one build's peak there scatters over 163-176. */
#define BUSY_HOLD 8
#define BUSY_RECHECK_MS 100

/* Whether something that began waiting at since has waited the purge
 * delay (BUSY_HOLD of them if busy); if not, notes when to look again. */
static bool due(uint64_t since, uint64_t now, bool busy, bool force, uint64_t *next_due_ms) {
  int64_t delay = crowd_options.purge_delay_ms;
  if (force) return true;
  if (delay < 0) return false;
  uint64_t at = since + (uint64_t)delay;
  uint64_t hold = busy ? (uint64_t)delay * (BUSY_HOLD - 1) : 0;
  if (busy && ((uint64_t)delay > UINT64_MAX / BUSY_HOLD || hold > UINT64_MAX - at)) hold = UINT64_MAX - at;
  if (now >= at + hold) return true;
  uint64_t look = at;
  if (now >= at) look = now + BUSY_RECHECK_MS < at + hold ? now + BUSY_RECHECK_MS : at + hold; /* held */
  crowd_due_at(next_due_ms, look);
  return false;
}

static bool sparse_candidate(struct page *page, uint64_t now, bool busy, bool force, uint64_t *next_due_ms) {
  uint32_t used = crowd_page_used(page);
  if (!page->sparse_since || used == 0) return false;
  /* Already released at this occupancy: wait until a quarter more is gone. */
  if (page->released_at_used != UINT16_MAX && used + used / 4 >= page->released_at_used && !force) return false;
  return due(crowd_ms_unstamp(page->sparse_since, now), now, busy, force, next_due_ms);
}

static bool untouched_candidate(struct page *page, uint64_t now, bool force, uint64_t *next_due_ms) {
  if (!page->inherited_since) return false;
  if (!crowd_page_untouched_bytes(page)) {
    page->inherited_since = 0; /* grown into all of it: nothing to give back (the owner never writes this) */
    return false;
  }
  return due(crowd_ms_unstamp(page->inherited_since, now), now, false, force, next_due_ms);
}

static unsigned claim_kinds(struct page *page, bool may_be_sparse, uint64_t now, bool busy, bool force,
                            uint64_t *next_due_ms) {
  unsigned kinds = 0;
  if (may_be_sparse && sparse_candidate(page, now, busy, force, next_due_ms)) kinds |= CLAIM_SPARSE;
  if (untouched_candidate(page, now, force, next_due_ms)) kinds |= CLAIM_UNTOUCHED;
  return kinds;
}

#define CLAIM_BATCH 64

static size_t claim_batch(struct heap *heap, struct claim *claims, unsigned count, uint64_t now,
                          uint64_t *next_due_ms) {
  for (unsigned i = 0; i < count; i++) {
    if (claims[i].was_current) crowd_heap_set_current(heap, claims[i].size_class, &crowd_empty_page);
    STORE(claims[i].page->heap, NULL);
  }
  bool quiet = crowd_membarrier() && !atomic_load_explicit(heap->owner_busy, memory_order_acquire);
  size_t bytes = 0;
  for (unsigned i = 0; i < count; i++) {
    struct claim *claim = &claims[i];
    struct page *page = claim->page;
    if (quiet) {
      crowd_page_collect(page); /* what the owner freed meanwhile, and others */
      if (crowd_page_used(page) == 0 && ((claim->kinds & CLAIM_EMPTY) || !claim->was_current)) {
        if (!claim->was_current) crowd_heap_unqueue(heap, page);
        page->freed_at_ms = 0;
        bytes += (size_t)page->span << SLOT_SHIFT;
        crowd_area_return_page(page);
        continue;
      }
      if (claim->kinds & CLAIM_SPARSE) bytes += crowd_page_release_subpages(page);
      if (claim->kinds & CLAIM_UNTOUCHED) bytes += crowd_page_release_untouched(page);
      if (claim->was_current && crowd_page_used(page) == 0) {
        crowd_page_set_floor(page, 0); /* empty now: the next pass may take it whole */
        if (!page->freed_at_ms) page->freed_at_ms = now; /* emptied earlier: that time counts */
      }
    } else {
      crowd_due_at(next_due_ms, now + 10);
    }
    STORE(page->heap, heap);
    if (claim->was_current) {
      crowd_heap_set_current(heap, claim->size_class, page);
    } else {
      /* A remote free meanwhile found no owner to tell (it woke us), and
       * the collect above disarmed the page: arm it again. */
      while (!crowd_page_arm(page)) crowd_page_collect(page);
    }
  }
  return bytes;
}

size_t crowd_heap_claim_idle(struct heap *heap, uint64_t now, bool force, uint64_t *next_due_ms) {
  if (!heap->live) return 0;
  if (pthread_mutex_trylock(&heap->lock) != 0) {
    /* In a slow path: not idle.  Look again soon, or what this heap holds
     * back would wait for the next free to wake the thread. */
    crowd_due_at(next_due_ms, now + BUSY_RECHECK_MS);
    return 0;
  }
  /* Busy: see BUSY_HOLD.  malloc_trim (force) takes everything anyway. */
  if (heap->page_switches != heap->page_switches_seen) {
    heap->page_switches_seen = heap->page_switches;
    heap->switched_seen_ms = now;
  }
  bool busy = heap->switched_seen_ms && (int64_t)(now - heap->switched_seen_ms) < BUSY_RECHECK_MS;
  struct claim claims[CLAIM_BATCH];
  unsigned count = 0;
  size_t bytes = 0;
  for (unsigned c = 0; c < CLASS_COUNT; c++) {
    struct page *page = LOAD(heap->tables.current[c]);
    if (page != &crowd_empty_page) {
      unsigned kinds;
      if (crowd_page_used(page) == 0 && page->freed_at_ms && due(page->freed_at_ms, now, false, force, next_due_ms))
        claims[count++] = (struct claim){page, c, true, CLAIM_EMPTY};
      else if ((kinds = claim_kinds(page, true, now, busy, force, next_due_ms)))
        claims[count++] = (struct claim){page, c, true, kinds};
    }
    for (unsigned b = 0; b < BUCKET_COUNT; b++)
      for (struct page *q = heap->classes[c].bucket[b].head; q; q = q->next) {
        if (count == CLAIM_BATCH) {
          bytes += claim_batch(heap, claims, count, now, next_due_ms);
          count = 0;
        }
        unsigned kinds = claim_kinds(q, b < BUCKET_COUNT / 2, now, busy, force, next_due_ms);
        if (kinds) claims[count++] = (struct claim){q, c, false, kinds};
      }
    if (count + 1 >= CLAIM_BATCH) {
      bytes += claim_batch(heap, claims, count, now, next_due_ms);
      count = 0;
    }
  }
  if (count) bytes += claim_batch(heap, claims, count, now, next_due_ms);
  pthread_mutex_unlock(&heap->lock);
  return bytes;
}

/* Every live heap, for the release thread and malloc_trim. */
size_t crowd_heaps_claim_idle(uint64_t now, bool force, uint64_t *next_due_ms) {
  size_t bytes = 0;
  pthread_mutex_lock(&crowd_heap_lock);
  for (struct heap *h = heap_list; h; h = h->next_heap) {
    if (!h->live && h->parked_with_pages && due(h->parked_at_ms, now, false, force, next_due_ms))
      crowd_heap_abandon_pages(h);
    bytes += crowd_heap_claim_idle(h, now, force, next_due_ms);
  }
  pthread_mutex_unlock(&crowd_heap_lock);
  return bytes;
}

/* In a forked child only the forking thread exists: every other heap's
 * pages are abandoned so that the child can reuse them. */
void crowd_heap_after_fork_child(void) {
  struct heap *self = crowd_thread.heap;
  for (struct heap *h = heap_list; h; h = h->next_heap)
    if (h->live && h != self && !crowd_is_shared_heap(h)) {
      h->owner_busy = &crowd_never_busy; /* its thread is not in the child */
      heap_park(h);
    }
}

/* Fork waits until no thread is inside a slow path (each holds its heap's
 * lock there), so the child inherits whole lists. */
void crowd_heap_fork_lock(void) {
  pthread_mutex_lock(&crowd_heap_lock);
  for (struct heap *h = heap_list; h; h = h->next_heap) pthread_mutex_lock(&h->lock);
}
void crowd_heap_fork_lock_lists(void) { pthread_mutex_lock(&abandoned_lock); }
void crowd_heap_fork_unlock_lists(void) { pthread_mutex_unlock(&abandoned_lock); }
void crowd_heap_fork_unlock(bool child) {
  for (struct heap *h = heap_list; h; h = h->next_heap) {
    if (child) h->lock = (pthread_mutex_t)PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
    else pthread_mutex_unlock(&h->lock);
  }
  pthread_mutex_unlock(&crowd_heap_lock);
}
