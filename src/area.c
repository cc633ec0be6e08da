/* Areas: 4 MiB reservations carved into 64 KiB slots, and the pages the
 * heaps take from them.  Everything here runs under crowd_area_lock, on
 * page refill and page return only (once per page's worth of blocks).
 *
 * Crowding, area level: a new page comes from the area that already has
 * the most slots in use, so that the sparse areas get no new pages, empty
 * out and are unmapped.  Within an area, a slot that is still resident is
 * preferred to one already given back (no page faults), then the lowest
 * address (keeps the heap compact toward the start of the area).  Before
 * all that, slots freed by earlier pages and still waiting for the purge
 * are reused, in whichever area they are. */
#include <string.h>

#include "internal.h"

/* Adaptive: held for short moments, so a waiter spins a little before it sleeps. */
pthread_mutex_t crowd_area_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
_Atomic uint8_t crowd_area_kinds[REGISTRY_SIZE];

static struct area *area_list; /* by address, lowest first */
static uint64_t slots_in_use;   /* over all areas */
static void purge_excess_locked(uint64_t now);

void crowd_area_register(uintptr_t area, unsigned kind) {
  atomic_store_explicit(&crowd_area_kinds[area >> AREA_SHIFT], (uint8_t)kind, memory_order_release);
}

static uint64_t run_mask(unsigned span) {
  return span >= 64 ? ~0ull : (((uint64_t)1 << span) - 1);
}

static void area_link(struct area *area) {
  struct area **link = &area_list, *prev = NULL;
  while (*link && (uintptr_t)*link < (uintptr_t)area) { prev = *link; link = &(*link)->next; }
  area->next = *link;
  area->prev = prev;
  if (*link) (*link)->prev = area;
  *link = area;
}

static void area_unlink(struct area *area) {
  if (area->prev) area->prev->next = area->next;
  else area_list = area->next;
  if (area->next) area->next->prev = area->prev;
}

_Static_assert(PAGE_FREE == 0, "a fresh area's zeroed descriptors describe free slots");

static struct area *area_new(void) {
  struct area *area = crowd_os_map_aligned(AREA_SIZE, AREA_SIZE, NULL);
  if (!area) return NULL;
  crowd_os_no_hugepages(area, AREA_SIZE);
  area->kind = AREA_PAGES;
  area->used_slots = 0;
  area->free_mask = ~1ull; /* slot 0 is the header */
  area->released_mask = 0;
  area->waiting_mask = 0;
  area->empty_since_ms = 0;
  /* The descriptors are left as the kernel's zero pages (PAGE_FREE, no
   * timestamps): 8 KiB of them, touched only as their slots come into
   * use, which a small program's first area never needs in full. */
  for (unsigned s = 0; s < SLOTS_PER_AREA; s++) area->slot_page[s] = (uint8_t)s;
  area_link(area);
  crowd_area_register((uintptr_t)area, KIND_PAGES);
  COUNTER_ADD(areas_mapped, 1);
  COUNTER_ADD(areas_live, 1);
  COUNTER_ADD(mapped_bytes, AREA_SIZE);
  return area;
}

/* Lowest slot starting a run of span free slots, preferring runs with no
 * released slot.  Returns 0 (the header slot, never free) if none. */
static unsigned area_find_run(const struct area *area, unsigned span, bool from_top) {
  uint64_t want = run_mask(span);
  unsigned fallback = 0;
  if (from_top) {
    /* Large blocks from the top of the area, pages of size classes from
     * the bottom: the two do not cut each other's free runs into pieces. */
    for (unsigned s = SLOTS_PER_AREA - span; s >= 1; s--) {
      if (((area->free_mask >> s) & want) != want) continue;
      if (((area->released_mask >> s) & want) == 0) return s;
      if (!fallback) fallback = s;
    }
    return fallback;
  }
  for (unsigned s = 1; s + span <= SLOTS_PER_AREA; s++) {
    if (((area->free_mask >> s) & want) != want) continue;
    if (((area->released_mask >> s) & want) == 0) return s;
    if (!fallback) fallback = s;
  }
  return fallback;
}

/* The run of span free slots with the most slots still resident from an
 * earlier page (waiting for the purge), lowest first (highest for large
 * blocks).  Returns 0 if no run holds such a slot; *waiting_out is how
 * many it holds. */
