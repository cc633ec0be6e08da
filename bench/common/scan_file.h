/* Which of several strings occur in a file, without malloc (stack buffer,
 * open/read): used on /proc/self/maps by report.c and, inside measured
 * programs' processes, by preload_check.c. */
#ifndef BENCH_SCAN_FILE_H
#define BENCH_SCAN_FILE_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Sets found[i] for each needles[i] that occurs in the file; needles are
 * matched across read() boundaries by keeping the last bytes of each chunk. */
static inline void scan_file(const char *path, const char *const *needles, int n, int *found) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  enum { OVERLAP = 256, CHUNK = 16384 };
  char buf[OVERLAP + CHUNK + 1];
  size_t kept = 0;
  for (;;) {
    ssize_t got = read(fd, buf + kept, CHUNK);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    size_t len = kept + (size_t)got;
    buf[len] = '\0';
    for (int i = 0; i < n; i++)
      if (!found[i] && strstr(buf, needles[i])) found[i] = 1;
    kept = len < OVERLAP ? len : OVERLAP;
    memmove(buf, buf + len - kept, kept);
  }
  close(fd);
}

#endif
