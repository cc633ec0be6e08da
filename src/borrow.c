/* Borrowing a block from the class above.
 *
 * Each (thread, class) keeps its page resident up to the most blocks the
 * class has had live at once, and the classes reach those highs at
 * different moments.  So a class of 1-8 KiB blocks about to grow its page
 * into fresh memory first takes a free block of the class above (at most
 * 12.5% bigger) from that class's current page.  Measured on bench/speed's
 * mstress-t4 (threads come and go, 10% of the blocks 512 B - 8 KiB, about
 * 8 live per class and thread): peak RSS 13.1 -> 12.4 MiB; python's peak
 * did not move.  Smaller classes gain a little more on larson (-2 to -4%)
 * but cost python 1.6%: its long-lived objects keep the bigger blocks.
 *
 * A class that only grows beside a churning neighbour would take the
 * neighbour's free blocks one slow path at a time, and make the neighbour
 * grow instead (bench/workloads/neighbours.c: 43% slower ungated).  So
 * once the lender's page runs dry after lending, the borrower is blocked
 * until it frees a block of its own: its page's floor is raised to its
 * live count, which sends that next free to the slow path once (free's
 * fast path already checks the floor), where the block is lifted.
 *
 * Everything here runs in the owner's slow paths, under its heap lock. */
#include "internal.h"

static bool may_borrow(const struct page *own) {
  return own->block_size >= 1024 && own->block_size < CROWD_THREAD_MAX;
}

/* The page of the class above to take a block from, for a class about to
 * extend own; NULL if it has no free block (the class then extends, and
 * what it borrowed before is behind it). */
struct page *crowd_borrow_lender(struct heap *heap, unsigned size_class, struct page *own) {
  struct heap_class *hc = &heap->classes[size_class];
  if (!may_borrow(own) || hc->borrow_blocked) return NULL;
  struct page *lender = heap->tables.current[size_class + 1];
  hc->borrowed_from = lender->free ? lender : NULL; /* the empty page has no free block */
  return hc->borrowed_from;
}

/* Blocks the class, and raises the page's floor to its live count: the
 * class's next free of a block on it takes the slow path, where
 * crowd_borrow_on_free lifts the block. */
static void block_until_free(struct heap_class *hc, struct page *page) {
  uint32_t used = crowd_page_used(page);
  hc->borrow_blocked = 1;
  hc->blocked_page = page;
  hc->floor_before_block = LOAD(page->floor);
  /* An empty page keeps its floor: no free can come before the class
   * allocates, and one that drains it below the floor lifts the block. */
  if (used > LOAD(page->floor)) crowd_page_set_floor(page, used);
}

/* The class's current page has no free block left (its slow path): if the
 * class below borrowed from it, that class is blocked. */
void crowd_borrow_note_dry(struct heap *heap, unsigned size_class, struct page *page) {
  if (size_class == 0 || page == &crowd_empty_page) return;
  struct heap_class *below = &heap->classes[size_class - 1];
  if (below->borrowed_from != page) return;
  below->borrowed_from = NULL;
  struct page *borrower = heap->tables.current[size_class - 1];
  if (borrower != &crowd_empty_page && !below->borrow_blocked) block_until_free(below, borrower);
}

/* A page becomes the class's current one (its floor just set): a blocked
 * class stays blocked, and waits for a free on this page. */
void crowd_borrow_on_current(struct heap *heap, struct page *page) {
  struct heap_class *hc = &heap->classes[page->size_class];
  if (hc->borrow_blocked) block_until_free(hc, page);
}

/* A free of the class took the slow path: the block is lifted (any free
 * of its own shows the class is not only growing), and the raised floor
 * goes back down if that page is still current.  Returns true if the free
 * needs nothing else. */
bool crowd_borrow_on_free(struct heap *heap, struct page *page) {
  unsigned size_class = page->size_class;
  struct heap_class *hc = &heap->classes[size_class];
  if (!hc->borrow_blocked) return false;
  hc->borrow_blocked = 0;
  struct page *raised = hc->blocked_page;
  hc->blocked_page = NULL;
  /* Queued or retired since, it has a floor of its own already. */
  if (heap->tables.current[size_class] != raised || LOAD(raised->state) != PAGE_CURRENT) return false;
  crowd_page_set_floor(raised, hc->floor_before_block);
  return raised == page && crowd_page_used(page) >= LOAD(page->floor);
}
