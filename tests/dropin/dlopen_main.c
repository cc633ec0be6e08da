/* Loads and unloads a module whose constructor allocates, many times, and
 * passes blocks across the boundary in both directions.
 *
 * usage: dlopen_main EXPECTED_LIBRARY MODULE_PATH */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect_allocator.h"

#define LOADS 50

typedef const char *(*entry_fn)(int);
typedef void *(*alloc_fn)(size_t);
typedef void (*free_fn)(void *);

static int use_module_once(const char *path, int round)
{
  void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (module == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  entry_fn entry = (entry_fn)dlsym(module, "module_entry");
  alloc_fn module_alloc = (alloc_fn)dlsym(module, "module_alloc");
  free_fn module_free = (free_fn)dlsym(module, "module_free");
  if (entry == NULL || module_alloc == NULL || module_free == NULL) {
    fprintf(stderr, "dlsym failed\n");
    return 1;
  }
  char want[32];
  for (int i = 0; i < 1000; i += 37) {
    snprintf(want, sizeof want, "entry-%d", i);
    if (entry(i) == NULL || strcmp(entry(i), want) != 0) {
      fprintf(stderr, "round %d: entry %d is %s\n", round, i,
              entry(i) ? entry(i) : "(null)");
      return 1;
    }
  }
  /* allocated in the module, freed here; and the other way round */
  size_t size = 1000 + (size_t)round * 4099;
  unsigned char *from_module = module_alloc(size);
  if (from_module == NULL || from_module[size - 1] != 0x6D)
    return 1;
  free(from_module);
  module_free(malloc(size));
  if (dlclose(module) != 0) {
    fprintf(stderr, "dlclose: %s\n", dlerror());
    return 1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  expect_allocator(argc > 1 ? argv[1] : NULL);
  if (argc < 3) {
    fprintf(stderr, "usage: dlopen_main EXPECTED_LIBRARY MODULE_PATH\n");
    return 2;
  }
  for (int round = 0; round < LOADS; round++)
    if (use_module_once(argv[2], round) != 0)
      return 1;
  printf("dlopen: %d loads ok\n", LOADS);
  return 0;
}
