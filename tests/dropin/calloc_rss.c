/* A large calloc must not touch its pages: fresh memory from the kernel is
 * already zero, so RSS may hardly grow.  Then a dirty block of the same size
 * is freed and calloc'ed again: whatever crowd reuses must read as zero.
 *
 * usage: calloc_rss EXPECTED_LIBRARY */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expect_allocator.h"

#define BIG ((size_t)256 << 20)
#define MAX_RSS_GROWTH ((size_t)16 << 20)

/* Resident set size in bytes, from smaps_rollup or, on older kernels,
 * status. */
static size_t rss_bytes(void)
{
  const char *sources[][2] = {{"/proc/self/smaps_rollup", "Rss:"},
                              {"/proc/self/status", "VmRSS:"}};
  for (int s = 0; s < 2; s++) {
    FILE *f = fopen(sources[s][0], "r");
    if (f == NULL)
      continue;
    char line[256];
    size_t kib = 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL)
      if (strncmp(line, sources[s][1], strlen(sources[s][1])) == 0)
        found = sscanf(line + strlen(sources[s][1]), "%zu", &kib) == 1;
    fclose(f);
    if (found)
      return kib * 1024;
  }
  fprintf(stderr, "cannot read RSS\n");
  exit(2);
}

/* Reads one byte per page (reading maps the shared zero page, it does not
 * add to RSS) and the whole first and last page. */
static size_t first_nonzero(const unsigned char *p, size_t size, size_t page)
{
  for (size_t i = 0; i < page; i++)
    if (p[i] != 0 || p[size - page + i] != 0)
      return p[i] != 0 ? i : size - page + i;
  for (size_t i = 0; i < size; i += page)
    if (p[i] != 0)
      return i;
  return size;
}

int main(int argc, char **argv)
{
  expect_allocator(argc > 1 ? argv[1] : NULL);
  size_t page = (size_t)sysconf(_SC_PAGESIZE);

  size_t before = rss_bytes();
  unsigned char *fresh = calloc(1, BIG);
  size_t after = rss_bytes();
  if (fresh == NULL) {
    fprintf(stderr, "calloc(256 MiB) failed\n");
    return 1;
  }
  size_t growth = after > before ? after - before : 0;
  printf("calloc(256 MiB): RSS %zu KiB -> %zu KiB\n", before / 1024, after / 1024);
  if (growth >= MAX_RSS_GROWTH) {
    fprintf(stderr, "calloc(256 MiB) grew RSS by %zu KiB (limit %zu KiB)\n",
            growth / 1024, MAX_RSS_GROWTH / 1024);
    return 1;
  }
  size_t bad = first_nonzero(fresh, BIG, page);
  if (bad != BIG) {
    fprintf(stderr, "fresh calloc: byte %zu is 0x%02x\n", bad, fresh[bad]);
    return 1;
  }
  free(fresh);

  unsigned char *dirty = malloc(BIG);
  if (dirty == NULL)
    return 1;
  memset(dirty, 0xD1, BIG);
  free(dirty);
  unsigned char *recycled = calloc(BIG / 16, 16);
  if (recycled == NULL)
    return 1;
  bad = first_nonzero(recycled, BIG, page);
  if (bad != BIG) {
    fprintf(stderr, "calloc after a dirty free: byte %zu is 0x%02x\n", bad, recycled[bad]);
    return 1;
  }
  free(recycled);
  printf("calloc_rss: ok\n");
  return 0;
}
