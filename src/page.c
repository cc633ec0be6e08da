/* A page (miniheap): blocks of one size class in a run of slots.
 *
 * A fresh page hands out blocks from its untouched end ("bump") a few at a
 * time, so a page is faulted in only as far as it is used.  Free blocks are
 * chained through their first word; the second word holds cookie ^ address
 * so that a second free of the same block is caught. */
#include <string.h>

#include "internal.h"

void crowd_page_init(struct page *page, unsigned size_class, bool memory_is_zero) {
  const struct class_info *info = &crowd_classes[size_class];
  page->free = NULL;
  page->used = 0;
  page->floor = 1;
  page->block_size = info->size;
  page->bump = 0;
  page->reciprocal = info->reciprocal;
  page->capacity = info->capacity;
  page->size_class = (uint8_t)size_class;
  page->is_zero = memory_is_zero;
  page->subpages_released = 0;
  page->bucket = 0;
  atomic_store_explicit(&page->thread_free, NULL, memory_order_relaxed);
  page->next = page->prev = NULL;
}

/* Hands out the next never-used block.  Blocks smaller than an OS page are
 * carved out up to the next 4 KiB boundary and chained, so the fast path
 * serves the rest; larger blocks come one at a time, touching nothing the
 * program has not asked for.  Returns NULL when the page is used up. */
void *crowd_page_extend(struct page *page) {
  uint32_t size = page->block_size;
  uint32_t limit = page->capacity * size;
  if (page->bump >= limit) return NULL;
  char *start = crowd_page_start(crowd_page_area(page), page);
  struct block *first = (struct block *)(start + page->bump);
  page->bump += size;
  if (!page->is_zero) first->check = 0;
  if (size < OS_PAGE) {
    uint32_t boundary = (page->bump + OS_PAGE - 1) & ~(uint32_t)(OS_PAGE - 1);
    if (boundary > limit) boundary = limit;
    /* Chain blocks that start before the boundary, in address order. */
    struct block *chain = NULL, **tail = &chain;
    while (page->bump < boundary && page->bump + size <= limit) {
      struct block *b = (struct block *)(start + page->bump);
      b->check = crowd_cookie ^ (uintptr_t)b;
      *tail = b;
      tail = &b->next;
      page->bump += size;
    }
    *tail = page->free;
    page->free = chain;
  }
  page->used++;
  return first;
}

/* Takes the frees other threads left on the page.  Returns how many. */
uint32_t crowd_page_collect(struct page *page) {
  struct block *list = atomic_exchange_explicit(&page->thread_free, NULL, memory_order_acquire);
  if (!list) return 0;
  uint32_t count = 1;
  struct block *tail = list;
  while (tail->next) { tail = tail->next; count++; }
  tail->next = page->free;
  page->free = list;
  page->used -= count;
  return count;
}

unsigned crowd_page_bucket(const struct page *page) {
  unsigned b = (unsigned)((uint64_t)page->used * BUCKET_COUNT / page->capacity);
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
