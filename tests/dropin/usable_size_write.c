/* Programs that ask malloc_usable_size and then use every byte of it (as
 * glibc allows): neighbours must not be touched, and realloc must carry
 * the whole used area along.
 *
 * usage: usable_size_write EXPECTED_LIBRARY */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect_allocator.h"

#define NEIGHBOURS 3

static unsigned char byte_for(size_t size, int k, size_t i)
{
  return (unsigned char)(size * 7 + (size_t)k * 61 + i * 13 + (i >> 8));
}

static int fill_check(unsigned char *p, size_t n, size_t size, int k, int write)
{
  for (size_t i = 0; i < n; i++) {
    if (write)
      p[i] = byte_for(size, k, i);
    else if (p[i] != byte_for(size, k, i)) {
      fprintf(stderr, "size %zu block %d: byte %zu of %zu changed\n", size, k, i, n);
      return 1;
    }
  }
  return 0;
}

static size_t next_size(size_t size)
{
  return size < 512 ? size + 1 : size < 70000 ? size + size / 16 + 1 : size * 2;
}

int main(int argc, char **argv)
{
  expect_allocator(argc > 1 ? argv[1] : NULL);
  int errors = 0;
  for (size_t size = 1; size < (8 << 20); size = next_size(size)) {
    unsigned char *blocks[NEIGHBOURS];
    size_t usable[NEIGHBOURS];
    for (int k = 0; k < NEIGHBOURS; k++) {
      blocks[k] = malloc(size);
      usable[k] = malloc_usable_size(blocks[k]);
      if (blocks[k] == NULL || usable[k] < size) {
        fprintf(stderr, "malloc(%zu): usable size %zu\n", size, usable[k]);
        return 1;
      }
      fill_check(blocks[k], usable[k], size, k, 1);
    }
    for (int k = 0; k < NEIGHBOURS; k++)
      errors += fill_check(blocks[k], usable[k], size, k, 0);
    /* grow the first block: its whole used area must come along */
    unsigned char *grown = realloc(blocks[0], usable[0] * 2 + 100);
    if (grown == NULL)
      return 1;
    errors += fill_check(grown, usable[0], size, 0, 0);
    free(grown);
    for (int k = 1; k < NEIGHBOURS; k++)
      free(blocks[k]);
    if (errors)
      return 1;
  }
  printf("usable_size_write: ok\n");
  return 0;
}
