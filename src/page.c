/* A page (miniheap): blocks of one size class in a run of slots.
 *
 * A fresh page hands out blocks from its untouched end ("bump") a few at a
 * time, so a page is faulted in only as far as it is used.  Free blocks are
 * chained through their first word; the second word holds cookie ^ address
 * so that a second free of the same block is caught. */
#include <string.h>

#include "internal.h"

/* The inverse of an odd number modulo 2^64, by Newton's iteration: each
 * step doubles the correct low bits (x = odd is right to 3 bits). */
static uint64_t odd_inverse(uint64_t odd) {
  uint64_t x = odd;
  for (int i = 0; i < 5; i++) x *= 2 - odd * x;
  return x;
}

/* The bump mark, in bytes for the slow paths and in blocks for free's
 * check. */
static void page_set_bump(struct page *page, uint32_t bytes) {
  STORE(page->bump, bytes);
  STORE(page->handed_out, bytes / page->block_size);
}

/* What every page starts with, whatever it holds. */
static void page_reset(struct page *page, uint32_t block_size, uint32_t capacity, unsigned size_class,
                       bool memory_is_zero) {
  page->free = NULL;
  page->local_free = NULL;
  page->block_size = block_size;
  unsigned shift = (unsigned)__builtin_ctz(block_size);
  page->size_shift = (uint8_t)shift;
  page->inverse = odd_inverse((uint64_t)block_size >> shift);
  page->capacity = capacity;
  page->size_class = (uint8_t)size_class;
  page->is_zero = memory_is_zero;
  page->subpages_released = 0;
  page->released_at_used = UINT16_MAX;
  page->sparse_since = 0;
  page->reclaim_seen = 0;
  for (unsigned s = 0; s < page->span; s++) crowd_page_area(page)->pages[page->slot + s].released_sub = 0;
  page->start = (char *)crowd_page_area(page) + ((size_t)page->slot << SLOT_SHIFT);
  page->bucket = 0;
  atomic_store_explicit(&page->thread_free, 0, memory_order_relaxed);
  page->next = page->prev = NULL;
}

void crowd_page_init(struct page *page, unsigned size_class, bool memory_is_zero) {
  const struct class_info *info = &crowd_classes[size_class];
  page_reset(page, info->size, info->capacity, size_class, memory_is_zero);
  crowd_page_set_used(page, 0);
  page_set_bump(page, 0);
  crowd_page_set_floor(page, 1);
}

/* A page holding one large block: all of its slots, handed out at once. */
void crowd_page_init_large(struct page *page, bool memory_is_zero) {
  uint32_t bytes = (uint32_t)page->span << SLOT_SHIFT;
  page_reset(page, bytes, 1, LARGE_CLASS, memory_is_zero);
  crowd_page_set_used(page, 1);
  page_set_bump(page, bytes);
  crowd_page_set_floor(page, 0);
  STORE(page->heap, &crowd_large_owner);
  STORE(page->state, PAGE_LARGE);
}

/* Hands out the next never-used block.  Blocks smaller than an OS page are
 * carved out up to the next 4 KiB boundary and chained, so the fast path
 * serves the rest; larger blocks come one at a time, touching nothing the
 * program has not asked for.  Returns NULL when the page is used up. */
void *crowd_page_extend(struct page *page) {
  uint32_t size = page->block_size;
  uint32_t limit = page->capacity * size;
  uint32_t bump = LOAD(page->bump);
  if (bump >= limit) return NULL;
  char *start = page->start;
  struct block *first = (struct block *)(start + bump);
  bump += size;
  if (!page->is_zero) first->check = 0;
  if (size < OS_PAGE) {
    uint32_t boundary = (bump + OS_PAGE - 1) & ~(uint32_t)(OS_PAGE - 1);
    if (boundary > limit) boundary = limit;
    /* Chain blocks that start before the boundary, in address order. */
    struct block *chain = NULL, **tail = &chain;
    while (bump < boundary && bump + size <= limit) {
      struct block *b = (struct block *)(start + bump);
      b->check = crowd_cookie ^ (uintptr_t)b;
      *tail = b;
      tail = &b->next;
      bump += size;
    }
    *tail = page->free;
    page->free = chain;
  }
  page_set_bump(page, bump);
  crowd_page_add_used(page, 1);
  return first;
}

/* The free list ran dry: the local list becomes the free list, and the
 * frees other threads left are taken too.  Returns whether there is a
 * block now. */
bool crowd_page_refill_free(struct page *page) {
  if (page->local_free) {
    struct block *local = page->local_free;
    page->local_free = NULL;
    if (page->free) {
      struct block *tail = local;
      while (tail->next) tail = tail->next;
      tail->next = page->free;
    }
    page->free = local;
  }
  if (crowd_page_has_remote(page)) crowd_page_collect(page);
  return page->free != NULL;
}