static unsigned area_find_waiting_run(const struct area *area, unsigned span, bool from_top,
                                      unsigned *waiting_out) {
  uint64_t want = run_mask(span), waiting = area->waiting_mask;
  unsigned best = 0, best_count = 0;
  if (span == 1) {
    best = from_top ? 63u - (unsigned)__builtin_clzll(waiting) : (unsigned)__builtin_ctzll(waiting);
    best_count = 1;
  } else {
    for (unsigned i = 1; i + span <= SLOTS_PER_AREA; i++) {
      unsigned s = from_top ? SLOTS_PER_AREA - span + 1 - i : i;
      if (((area->free_mask >> s) & want) != want) continue;
      unsigned count = (unsigned)__builtin_popcountll((waiting >> s) & want);
      if (count > best_count) { best = s; best_count = count; }
      if (count == span) break;
    }
  }
  *waiting_out = best_count;
  return best;
}

/* Whether crowd_area_take_span would find a run with a slot still
 * resident for a page of span slots, rather than fresh memory. */
bool crowd_area_has_waiting_run(unsigned span) {
  pthread_mutex_lock(&crowd_area_lock);
  bool found = false;
  for (struct area *area = area_list; area && !found; area = area->next) {
    unsigned waiting;
    found = area->waiting_mask && area_find_waiting_run(area, span, false, &waiting) != 0;
  }
  pthread_mutex_unlock(&crowd_area_lock);
  return found;
}

struct page *crowd_area_take_page(unsigned size_class) {
  bool zero;
  struct page *page = crowd_area_take_span(crowd_classes[size_class].span, false, &zero);
  if (!page) return NULL;
  STORE(page->state, PAGE_CURRENT);
  crowd_page_init(page, size_class, zero);
  return page;
}

/* A run of span free slots (a new area if none): first one that holds
 * slots an earlier page left resident, the most of them, in the fullest
 * area; else from the fullest area that has a run.  Reusing what waits for
 * the purge costs no page fault and touches no new memory: taking fresh
 * slots from the fullest area instead let a program whose classes fill and
 * empty pages in turn hold both (mstress, 1 thread: 0.6 MiB of its 5.6 MiB
 * peak was freed slots waiting).  *zero says whether all of its memory
 * reads as zero. */
struct page *crowd_area_take_span(unsigned span, bool large, bool *zero_out) {
  pthread_mutex_lock(&crowd_area_lock);
  struct area *best = NULL;
  unsigned best_slot = 0, best_waiting = 0;
  for (struct area *area = area_list; area; area = area->next) {
    if (!area->waiting_mask) continue;
    unsigned waiting;
    unsigned slot = area_find_waiting_run(area, span, large, &waiting);
    if (!slot) continue;
    if (best && (waiting < best_waiting || (waiting == best_waiting && area->used_slots <= best->used_slots)))
      continue;
    best = area;
    best_slot = slot;
    best_waiting = waiting;
  }
  if (!best)
    for (struct area *area = area_list; area; area = area->next) {
      if (best && area->used_slots <= best->used_slots) continue;
      if (__builtin_popcountll(area->free_mask) < (int)span) continue;
      unsigned slot = area_find_run(area, span, large);
      if (slot) { best = area; best_slot = slot; }
    }
  if (!best) {
    best = area_new();
    if (!best) { pthread_mutex_unlock(&crowd_area_lock); return NULL; }
    best_slot = large ? SLOTS_PER_AREA - span : 1;
  }
  uint64_t run = run_mask(span) << best_slot;
  bool zero = true, inherits = false;
  for (unsigned s = best_slot; s < best_slot + span; s++) {
    struct page *slot_page = &best->pages[s];
    if (slot_page->released) {
      COUNTER_SUB(pages_free_released, 1);
    } else if (slot_page->freed_at_ms) {
      COUNTER_SUB(pages_free_resident, 1);
      inherits = true;
    }
    if (slot_page->dirty) zero = false;
    slot_page->dirty = 1;
    slot_page->released = 0;
    slot_page->freed_at_ms = 0;
    best->slot_page[s] = (uint8_t)best_slot;
    /* Not the page's own descriptor: blocks here must fail free's fast
     * block-start test (crowd_slot_descriptor). */
    if (s != best_slot) STORE(slot_page->handed_out, 0);
  }
  best->free_mask &= ~run;
  best->released_mask &= ~run;
  best->waiting_mask &= ~run;
  best->used_slots += span;
  slots_in_use += span;
  struct page *page = &best->pages[best_slot];
  page->slot = (uint8_t)best_slot;
  page->span = (uint8_t)span;
  /* A large block is handed out whole: nothing of its slots lies unused. */
  inherits = inherits && !large;
  page->inherited_since = inherits ? crowd_ms_stamp(crowd_os_now_ms()) : 0;
  *zero_out = zero;
  COUNTER_ADD(pages_in_use, 1);
  pthread_mutex_unlock(&crowd_area_lock);
  /* No wake for the release thread: the slots it inherited were waiting,
   * so the thread has a pass due for them, and that pass finds the page. */
  return page;
}

