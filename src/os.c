/* The operating system behind one file: the only place that calls mmap,
 * munmap, mremap and madvise.  Every function keeps errno as it found it,
 * so a program never sees crowd's own system calls in errno. */
#include <errno.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef MADV_FREE
#define MADV_FREE 8
#endif

/* Maps size bytes aligned to alignment by over-mapping and trimming the
 * ends.  Returns NULL (errno untouched) when the kernel says no. */
void *crowd_os_map_aligned(size_t size, size_t alignment, size_t *out_mapped) {
  int saved = errno;
  size_t span = size + alignment;
  if (span < size) return NULL;
  char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) { errno = saved; return NULL; }
  char *aligned = (char *)(((uintptr_t)raw + alignment - 1) & ~(uintptr_t)(alignment - 1));
  size_t head = (size_t)(aligned - raw), tail = span - head - size;
  if (head) munmap(raw, head);
  if (tail) munmap(aligned + size, tail);
  if (out_mapped) *out_mapped = size;
  errno = saved;
  return aligned;
}

void *crowd_os_map(size_t size) {
  int saved = errno;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  errno = saved;
  return p == MAP_FAILED ? NULL : p;
}

void crowd_os_unmap(void *p, size_t size) {
  int saved = errno;
  munmap(p, size);
  errno = saved;
  COUNTER_ADD(released_bytes, size);
}

/* Gives pages back.  MADV_DONTNEED drops them at once (RSS shows it);
 * MADV_FREE lets the kernel take them when it needs memory (they stay in
 * RSS as LazyFree until then) and falls back to DONTNEED on old kernels. */
bool crowd_os_release(void *p, size_t size) {
  int saved = errno;
  int rc = -1;
  if (crowd_options.purge_free) rc = madvise(p, size, MADV_FREE);
  if (rc != 0) rc = madvise(p, size, MADV_DONTNEED);
  errno = saved;
  if (rc == 0) {
    COUNTER_ADD(released_bytes, size);
    COUNTER_ADD(purge_calls, 1);
  }
  return rc == 0;
}

/* Grows or moves a mapping.  With fixed_target the mapping moves there
 * (the target range must be reserved by the caller); otherwise it grows
 * only in place.  Returns NULL when that is not possible. */
void *crowd_os_remap(void *old, size_t old_size, size_t new_size, void *fixed_target) {
  int saved = errno;
  void *p = fixed_target
      ? mremap(old, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, fixed_target)
      : mremap(old, old_size, new_size, 0);
  errno = saved;
  return p == MAP_FAILED ? NULL : p;
}

/* Areas hold small blocks released at 4 KiB granularity: a transparent
 * huge page there would make one live block pin 2 MiB, and khugepaged
 * would refill released ranges.  (A no-op where THP is off.) */
void crowd_os_no_hugepages(void *p, size_t size) {
#ifdef MADV_NOHUGEPAGE
  int saved = errno;
  madvise(p, size, MADV_NOHUGEPAGE);
  errno = saved;
#endif
}

/* Which OS pages of a range are resident (mincore), for the heap map. */
bool crowd_os_resident(void *p, size_t size, unsigned char *vector) {
  int saved = errno;
  int rc = mincore(p, size, vector);
  errno = saved;
  return rc == 0;
}

bool crowd_os_shrink(void *p, size_t old_size, size_t new_size) {
  if (new_size >= old_size) return true;
  crowd_os_unmap((char *)p + new_size, old_size - new_size);
  return true;
}

uint64_t crowd_os_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void crowd_os_random(void *buf, size_t size) {
  int saved = errno;
  long got = syscall(SYS_getrandom, buf, size, GRND_NONBLOCK);
  if (got != (long)size) {
    /* No entropy yet (early boot): mix the clock and addresses. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)buf ^ (uintptr_t)&crowd_os_random;
    unsigned char *out = buf;
    for (size_t i = 0; i < size; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      out[i] = (unsigned char)x;
    }
  }
  errno = saved;
}

/* The processors this process may run on.  A direct system call: libc's
 * sched_getaffinity lives in a corner of its text that a program seldom
 * touches, and the first call there maps 64 KiB of it into the process
 * (the kernel faults in neighbouring pages of a file together). */
unsigned crowd_os_cpu_count(void) {
  int saved = errno;
  unsigned long mask[16] = {0};
  long got = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
  errno = saved;
  if (got <= 0) return 0;
  unsigned count = 0;
  for (long i = 0; i < got / (long)sizeof mask[0]; i++) count += (unsigned)__builtin_popcountl(mask[i]);
  return count;
}