/* Takes the frees other threads left on the page (and disarms it: the
 * caller is looking at the page now).  Returns how many.  The list goes
 * where it needs no walk: the free list if that is empty, else the local
 * one; only when both hold blocks is it spliced. */
uint32_t crowd_page_collect(struct page *page) {
  uintptr_t taken = atomic_exchange_explicit(&page->thread_free, 0, memory_order_acquire);
  struct block *list = crowd_remote_list(taken);
  if (!list) return 0;
  uint32_t count = (uint32_t)(taken >> REMOTE_COUNT_SHIFT);
  if (!page->free) {
    page->free = list;
  } else if (!page->local_free) {
    page->local_free = list;
  } else {
    struct block *tail = list;
    while (tail->next) tail = tail->next;
    tail->next = page->free;
    page->free = list;
  }
  crowd_page_add_used(page, -(int32_t)count);
  return count;
}

/* The owner stops looking at the page: from now on the first remote free
 * tells it (free.c).  Returns false, and does not arm, if remote frees
 * came in already: the caller takes them first. */
bool crowd_page_arm(struct page *page) {
  uintptr_t word = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
  do {
    if (crowd_remote_list(word)) return false;
    if (word & REMOTE_ARMED) return true;
  } while (!atomic_compare_exchange_weak_explicit(&page->thread_free, &word, word | REMOTE_ARMED,
                                                  memory_order_acq_rel, memory_order_relaxed));
  return true;
}

/* The owner allocates from the page again: remote frees need not tell it. */
void crowd_page_disarm(struct page *page) {
  if (atomic_load_explicit(&page->thread_free, memory_order_relaxed) & REMOTE_ARMED)
    atomic_fetch_and_explicit(&page->thread_free, ~REMOTE_ARMED, memory_order_relaxed);
}

unsigned crowd_page_bucket(const struct page *page) {
  unsigned b = (unsigned)((uint64_t)crowd_page_used(page) * BUCKET_COUNT / page->capacity);
  return b < BUCKET_COUNT ? b : BUCKET_COUNT - 1;
}

/* The smallest used count that still belongs in bucket b: a free that
 * drops below it moves the page one bucket down (free.c). */
uint32_t crowd_bucket_floor(const struct page *page, unsigned bucket) {
  if (bucket == 0) return 1;
  return (uint32_t)(((uint64_t)bucket * page->capacity + BUCKET_COUNT - 1) / BUCKET_COUNT);
}

void crowd_list_push(struct page_list *list, struct page *page) {
  page->prev = NULL;
  page->next = list->head;
  if (list->head) list->head->prev = page;
  list->head = page;
}

void crowd_list_remove(struct page_list *list, struct page *page) {
  if (page->prev) page->prev->next = page->next;
  else list->head = page->next;
  if (page->next) page->next->prev = page->prev;
  page->next = page->prev = NULL;
}

/* Released 4 KiB sub-pages are remembered per slot: 16 bits in each
 * slot's descriptor, so a page of n slots has 16n of them. */
static inline bool sub_released(struct area *area, const struct page *page, uint32_t sub) {
  return area->pages[page->slot + (sub >> 4)].released_sub >> (sub & 15) & 1;
}
static inline void sub_mark_released(struct area *area, const struct page *page, uint32_t sub) {
  area->pages[page->slot + (sub >> 4)].released_sub |= (uint16_t)(1u << (sub & 15));
}

/* Sub-page release.  A sparse page (crowding starves it, so it may hold a
 * few long-lived blocks for a long time) gives back every 4 KiB sub-page,
 * below the bump mark, that no live block overlaps.  Free blocks that
 * overlap a released sub-page leave the free list first (their links would
 * read as zero) and are put back by crowd_page_restore_subpages when the
 * page is allocated from again.  Returns the bytes released. */
