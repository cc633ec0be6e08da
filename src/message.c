/* Messages without malloc: a small formatter (%s %d %u %zu %llu %x %p) and
 * write(2).  Used for warnings, verbose output and fatal misuse reports. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

static size_t put_unsigned(char *buf, size_t cap, size_t len, unsigned long long v, unsigned base, int min_digits) {
  char digits[32];
  int n = 0;
  do { digits[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
  while (n < min_digits) digits[n++] = '0';
  while (n > 0) { if (len + 1 < cap) buf[len] = digits[n - 1]; len++; n--; }
  return len;
}

size_t crowd_vformat(char *buf, size_t cap, const char *fmt, va_list ap) {
  size_t len = 0;
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') { if (len + 1 < cap) buf[len] = *f; len++; continue; }
    f++;
    int longs = 0, size_t_arg = 0;
    while (*f == 'l') { longs++; f++; }
    if (*f == 'z') { size_t_arg = 1; f++; }
    switch (*f) {
      case 's': {
        const char *s = va_arg(ap, const char *);
        if (!s) s = "(null)";
        while (*s) { if (len + 1 < cap) buf[len] = *s; len++; s++; }
        break;
      }
      case 'd': {
        long long v = longs ? va_arg(ap, long long) : va_arg(ap, int);
        if (v < 0) { if (len + 1 < cap) buf[len] = '-'; len++; v = -v; }
        len = put_unsigned(buf, cap, len, (unsigned long long)v, 10, 1);
        break;
      }
      case 'u': case 'x': {
        unsigned long long v = size_t_arg ? va_arg(ap, size_t) : longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
        len = put_unsigned(buf, cap, len, v, *f == 'x' ? 16 : 10, 1);
        break;
      }
      case 'p': {
        for (const char *prefix = "0x"; *prefix; prefix++) {
          if (len + 1 < cap) buf[len] = *prefix;
          len++;
        }
        len = put_unsigned(buf, cap, len, (uintptr_t)va_arg(ap, void *), 16, 1);
        break;
      }
      case '%':
        if (len + 1 < cap) buf[len] = '%';
        len++;
        break;
      default: break;
    }
  }
  if (cap) buf[len < cap ? len : cap - 1] = 0;
  return len;
}

size_t crowd_format(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t len = crowd_vformat(buf, cap, fmt, ap);
  va_end(ap);
  return len;
}

static void write_all(const char *s, size_t len) {
  int saved = errno;
  while (len) {
    ssize_t n = write(2, s, len);
    if (n <= 0) break;
    s += n; len -= (size_t)n;
  }
  errno = saved;
}

void crowd_message(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  size_t len = crowd_vformat(buf, sizeof buf, fmt, ap);
  va_end(ap);
  write_all(buf, len < sizeof buf ? len : sizeof buf - 1);
}

/* Misuse ends the program: continuing after a double free or a foreign
 * pointer would corrupt the heap silently, which is worse than a crash. */
void crowd_fatal(const char *what, const void *p) {
  crowd_message("crowd: %s: %p (aborting)\n", what, p);
  abort();
}
