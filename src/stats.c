/* Statistics: counters kept off the fast path (relaxed atomics on slow
 * paths) plus figures computed on demand by walking the areas, so that
 * malloc and free pay nothing for them.  Also glibc's reporting calls. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct crowd_counters crowd_counters;

struct walk {
  uint64_t live_bytes, live_blocks, page_bytes_touched;
  /* pages by occupancy: eighths of capacity, then full; large pages apart */
  uint32_t (*occupancy)[BUCKET_COUNT + 1];
  uint32_t large_pages;
};

static void walk_area(struct area *area, void *arg) {
  struct walk *w = arg;
  for (unsigned s = 1; s < SLOTS_PER_AREA; s++) {
    struct page *page = &area->pages[s];
    if (LOAD(page->state) == PAGE_FREE || area->slot_page[s] != s) continue;
    /* Racy reads of other threads' counters: a snapshot, not a ledger. */
    uint32_t used = crowd_page_used(page);
    if (w->occupancy) {
      if (page->size_class == LARGE_CLASS) w->large_pages++;
      else if (used >= page->capacity) w->occupancy[page->size_class][BUCKET_COUNT]++;
      else w->occupancy[page->size_class][(uint64_t)used * BUCKET_COUNT / page->capacity]++;
    }
    w->live_blocks += used;
    w->live_bytes += (uint64_t)used * page->block_size;
    w->page_bytes_touched += ((uint64_t)page->bump + OS_PAGE - 1) & ~(uint64_t)(OS_PAGE - 1);
  }
}

CROWD_EXPORT int crowd_stats_get(struct crowd_stats *out) {
  if (!out || out->size < 8) return -1;
  crowd_ensure_init();
  struct crowd_stats s;
  memset(&s, 0, sizeof s);
  s.size = out->size;
  s.version = CROWD_STATS_VERSION;
  struct walk w = {0};
  crowd_area_foreach(walk_area, &w);
  s.live_blocks = w.live_blocks + COUNTER_GET(huge_live_count);
  s.huge_live_bytes = COUNTER_GET(huge_live_bytes);
  s.live_bytes = w.live_bytes + s.huge_live_bytes;
  s.mapped_bytes = COUNTER_GET(mapped_bytes);
  s.huge_cached_bytes = COUNTER_GET(huge_cached_bytes);
  s.pages_in_use = COUNTER_GET(pages_in_use);
  s.pages_free_resident = COUNTER_GET(pages_free_resident);
  s.pages_free_released = COUNTER_GET(pages_free_released);
  s.resident_bytes = w.page_bytes_touched + s.pages_free_resident * SLOT_SIZE + s.huge_live_bytes +
                     s.huge_cached_bytes + COUNTER_GET(areas_live) * OS_PAGE * 2;
  s.released_bytes = COUNTER_GET(released_bytes);
  s.purge_calls = COUNTER_GET(purge_calls);
  s.areas_mapped = COUNTER_GET(areas_mapped);
  s.areas_unmapped = COUNTER_GET(areas_unmapped);
  s.areas_live = COUNTER_GET(areas_live);
  s.heaps_live = COUNTER_GET(heaps_live);
  s.heaps_abandoned = COUNTER_GET(heaps_abandoned);
  s.release_thread_wakeups = COUNTER_GET(release_wakeups);
  size_t copy = out->size < sizeof s ? out->size : sizeof s;
  memcpy(out, &s, copy);
  return 0;
}

static struct crowd_stats snapshot(void) {
  struct crowd_stats s;
  s.size = sizeof s;
  crowd_stats_get(&s);
  return s;
}

