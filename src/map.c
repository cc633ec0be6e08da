/* The heap map: every area, every page, its occupancy and which of its
 * 4 KiB sub-pages are resident (mincore), as JSON.  `crowd map` draws it.
 * Written at exit to the file CROWD_MAP names, or on demand with
 * crowd_map_write().  Nothing here allocates: output goes out through a
 * fixed buffer and write(2). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

struct map_out {
  int fd;
  char buf[8192];
  size_t len;
};

static void out_flush(struct map_out *out) {
  size_t done = 0;
  while (done < out->len) {
    ssize_t n = write(out->fd, out->buf + done, out->len - done);
    if (n <= 0) break;
    done += (size_t)n;
  }
  out->len = 0;
}

static void out_put(struct map_out *out, const char *fmt, ...) {
  char line[512];
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  size_t len = crowd_vformat(line, sizeof line, fmt, ap);
  __builtin_va_end(ap);
  if (len >= sizeof line) len = sizeof line - 1;
  if (out->len + len > sizeof out->buf) out_flush(out);
  for (size_t i = 0; i < len; i++) out->buf[out->len++] = line[i];
}

static const char *state_name(unsigned state) {
  switch (state) {
    case PAGE_FREE: return "free";
    case PAGE_CURRENT: return "current";
    case PAGE_QUEUED: return "queued";
    case PAGE_FULL: return "full";
    case PAGE_ABANDONED: return "abandoned";
    case PAGE_LARGE: return "large";
  }
  return "?";
}

struct map_walk {
  struct map_out *out;
  bool first_area;
};

static void map_area(struct area *area, void *arg) {
  struct map_walk *walk = arg;
  struct map_out *out = walk->out;
  unsigned char resident[AREA_SIZE / OS_PAGE];
  bool have_residency = crowd_os_resident(area, AREA_SIZE, resident);
  out_put(out, "%s\n{\"address\":\"%p\",\"slot_size\":%zu,\"slots\":[", walk->first_area ? "" : ",", (void *)area,
          (size_t)SLOT_SIZE);
  walk->first_area = false;
  bool first = true;
  for (unsigned s = 1; s < SLOTS_PER_AREA; s++) {
    struct page *page = &area->pages[s];
    if (area->slot_page[s] != s) continue; /* inside a multi-slot page */
    unsigned state = LOAD(page->state);
    unsigned span = state == PAGE_FREE ? 1 : page->span;
    unsigned resident_count = 0;
    char bits[SLOTS_PER_AREA * (SLOT_SIZE / OS_PAGE) + 1]; /* a large page may span most of the area */
    unsigned subpages = span * (SLOT_SIZE / OS_PAGE);
    for (unsigned i = 0; i < subpages; i++) {
      bool r = have_residency && (resident[s * (SLOT_SIZE / OS_PAGE) + i] & 1);
      bits[i] = r ? '1' : '0';
      resident_count += r;
    }
    bits[subpages] = 0;
    out_put(out, "%s{\"slot\":%u,\"span\":%u,\"state\":\"%s\"", first ? "" : ",", s, span, state_name(state));
    if (state != PAGE_FREE) {
      /* Frees from other threads not yet taken by the owner (a snapshot). */
      unsigned pending = 0;
      pending = (unsigned)(atomic_load_explicit(&page->thread_free, memory_order_acquire) >> REMOTE_COUNT_SHIFT);
      /* touched: bytes below the bump mark, the most the page has handed out. */
      out_put(out, ",\"block_size\":%u,\"used\":%u,\"capacity\":%u,\"touched\":%u,\"remote_pending\":%u",
              page->block_size, crowd_page_used(page), page->capacity, LOAD(page->bump), pending);
      /* Formed on slots an earlier page left resident, this long ago: what is
       * resident beyond touched is that page's, until the release thread
       * gives it back (heap.c). */
      if (page->inherited_since) {
        uint64_t now = crowd_os_now_ms();
        out_put(out, ",\"inherited_ms\":%u", (unsigned)(now - crowd_ms_unstamp(page->inherited_since, now)));
      }
    }
    else
      out_put(out, ",\"released\":%s", page->released ? "true" : "false");
    out_put(out, ",\"resident_subpages\":%u,\"resident\":\"", resident_count);
    /* Bits in chunks: out_put lines are bounded. */
    for (unsigned i = 0; i < subpages; i += 256) {
      char chunk[257];
      unsigned n = subpages - i < 256 ? subpages - i : 256;
      for (unsigned j = 0; j < n; j++) chunk[j] = bits[i + j];
      chunk[n] = 0;
      out_put(out, "%s", chunk);
    }
    out_put(out, "\"}");
    first = false;
  }
  out_put(out, "]}");
}

CROWD_EXPORT int crowd_map_write(int fd) {
  crowd_ensure_init();
  struct map_out out = {.fd = fd, .len = 0};
  struct crowd_stats stats;
  stats.size = sizeof stats;
  crowd_stats_get(&stats);
  out_put(&out, "{\"crowd_map\":1,\"version\":\"%s\",\"pid\":%d,\"area_size\":%zu,\"os_page\":%d,", CROWD_VERSION_STRING,
          (int)getpid(), (size_t)AREA_SIZE, OS_PAGE);
  /* With MADV_FREE, released pages count as resident for mincore until
   * the kernel takes them: readers need to know which mode ran. */
  out_put(&out, "\"purge\":\"%s\",\"live_bytes\":%llu,\"huge_live_bytes\":%llu,\"areas\":[",
          crowd_options.purge_free ? "free" : "dontneed", (unsigned long long)stats.live_bytes,
          (unsigned long long)stats.huge_live_bytes);
  struct map_walk walk = {.out = &out, .first_area = true};
  crowd_area_foreach(map_area, &walk);
  out_put(&out, "\n]}\n");
  out_flush(&out);
  return 0;
}

/* CROWD_MAP=FILE: the map at exit.  A %p in FILE becomes the process id,
 * so that the children of a program (which inherit the variable) do not
 * overwrite each other's maps. */
void crowd_map_at_exit(void) {
  if (!crowd_options.map_path[0]) return;
  int saved = errno;
  char path[sizeof crowd_options.map_path + 16];
  size_t len = 0;
  for (const char *c = crowd_options.map_path; *c && len + 12 < sizeof path; c++) {
    if (c[0] == '%' && c[1] == 'p') {
      len += crowd_format(path + len, sizeof path - len, "%d", (int)getpid());
      c++;
    } else {
      path[len++] = *c;
    }
  }
  path[len] = 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    crowd_map_write(fd);
    close(fd);
  } else {
    crowd_message("crowd: cannot write the heap map to %s\n", path);
  }
  errno = saved;
}