/* Marks the page's slots free.  released: its memory was just given back
 * (else it waits for the purge, resident).  Called with crowd_area_lock. */
static void return_locked(struct page *page, uint64_t now, bool released) {
  struct area *area = crowd_page_area(page);
  unsigned first = page->slot, span = page->span;
  for (unsigned s = first; s < first + span; s++) {
    struct page *slot_page = &area->pages[s];
    STORE(slot_page->state, PAGE_FREE);
    STORE(slot_page->heap, NULL);
    slot_page->released = released;
    if (released && !crowd_options.purge_free) slot_page->dirty = 0;
    slot_page->freed_at_ms = now ? now : 1;
    area->slot_page[s] = (uint8_t)s;
  }
  uint64_t run = run_mask(span) << first;
  area->free_mask |= run;
  if (released) area->released_mask |= run;
  else area->waiting_mask |= run;
  area->used_slots -= span;
  slots_in_use -= span;
  if (area->used_slots == 0) area->empty_since_ms = now;
  COUNTER_SUB(pages_in_use, 1);
  if (released) COUNTER_ADD(pages_free_released, span);
  else COUNTER_ADD(pages_free_resident, span);
}

/* A page with no live block goes back to its area.  Nothing is released
 * here: the purge (release.c, or the next refill) gives it back after the
 * delay, so a class that empties and refills a page does not fault. */
void crowd_area_return_page(struct page *page) {
  uint64_t now = crowd_os_now_ms();
  pthread_mutex_lock(&crowd_area_lock);
  return_locked(page, now, false);
  if (crowd_options.purge_delay_ms >= 0) purge_excess_locked(now);
  pthread_mutex_unlock(&crowd_area_lock);
  crowd_release_wake();
}

/* The same, giving the memory back at once (before the slots are free:
 * then no other thread can have put blocks there yet).  For memory that
 * is not worth keeping resident for the delay. */
void crowd_area_return_page_released(struct page *page) {
  bool released = crowd_os_release(page->start, (size_t)page->span << SLOT_SHIFT);
  uint64_t now = crowd_os_now_ms();
  pthread_mutex_lock(&crowd_area_lock);
  return_locked(page, now, released);
  pthread_mutex_unlock(&crowd_area_lock);
  crowd_release_wake();
}

/* Releases the area's free slots freed at or before due_limit (all with
 * force), neighbours in one madvise.  Notes in *next_due when the first
 * of the others comes due.  Called with crowd_area_lock held. */
static size_t area_release_slots(struct area *area, uint64_t due_limit, bool force, uint64_t delay,
                                 uint64_t *next_due_out) {
  size_t released = 0;
  uint64_t next_due = *next_due_out;
  uint64_t candidates = area->free_mask & ~area->released_mask;
  unsigned s = 1;
  while (s < SLOTS_PER_AREA) {
    struct page *slot_page = &area->pages[s];
    bool due = (candidates >> s & 1) && slot_page->freed_at_ms && (force || slot_page->freed_at_ms <= due_limit);
    if ((candidates >> s & 1) && slot_page->freed_at_ms && !due) {
      crowd_due_at(&next_due, slot_page->freed_at_ms + (uint64_t)delay);
    }
    if (!due) { s++; continue; }
    unsigned run_end = s;
    while (run_end < SLOTS_PER_AREA && (candidates >> run_end & 1) && area->pages[run_end].freed_at_ms &&
           (force || area->pages[run_end].freed_at_ms <= due_limit))
      run_end++;
    size_t bytes = (size_t)(run_end - s) << SLOT_SHIFT;
    if (crowd_os_release((char *)area + ((size_t)s << SLOT_SHIFT), bytes)) {
      for (unsigned r = s; r < run_end; r++) {
        area->pages[r].released = 1;
        if (!crowd_options.purge_free) area->pages[r].dirty = 0;
        area->released_mask |= (uint64_t)1 << r;
        area->waiting_mask &= ~((uint64_t)1 << r);
      }
      COUNTER_SUB(pages_free_resident, run_end - s);
      COUNTER_ADD(pages_free_released, run_end - s);
      released += bytes;
    }
    s = run_end;
  }
  *next_due_out = next_due;
  return released;
}

/* Releases, in every area, the free slots freed at or before cutoff.
 * Called with crowd_area_lock. */
static size_t release_freed_before_locked(uint64_t cutoff) {
  uint64_t ignored = 0;
  size_t released = 0;
  for (struct area *area = area_list; area; area = area->next)
    if (area->waiting_mask) released += area_release_slots(area, cutoff, false, 0, &ignored);
  return released;
}