static void print_stats(void) {
  struct crowd_stats s = snapshot();
  crowd_message(
      "crowd %s statistics\n"
      "  live:      %llu bytes in %llu blocks (huge: %llu bytes)\n"
      "  resident:  %llu bytes (crowd's view)   mapped: %llu bytes\n"
      "  pages:     %llu in use, %llu free resident, %llu free released\n"
      "  released:  %llu bytes in %llu purge calls\n"
      "  areas:     %llu live, %llu mapped, %llu unmapped\n"
      "  heaps:     %llu live, %llu abandoned; release thread wake-ups: %llu\n",
      CROWD_VERSION_STRING, (unsigned long long)s.live_bytes, (unsigned long long)s.live_blocks,
      (unsigned long long)s.huge_live_bytes, (unsigned long long)s.resident_bytes,
      (unsigned long long)s.mapped_bytes, (unsigned long long)s.pages_in_use,
      (unsigned long long)s.pages_free_resident, (unsigned long long)s.pages_free_released,
      (unsigned long long)s.released_bytes, (unsigned long long)s.purge_calls,
      (unsigned long long)s.areas_live, (unsigned long long)s.areas_mapped,
      (unsigned long long)s.areas_unmapped, (unsigned long long)s.heaps_live,
      (unsigned long long)s.heaps_abandoned, (unsigned long long)s.release_thread_wakeups);
}

void crowd_stats_print_at_exit(void) { print_stats(); }

static void write_all(int fd, const char *buf, size_t len) {
  while (len) {
    ssize_t n = write(fd, buf, len);
    if (n <= 0) return;
    buf += n;
    len -= (size_t)n;
  }
}

CROWD_EXPORT int crowd_stats_json(int fd) {
  int saved = errno;
  struct crowd_stats s = snapshot();
  static uint32_t occupancy[CLASS_COUNT][BUCKET_COUNT + 1];
  static pthread_mutex_t json_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the static table */
  pthread_mutex_lock(&json_lock);
  memset(occupancy, 0, sizeof occupancy);
  struct walk w = {.occupancy = occupancy};
  crowd_area_foreach(walk_area, &w);
  char buf[2048];
  size_t len = crowd_format(
      buf, sizeof buf,
      "{\"crowd_stats\":%u,\"version\":\"%s\",\"live_bytes\":%llu,\"live_blocks\":%llu,"
      "\"mapped_bytes\":%llu,\"resident_bytes\":%llu,\"huge_live_bytes\":%llu,\"huge_cached_bytes\":%llu,"
      "\"released_bytes\":%llu,\"purge_calls\":%llu,\"areas_mapped\":%llu,\"areas_unmapped\":%llu,"
      "\"areas_live\":%llu,\"pages_in_use\":%llu,\"pages_free_resident\":%llu,\"pages_free_released\":%llu,"
      "\"heaps_live\":%llu,\"heaps_abandoned\":%llu,\"release_thread_wakeups\":%llu,\"large_pages\":%u,"
      "\"classes\":[",
      CROWD_STATS_VERSION, CROWD_VERSION_STRING, (unsigned long long)s.live_bytes, (unsigned long long)s.live_blocks,
      (unsigned long long)s.mapped_bytes, (unsigned long long)s.resident_bytes, (unsigned long long)s.huge_live_bytes,
      (unsigned long long)s.huge_cached_bytes, (unsigned long long)s.released_bytes,
      (unsigned long long)s.purge_calls, (unsigned long long)s.areas_mapped, (unsigned long long)s.areas_unmapped,
      (unsigned long long)s.areas_live, (unsigned long long)s.pages_in_use, (unsigned long long)s.pages_free_resident,
      (unsigned long long)s.pages_free_released, (unsigned long long)s.heaps_live,
      (unsigned long long)s.heaps_abandoned, (unsigned long long)s.release_thread_wakeups, w.large_pages);
  write_all(fd, buf, len < sizeof buf ? len : sizeof buf - 1);
  bool first = true;
  for (unsigned c = 0; c < CLASS_COUNT; c++) {
    uint32_t *o = occupancy[c];
    uint32_t total = 0;
    for (unsigned b = 0; b <= BUCKET_COUNT; b++) total += o[b];
    if (!total) continue;
    len = crowd_format(buf, sizeof buf, "%s{\"block_size\":%u,\"pages_by_eighth\":[%u,%u,%u,%u,%u,%u,%u,%u],\"pages_full\":%u}",
                       first ? "" : ",", crowd_classes[c].size, o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8]);
    write_all(fd, buf, len < sizeof buf ? len : sizeof buf - 1);
    first = false;
  }
  write_all(fd, "]}\n", 3);
  pthread_mutex_unlock(&json_lock);
  errno = saved;
  return 0;
}

