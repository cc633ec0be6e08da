/* libbench_preload_check.so — proves which allocator a program that is not
 * ours (python3, gcc and its cc1/as, sqlite3) really runs on.
 *
 * bench/speed preloads it after the allocator under test
 * (LD_PRELOAD="liballoc.so libbench_preload_check.so"; for glibc alone).
 * Its constructor runs in every process of the measured program, children
 * included, reads /proc/self/maps and appends one line to $BENCH_CHECK_LOG:
 *
 *     ok <pid> <program> <library>         the expected library is mapped
 *     MISSING <pid> <program> <library>    it is not: exit status 3
 *     STRAY <pid> <program> <what>         glibc run with another allocator mapped
 *
 * The driver reads the log after the run: no line at all means this
 * library was not loaded either, and the run does not count.  Nothing here
 * calls malloc (stack buffers, open/read/write), and nothing is printed on
 * stdout, whose content the driver compares across allocators. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan_file.h"

static const char *const known[] = {"/libjemalloc", "/libtcmalloc", "/libmimalloc", "/libcrowd"};
enum { NKNOWN = sizeof known / sizeof known[0] };

static void log_line(const char *line) {
  const char *path = getenv("BENCH_CHECK_LOG");
  if (!path || !*path) return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t len = (ssize_t)strlen(line);
  while (write(fd, line, (size_t)len) < 0 && errno == EINTR) {
  }
  close(fd);
}

__attribute__((constructor)) static void bench_preload_check(void) {
  const char *expect = getenv("BENCH_EXPECT_LIB");
  char program[64] = "?";
  int cfd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
  if (cfd >= 0) {
    ssize_t got = read(cfd, program, sizeof program - 1);
    close(cfd);
    if (got > 0) program[got - (program[got - 1] == '\n')] = '\0';
  }
  char needle[512] = "";
  if (expect && *expect) snprintf(needle, sizeof needle, "/%s\n", expect);
  const char *needles[NKNOWN + 1];
  int found[NKNOWN + 1] = {0};
  for (int i = 0; i < NKNOWN; i++) needles[i] = known[i];
  needles[NKNOWN] = needle;
  scan_file("/proc/self/maps", needles, needle[0] ? NKNOWN + 1 : NKNOWN, found);

  char line[768];
  if (needle[0]) {
    snprintf(line, sizeof line, "%s %ld %s %s\n", found[NKNOWN] ? "ok" : "MISSING", (long)getpid(),
             program, expect);
    log_line(line);
    if (!found[NKNOWN]) {
      snprintf(line, sizeof line,
               "bench: %s is not mapped into %s (pid %ld): LD_PRELOAD did not take effect\n", expect,
               program, (long)getpid());
      ssize_t ignored = write(2, line, strlen(line));
      (void)ignored;
      _exit(3);
    }
    return;
  }
  for (int i = 0; i < NKNOWN; i++)
    if (found[i]) {
      snprintf(line, sizeof line, "STRAY %ld %s %s\n", (long)getpid(), program, known[i] + 1);
      log_line(line);
      _exit(3);
    }
  snprintf(line, sizeof line, "ok %ld %s glibc\n", (long)getpid(), program);
  log_line(line);
}
