/* Giving memory back while the program is idle.
 *
 * Frees only mark pages free with a timestamp (area.c); this thread wakes
 * when something became free, sleeps until the oldest free page has waited
 * out the purge delay, releases what is due and sleeps again — with no
 * timeout at all when nothing is waiting, so an idle program with nothing
 * to give back costs no wake-ups.  It is started on the first page free
 * (not at load: many short programs never need it), blocks all signals so
 * the program's signals go to the program's threads, and is started again
 * lazily in a forked child.  CROWD_RELEASE_THREAD=0 turns it off; purging
 * then happens on the allocator's own slow paths and in malloc_trim. */
#include <errno.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

static pthread_mutex_t release_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t release_cond = PTHREAD_COND_INITIALIZER;
static _Atomic int release_state;   /* 0 not started, 1 starting/running, 2 cannot run */
static _Atomic int release_sleeping; /* waiting with no timeout */
static bool release_pending;
_Atomic int release_start_wanted;

/* One pass: everything due now.  Returns when the next item comes due. */
static __thread bool in_release_pass __attribute__((tls_model("initial-exec")));

static uint64_t release_pass(uint64_t now, bool force, size_t *released) {
  uint64_t due_area = 0, due_huge = 0;
  if (released) *released = 0;
  /* Returning pages from inside a pass wakes the releaser again: once is enough. */
  if (in_release_pass) return 0;
  in_release_pass = true;
  uint64_t due_heaps = 0;
  /* Heaps first: a parked heap's pages are abandoned there, and the sweep
   * then returns those that frees from other threads have emptied. */
  size_t bytes = crowd_heaps_claim_idle(now, force, &due_heaps);
  crowd_abandoned_sweep();
  bytes += crowd_area_purge(now, force, &due_area);
  bytes += crowd_huge_purge(now, force, &due_huge);
  if (released) *released = bytes;
  in_release_pass = false;
  if (due_heaps && (!due_area || due_heaps < due_area)) due_area = due_heaps;
  if (!due_area) return due_huge;
  if (!due_huge) return due_area;
  return due_area < due_huge ? due_area : due_huge;
}

static void *release_main(void *arg) {
  pthread_setname_np(pthread_self(), "crowd-release");
  pthread_mutex_lock(&release_lock);
  for (;;) {
    release_pending = false;
    pthread_mutex_unlock(&release_lock);
    COUNTER_ADD(release_wakeups, 1);
    uint64_t next_due = release_pass(crowd_os_now_ms(), false, NULL);
    pthread_mutex_lock(&release_lock);
    if (release_pending) continue;
    if (!next_due) {
      atomic_store(&release_sleeping, 1);
      pthread_cond_wait(&release_cond, &release_lock);
      atomic_store(&release_sleeping, 0);
    } else {
      /* A few ms late is fine: it lets neighbouring pages come due together. */
      uint64_t wake = next_due + 5;
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      uint64_t now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
      uint64_t wait_ms = wake > now ? wake - now : 1;
      /* Something is pending: never sleep past a minute, whatever a due
       * time says (a wrong one must not park this thread for good). */
      if (wait_ms > 60000) wait_ms = 60000;
      ts.tv_sec += (time_t)(wait_ms / 1000);
      ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
      if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
      pthread_cond_timedwait(&release_cond, &release_lock, &ts);
    }
  }
  return NULL;
}

static void release_start(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&release_state, &expected, 1)) return;
  /* Re-initialised, never destroyed: in a forked child the parent's
   * thread may have been waiting on it, and destroy would wait for it. */
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&release_cond, &attr);
  pthread_condattr_destroy(&attr);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t thread_attr;
  pthread_attr_init(&thread_attr);
  pthread_attr_setdetachstate(&thread_attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&thread_attr, 64 * 1024);
  pthread_t thread;
  if (pthread_create(&thread, &thread_attr, release_main, NULL) != 0) atomic_store(&release_state, 2);
  pthread_attr_destroy(&thread_attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void crowd_release_poll_slow(void) {
  atomic_store_explicit(&release_start_wanted, 0, memory_order_relaxed);
  release_start();
}

/* Something became free.  Cheap when the thread is awake already. */
void crowd_release_wake(void) {
  if (crowd_options.purge_delay_ms < 0) return;
  if (crowd_options.purge_delay_ms == 0 || !crowd_options.release_thread) {
    /* No thread: release what is due right here (free path, no lock held). */
    release_pass(crowd_os_now_ms(), false, NULL);
    return;
  }
  int state = atomic_load_explicit(&release_state, memory_order_relaxed);
  /* pthread_create allocates: callers may hold locks, so only note it
   * here; crowd_release_poll starts the thread once they are released. */
  if (state == 0) { atomic_store_explicit(&release_start_wanted, 1, memory_order_relaxed); return; }
  if (state == 2) { release_pass(crowd_os_now_ms(), false, NULL); return; }
  if (atomic_load_explicit(&release_sleeping, memory_order_relaxed)) {
    pthread_mutex_lock(&release_lock);
    release_pending = true;
    pthread_cond_signal(&release_cond);
    pthread_mutex_unlock(&release_lock);
  }
}

size_t crowd_release_now(bool force) {
  size_t purged = 0;
  release_pass(crowd_os_now_ms(), force, &purged);
  return purged;
}

/* membarrier(2) with MEMBARRIER_CMD_PRIVATE_EXPEDITED: a full memory
 * barrier on every running thread of this process (IPIs, no signals). */
bool crowd_membarrier(void) {
  static _Atomic int state; /* 0 unknown, 1 registered, -1 unavailable */
  int saved = errno;
  int s = atomic_load_explicit(&state, memory_order_acquire);
  if (s == 0) {
    s = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 ? 1 : -1;
    atomic_store_explicit(&state, s, memory_order_release);
  }
  bool ok = s > 0 && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
  errno = saved;
  return ok;
}

void crowd_release_fork_lock(void) { pthread_mutex_lock(&release_lock); }
void crowd_release_fork_unlock(void) { pthread_mutex_unlock(&release_lock); }

void crowd_release_after_fork_child(void) {
  atomic_store(&release_state, 0);
  atomic_store(&release_sleeping, 0);
  release_pending = false;
}
