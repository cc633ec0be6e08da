/* Allocation before main and after exit: a constructor allocates (crowd may
 * not be initialised yet when it runs), main checks those blocks, and a
 * destructor and an atexit handler, which run after main returned, check,
 * free and allocate again.  Any problem there changes the exit status.
 *
 * usage: ctor_dtor EXPECTED_LIBRARY */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expect_allocator.h"

#define EARLY_SIZE 100
#define EARLY_HUGE (1 << 20)
static const char early_text[] = "allocated in a constructor";

static unsigned char *early_block;
static unsigned char *early_huge;
static char *early_string;

static void fail_after_main(const char *what)
{
  /* stdio may be gone: write(2) directly, and set the exit status. */
  write(STDERR_FILENO, what, strlen(what));
  write(STDERR_FILENO, "\n", 1);
  _exit(3);
}

__attribute__((constructor)) static void allocate_before_main(void)
{
  early_block = malloc(10);
  early_block = realloc(early_block, EARLY_SIZE);
  early_huge = calloc(1, EARLY_HUGE);
  early_string = strdup(early_text);
  if (early_block == NULL || early_huge == NULL || early_string == NULL)
    fail_after_main("constructor: allocation failed");
  memset(early_block, 0xE1, EARLY_SIZE);
  early_huge[EARLY_HUGE - 1] = 0xE2;
}

static int early_blocks_intact(void)
{
  for (int i = 0; i < EARLY_SIZE; i++)
    if (early_block[i] != 0xE1)
      return 0;
  return early_huge[0] == 0 && early_huge[EARLY_HUGE - 1] == 0xE2 &&
         strcmp(early_string, early_text) == 0;
}

static void allocate_and_free_some(void)
{
  for (size_t size = 1; size < (4 << 20); size = size * 3 + 1) {
    char *p = malloc(size);
    if (p == NULL)
      fail_after_main("after main: malloc failed");
    memset(p, 0x42, size);
    free(p);
  }
}

static void at_exit_handler(void)
{
  if (!early_blocks_intact())
    fail_after_main("atexit: constructor blocks were corrupted");
  allocate_and_free_some();
}

__attribute__((destructor)) static void free_after_exit(void)
{
  if (!early_blocks_intact())
    fail_after_main("destructor: constructor blocks were corrupted");
  free(early_block);
  free(early_huge);
  free(early_string);
  allocate_and_free_some();
}

int main(int argc, char **argv)
{
  expect_allocator(argc > 1 ? argv[1] : NULL);
  if (!early_blocks_intact()) {
    fprintf(stderr, "main: constructor blocks were corrupted\n");
    return 1;
  }
  atexit(at_exit_handler);
  /* left live on purpose: exit must cope with live blocks */
  char *kept = malloc(5000);
  memset(kept, 1, 5000);
  printf("ctor_dtor: ok\n");
  return 0;
}
