/* Compiled by gcc under LD_PRELOAD in the gcc test, then run preloaded:
 * reports whether argv[1] is mapped into it and prints results known in
 * advance (sum of 1..100000, a sorted permutation, string lengths). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compare_ints(const void *a, const void *b)
{
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int mapped(const char *name)
{
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[4096];
  int found = 0;
  while (maps != NULL && !found && fgets(line, sizeof line, maps) != NULL)
    found = strstr(line, name) != NULL;
  if (maps != NULL)
    fclose(maps);
  return found;
}

int main(int argc, char **argv)
{
  enum { N = 100000 };
  printf("mapped %s\n", argc > 1 && mapped(argv[1]) ? "yes" : "no");

  long long sum = 0;
  for (int i = 1; i <= N; i++)
    sum += i;
  printf("sum %lld\n", sum);

  int *values = malloc(N * sizeof *values);
  for (int i = 0; i < N; i++)
    values[i] = (int)(((long long)i * 7919) % N); /* 7919 is prime: a permutation */
  qsort(values, N, sizeof *values, compare_ints);
  int ordered = 1;
  for (int i = 0; i < N; i++)
    ordered &= values[i] == i;
  printf("sorted first %d last %d ordered %s\n", values[0], values[N - 1],
         ordered ? "yes" : "no");
  free(values);

  char **strings = malloc(N * sizeof *strings);
  size_t longest = 0;
  for (int i = 0; i < N; i++) {
    size_t len = 6 + (size_t)(i % 100);
    strings[i] = malloc(len + 1);
    memset(strings[i], 'a' + i % 26, len);
    strings[i][len] = '\0';
    if (strlen(strings[i]) > longest)
      longest = strlen(strings[i]);
  }
  for (int i = 0; i < N; i++)
    free(strings[i]);
  free(strings);
  printf("strings %d longest %zu\n", N, longest);
  return 0;
}