#if CROWD_GLIBC_NAMES
CROWD_EXPORT void malloc_stats(void) { print_stats(); }

CROWD_EXPORT struct mallinfo2 mallinfo2(void) {
  struct crowd_stats s = snapshot();
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof mi);
  mi.arena = s.mapped_bytes - s.huge_live_bytes - s.huge_cached_bytes;
  mi.ordblks = s.pages_in_use;
  mi.hblks = COUNTER_GET(huge_live_count);
  mi.hblkhd = s.huge_live_bytes;
  mi.uordblks = s.live_bytes - s.huge_live_bytes;
  mi.fordblks = s.resident_bytes > s.live_bytes ? s.resident_bytes - s.live_bytes : 0;
  mi.keepcost = s.pages_free_resident * SLOT_SIZE;
  return mi;
}

CROWD_EXPORT struct mallinfo mallinfo(void) {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo mi;
  mi.arena = (int)m2.arena; mi.ordblks = (int)m2.ordblks; mi.smblks = 0; mi.hblks = (int)m2.hblks;
  mi.hblkhd = (int)m2.hblkhd; mi.usmblks = 0; mi.fsmblks = 0; mi.uordblks = (int)m2.uordblks;
  mi.fordblks = (int)m2.fordblks; mi.keepcost = (int)m2.keepcost;
  return mi;
}

/* glibc's XML shape: <malloc version="1"><heap nr="0">...</heap><total .../></malloc> */
CROWD_EXPORT int malloc_info(int options, FILE *stream) {
  if (options != 0) { errno = EINVAL; return -1; }
  struct crowd_stats s = snapshot();
  char buf[1024];
  crowd_format(buf, sizeof buf,
               "<malloc version=\"1\">\n"
               "<heap nr=\"0\">\n"
               "<sizes>\n</sizes>\n"
               "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
               "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n"
               "<system type=\"current\" size=\"%llu\"/>\n"
               "<system type=\"max\" size=\"%llu\"/>\n"
               "<aspace type=\"total\" size=\"%llu\"/>\n"
               "<aspace type=\"mprotect\" size=\"%llu\"/>\n"
               "</heap>\n"
               "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
               "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n"
               "<total type=\"mmap\" count=\"%llu\" size=\"%llu\"/>\n"
               "<system type=\"current\" size=\"%llu\"/>\n"
               "<system type=\"max\" size=\"%llu\"/>\n"
               "<aspace type=\"total\" size=\"%llu\"/>\n"
               "<aspace type=\"mprotect\" size=\"%llu\"/>\n"
               "</malloc>\n",
               (unsigned long long)s.pages_free_resident, (unsigned long long)(s.pages_free_resident * SLOT_SIZE),
               (unsigned long long)s.resident_bytes, (unsigned long long)s.mapped_bytes,
               (unsigned long long)s.mapped_bytes, (unsigned long long)s.mapped_bytes,
               (unsigned long long)s.pages_free_resident, (unsigned long long)(s.pages_free_resident * SLOT_SIZE),
               (unsigned long long)COUNTER_GET(huge_live_count), (unsigned long long)s.huge_live_bytes,
               (unsigned long long)s.resident_bytes, (unsigned long long)s.mapped_bytes,
               (unsigned long long)s.mapped_bytes, (unsigned long long)s.mapped_bytes);
  fputs(buf, stream);
  return 0;
}
#endif
