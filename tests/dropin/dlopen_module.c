/* A module loaded with dlopen by dlopen_main: its constructor fills a
 * table with heap strings, its destructor frees them at dlclose, and it
 * frees blocks the main program allocated (and vice versa). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRIES 1000

static char **table;

__attribute__((constructor)) static void build_table(void)
{
  table = calloc(ENTRIES, sizeof *table);
  for (int i = 0; table != NULL && i < ENTRIES; i++) {
    table[i] = malloc(32 + i % 200);
    if (table[i] != NULL)
      snprintf(table[i], 32, "entry-%d", i);
  }
}

__attribute__((destructor)) static void drop_table(void)
{
  for (int i = 0; table != NULL && i < ENTRIES; i++)
    free(table[i]);
  free(table);
  table = NULL;
}

__attribute__((visibility("default"))) const char *module_entry(int i)
{
  return table != NULL && i >= 0 && i < ENTRIES ? table[i] : NULL;
}

__attribute__((visibility("default"))) void *module_alloc(size_t size)
{
  void *p = malloc(size);
  if (p != NULL)
    memset(p, 0x6D, size);
  return p;
}

__attribute__((visibility("default"))) void module_free(void *p)
{
  free(p);
}
