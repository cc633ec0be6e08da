/* Proves that the program really runs on the allocator under test: the
 * global `malloc` symbol must resolve into a shared object whose file name
 * contains the expected library name (e.g. "libcrowd").  Without this a
 * test that links or preloads crowd could silently exercise glibc. */
#ifndef CROWD_EXPECT_ALLOCATOR_H
#define CROWD_EXPECT_ALLOCATOR_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *malloc_provider(void)
{
  Dl_info info;
  void *sym = dlsym(RTLD_DEFAULT, "malloc");
  if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL)
    return "(unknown)";
  return info.dli_fname;
}

/* Exits with status 2 and a message unless malloc comes from `library`. */
static inline void expect_allocator(const char *library)
{
  const char *provider = malloc_provider();
  if (library == NULL || library[0] == '\0') {
    fprintf(stderr, "expect_allocator: no library name given\n");
    exit(2);
  }
  if (strstr(provider, library) == NULL) {
    fprintf(stderr, "malloc comes from %s, not from %s\n", provider, library);
    exit(2);
  }
}

#endif