size_t crowd_page_release_subpages(struct page *page) {
  uint32_t size = page->block_size;
  uint32_t bump = LOAD(page->bump);
  uint32_t whole = bump / OS_PAGE; /* sub-pages entirely below bump */
  if (crowd_page_used(page) == 0 || whole < 2) return 0;
  crowd_page_refill_free(page); /* one list to walk */
  /* The release thread comes back only once more blocks have gone. */
  page->released_at_used = (uint16_t)crowd_page_used(page);
  struct area *area = crowd_page_area(page);
  uint32_t handed = LOAD(page->handed_out);
  uint64_t free_bits[(SLOT_SIZE / CROWD_MIN_ALIGN) / 64];
  memset(free_bits, 0, sizeof free_bits);
  char *start = page->start;
  for (struct block *b = page->free; b; b = b->next) {
    uint32_t index = (uint32_t)crowd_page_block_index(page, (uint64_t)((char *)b - start));
    free_bits[index >> 6] |= (uint64_t)1 << (index & 63);
  }
  uint64_t live_subpages[MAX_SPAN_SLOTS * SLOT_SIZE / OS_PAGE / 64];
  memset(live_subpages, 0, sizeof live_subpages);
  for (uint32_t index = 0; index < handed; index++) {
    if (free_bits[index >> 6] >> (index & 63) & 1) continue;
    uint32_t first = (uint32_t)(((uint64_t)index * size) >> 12);
    uint32_t last = (uint32_t)(((uint64_t)index * size + size - 1) >> 12);
    for (uint32_t s = first; s <= last; s++) live_subpages[s >> 6] |= (uint64_t)1 << (s & 63);
  }
  /* New sub-pages to give back this time (set bits in fresh[]). */
  uint64_t fresh[MAX_SPAN_SLOTS * SLOT_SIZE / OS_PAGE / 64];
  memset(fresh, 0, sizeof fresh);
  uint32_t count = 0;
  for (uint32_t s = 0; s < whole; s++)
    if (!(live_subpages[s >> 6] >> (s & 63) & 1) && !sub_released(area, page, s)) {
      sub_mark_released(area, page, s);
      fresh[s >> 6] |= (uint64_t)1 << (s & 63);
      count++;
    }
  if (count == 0) return 0;
  page->subpages_released = 1;
  /* Unlink the free blocks that overlap what goes, before it goes. */
  struct block **link = &page->free;
  while (*link) {
    struct block *b = *link;
    uint64_t offset = (uint64_t)((char *)b - start);
    uint32_t first = (uint32_t)(offset >> 12), last = (uint32_t)((offset + size - 1) >> 12);
    bool gone = false;
    for (uint32_t s = first; s <= last && s < whole; s++)
      if (sub_released(area, page, s)) { gone = true; break; }
    if (gone) *link = b->next;
    else link = &b->next;
  }
  size_t bytes = 0;
  for (uint32_t s = 0; s < whole;) {
    if (!(fresh[s >> 6] >> (s & 63) & 1)) { s++; continue; }
    uint32_t end = s;
    while (end < whole && (fresh[end >> 6] >> (end & 63) & 1)) end++;
    crowd_os_release(start + ((size_t)s << 12), (size_t)(end - s) << 12);
    bytes += (size_t)(end - s) << 12;
    s = end;
  }
  return bytes;
}

/* Gives back what lies above the bump mark of a page formed on slots an
 * earlier page left resident: this page never handed out anything there,
 * and has not grown into it within the purge delay.  Without this a page
 * that holds a few blocks keeps the whole resident extent of the page its
 * slots held before for as long as it lives (the heap map's "beyond
 * touched"; gcc: 4 MiB of its 12.6 MiB of pages near the end of a
 * compile).  Returns the bytes given back (some may not have been
 * resident). */
size_t crowd_page_release_untouched(struct page *page) {
  page->inherited_since = 0;
  size_t bytes = crowd_page_untouched_bytes(page);
  if (bytes) crowd_os_release(page->start + ((size_t)page->span << SLOT_SHIFT) - bytes, bytes);
  return bytes;
}

/* Puts the blocks set aside by a sub-page release back on the free list
 * (they were all free; blocks handed out since then lie above the old
 * bump mark, so none of them overlaps a released sub-page). */
void crowd_page_restore_subpages(struct page *page) {
  if (!page->subpages_released) return;
  struct area *area = crowd_page_area(page);
  uint32_t size = page->block_size;
  uint32_t subpages = (uint32_t)page->span * (SLOT_SIZE / OS_PAGE);
  char *start = page->start;
  uint32_t last_sub = 0;
  for (uint32_t s = 0; s < subpages; s++)
    if (sub_released(area, page, s)) last_sub = s + 1;
  uint32_t limit = (uint32_t)(((uint64_t)last_sub << 12) / size + 1);
  uint32_t handed = LOAD(page->handed_out);
  if (limit > handed) limit = handed;
  for (uint32_t index = 0; index < limit; index++) {
    uint64_t offset = (uint64_t)index * size;
    uint32_t first = (uint32_t)(offset >> 12), last = (uint32_t)((offset + size - 1) >> 12);
    bool was_set_aside = false;
    for (uint32_t s = first; s <= last && s < subpages; s++)
      if (sub_released(area, page, s)) { was_set_aside = true; break; }
    if (!was_set_aside) continue;
    struct block *b = (struct block *)(start + offset);
    b->next = page->free;
    b->check = crowd_cookie ^ (uintptr_t)b;
    page->free = b;
  }
  for (uint32_t slot = page->slot; slot < page->slot + page->span; slot++) area->pages[slot].released_sub = 0;
  page->subpages_released = 0;
  page->released_at_used = UINT16_MAX;
}