/* Releases the waiting slots freed more than JUST_FREED_MS ago, for huge
 * blocks that grow past their peak (huge.c): those fault in fresh pages
 * that no slot could have served, and the waiting slots would stack on
 * top of them.  Nothing goes when the purge is off (CROWD_PURGE_DELAY=never,
 * a negative M_TRIM_THRESHOLD). */
size_t crowd_area_release_waiting(void) {
  if (crowd_options.purge_delay_ms < 0 || !COUNTER_GET(pages_free_resident)) return 0;
  uint64_t now = crowd_os_now_ms();
  pthread_mutex_lock(&crowd_area_lock);
  size_t released = release_freed_before_locked(now - JUST_FREED_MS);
  pthread_mutex_unlock(&crowd_area_lock);
  return released;
}

/* Freed slots wait out the purge delay so that a page wanted again soon
 * costs no page fault; but what waits is bounded: beyond 8 MiB plus a
 * quarter of the slots in use, the older half of the waiting slots goes at
 * once (measured: without it, a program whose phases allocate different
 * sizes peaked 20% above glibc on freed memory waiting for the delay). */
static void purge_excess_locked(uint64_t now) {
  uint64_t waiting = COUNTER_GET(pages_free_resident) * SLOT_SIZE;
  uint64_t budget = ((uint64_t)8 << 20) + slots_in_use * SLOT_SIZE / 4;
  if (waiting <= budget) return;
  /* Oldest first: the average age splits them roughly in half. */
  uint64_t age_sum = 0, count = 0;
  for (struct area *area = area_list; area; area = area->next) {
    uint64_t candidates = area->free_mask & ~area->released_mask;
    for (unsigned s = 1; s < SLOTS_PER_AREA; s++)
      if ((candidates >> s & 1) && area->pages[s].freed_at_ms) {
        age_sum += now - area->pages[s].freed_at_ms;
        count++;
      }
  }
  if (!count) return;
  uint64_t cutoff = now - age_sum / count;
  if (cutoff > now - JUST_FREED_MS) cutoff = now - JUST_FREED_MS;
  release_freed_before_locked(cutoff);
}

/* Releases free slots that have waited out the delay (all of them with
 * force), coalescing neighbours into one madvise, and unmaps areas that
 * have been empty that long.  Returns the bytes released; *next_due_ms
 * says when the next slot comes due (0: nothing waiting). */
size_t crowd_area_purge(uint64_t now, bool force, uint64_t *next_due_ms) {
  int64_t delay = crowd_options.purge_delay_ms;
  if (delay < 0 && !force) { if (next_due_ms) *next_due_ms = 0; return 0; }
  uint64_t due_limit = force ? UINT64_MAX : (now >= (uint64_t)delay ? now - (uint64_t)delay : 0);
  uint64_t next_due = 0;
  size_t released = 0;
  pthread_mutex_lock(&crowd_area_lock);
  struct area *area = area_list;
  while (area) {
    struct area *next = area->next;
    if (area->used_slots == 0 && (force || area->empty_since_ms <= due_limit) && area_list->next) {
      /* Whole area empty: give it all back.  The last area stays mapped
       * (its free slots are still released below), so a program hovering
       * at one area's worth does not map and unmap it over and over. */
      area_unlink(area);
      crowd_area_register((uintptr_t)area, KIND_NONE);
      for (unsigned s = 1; s < SLOTS_PER_AREA; s++) {
        struct page *slot_page = &area->pages[s];
        if (slot_page->released) COUNTER_SUB(pages_free_released, 1);
        else if (slot_page->freed_at_ms) COUNTER_SUB(pages_free_resident, 1);
      }
      crowd_os_unmap(area, AREA_SIZE);
      released += AREA_SIZE;
      COUNTER_ADD(areas_unmapped, 1);
      COUNTER_SUB(areas_live, 1);
      COUNTER_SUB(mapped_bytes, AREA_SIZE);
      area = next;
      continue;
    }
    released += area_release_slots(area, due_limit, force, (uint64_t)delay, &next_due);
    if (area->used_slots == 0 && area_list->next) {
      crowd_due_at(&next_due, area->empty_since_ms + (uint64_t)(delay > 0 ? delay : 0));
    }
    area = next;
  }
  pthread_mutex_unlock(&crowd_area_lock);
  if (next_due_ms) *next_due_ms = next_due;
  return released;
}

void crowd_area_foreach(void (*fn)(struct area *, void *), void *arg) {
  pthread_mutex_lock(&crowd_area_lock);
  for (struct area *area = area_list; area; area = area->next) fn(area, arg);
  pthread_mutex_unlock(&crowd_area_lock);
}
