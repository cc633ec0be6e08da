/* Process start-up, fork and exit.
 *
 * Initialisation is lazy (the first allocation may come from another
 * library's constructor, before ours runs) and must not allocate.  The
 * constructor then registers what may allocate: the fork handlers. */
#include <sched.h>
#include <unistd.h>

#include "internal.h"

_Atomic int crowd_init_state;
uintptr_t crowd_cookie;

void crowd_heap_fork_lock(void);
void crowd_heap_fork_unlock(bool child);
void crowd_heap_fork_lock_lists(void);
void crowd_heap_fork_unlock_lists(void);
void crowd_huge_fork_lock(void);
void crowd_huge_fork_unlock(void);
void crowd_release_fork_lock(void);
void crowd_release_fork_unlock(void);

CROWD_NOINLINE void crowd_init_slow(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&crowd_init_state, &expected, 1)) {
    while (atomic_load_explicit(&crowd_init_state, memory_order_acquire) != 2) sched_yield();
    return;
  }
  crowd_sizeclass_init();
  crowd_os_random(&crowd_cookie, sizeof crowd_cookie);
  crowd_cookie |= 1; /* never 0: a zero word must not look freed */
  crowd_options_load();
  atomic_store_explicit(&crowd_init_state, 2, memory_order_release);
  if (crowd_options.verbose) crowd_options_print();
}

/* Fork: hold every lock across fork so the child inherits consistent
 * lists, then give the child the heaps of threads it no longer has. */
/* Lock order: heap list, each heap, release, abandoned pages, huge, areas
 * (the order in which the slow paths nest them). */
static void fork_prepare(void) {
  crowd_heap_fork_lock();
  crowd_release_fork_lock();
  crowd_heap_fork_lock_lists();
  crowd_huge_fork_lock();
  pthread_mutex_lock(&crowd_area_lock);
}
static void fork_unlock(bool child) {
  pthread_mutex_unlock(&crowd_area_lock);
  crowd_huge_fork_unlock();
  crowd_heap_fork_unlock_lists();
  crowd_release_fork_unlock();
  crowd_heap_fork_unlock(child);
}
static void fork_parent(void) { fork_unlock(false); }
static void fork_child(void) {
  fork_unlock(true);
  crowd_release_after_fork_child();
  crowd_heap_after_fork_child();
}

__attribute__((constructor(101))) static void crowd_constructor(void) {
  crowd_ensure_init();
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((destructor(101))) static void crowd_destructor(void) {
  if (crowd_options.show_stats == 2) crowd_stats_json(2);
  else if (crowd_options.show_stats) crowd_stats_print_at_exit();
  crowd_map_at_exit();
}
