#include "report.h"
#include "scan_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double start_time;

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


void bench_check_allocator(void) {
  /* The allocators the benchmarks know; glibc's malloc lives in libc itself
   * and so is the one in use when none of these is mapped. */
  static const char *const known[] = {"/libjemalloc", "/libtcmalloc",
                                      "/libmimalloc", "/libcrowd"};
  enum { NKNOWN = sizeof known / sizeof known[0] };
  const char *expect = getenv("BENCH_EXPECT_LIB");
  char expect_needle[512] = "";
  if (expect && *expect)
    snprintf(expect_needle, sizeof expect_needle, "/%s\n", expect);

  const char *needles[NKNOWN + 1];
  int found[NKNOWN + 1] = {0};
  for (int i = 0; i < NKNOWN; i++) needles[i] = known[i];
  needles[NKNOWN] = expect_needle;
  scan_file("/proc/self/maps", needles, expect_needle[0] ? NKNOWN + 1 : NKNOWN,
            found);

  printf("RESULT mapped_allocators=");
  int any = 0;
  for (int i = 0; i < NKNOWN; i++)
    if (found[i]) printf("%s%s", any++ ? "," : "", known[i] + 1);
  printf("%s\n", any ? "" : "none");
  if (expect_needle[0] && !found[NKNOWN]) {
    fprintf(stderr,
            "bench: %s is not mapped into this process: LD_PRELOAD did not "
            "take effect, refusing to measure the wrong allocator\n",
            expect);
    exit(3);
  }
}

void bench_start(const char *workload) {
  start_time = bench_now();
  /* This first printf allocates stdout's buffer, before any measurement. */
  printf("MARK start t=0 pid=%ld workload=%s\n", (long)getpid(), workload);
  bench_check_allocator();
  fflush(stdout);
}

void bench_mark(const char *name, uint64_t live_bytes) {
  printf("MARK %s t=%.3f live_bytes=%" PRIu64 "\n", name,
         bench_now() - start_time, live_bytes);
  fflush(stdout);
}

/* Value in kB of "Key:" in smaps_rollup's text, or -1. */
static long rollup_field(const char *text, const char *key) {
  const char *p = strstr(text, key);
  if (!p) return -1;
  return strtol(p + strlen(key), NULL, 10);
}

void bench_report_memory(const char *prefix) {
  char text[4096];
  int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
  ssize_t len = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
  if (fd >= 0) close(fd);
  if (len < 0) len = 0;
  text[len] = '\0';
  printf("RESULT %s_rss_kb=%ld\n", prefix, rollup_field(text, "\nRss:"));
  printf("RESULT %s_lazyfree_kb=%ld\n", prefix,
         rollup_field(text, "\nLazyFree:"));
  printf("RESULT %s_anonhuge_kb=%ld\n", prefix,
         rollup_field(text, "\nAnonHugePages:"));
  fflush(stdout);
}

void bench_result_u64(const char *key, uint64_t value) {
  printf("RESULT %s=%" PRIu64 "\n", key, value);
  fflush(stdout);
}

void bench_result_f64(const char *key, double value) {
  printf("RESULT %s=%.6f\n", key, value);
  fflush(stdout);
}

void bench_idle(double seconds) {
  struct timespec left = {(time_t)seconds,
                          (long)((seconds - (double)(time_t)seconds) * 1e9)};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

void bench_idle_and_poke(double idle_s, uint64_t live_bytes) {
  if (idle_s <= 0) return;
  bench_mark("released", live_bytes);
  bench_idle(idle_s);
  /* volatile: the compiler must not drop the pair. */
  void *volatile poke = malloc(64);
  free(poke);
  bench_mark("poked", live_bytes);
  bench_idle(1.0);
}
