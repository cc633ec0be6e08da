/* fork() while other threads are inside malloc/free: the child inherits
 * the heap in whatever state those threads left it and must still be able
 * to allocate.  An allocator that does not take its locks around fork
 * deadlocks or corrupts the child; the child's alarm turns a deadlock into
 * a failure instead of a hung test.
 *
 * usage: fork_threads EXPECTED_LIBRARY [forks] */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect_allocator.h"

#define BUSY_THREADS 3
#define CHILD_DEADLINE_SECONDS 20
/* The whole run takes a few seconds; far past that the parent is stuck. */
#define PARENT_DEADLINE_SECONDS 100

static atomic_int stop;
static volatile sig_atomic_t forks_done;

/* Turns a deadlocked parent into a quick failure with a message, instead
 * of a silent wait for ctest's timeout. */
static void parent_stuck(int sig)
{
  char msg[] = "fork_threads: parent stuck (deadlock?) after ????? forks\n";
  char *digits = strstr(msg, "?????");
  int n = forks_done;
  for (int i = 4; i >= 0; i--, n /= 10)
    digits[i] = (char)('0' + n % 10);
  write(STDERR_FILENO, msg, sizeof msg - 1);
  _exit(1);
}

/* Keeps a working set and churns it, including the occasional huge block,
 * so that at any moment some lock or list is likely being updated. */
static void *churn(void *arg)
{
  uint32_t rng = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
  void *held[64] = {0};
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    rng = rng * 1664525u + 1013904223u;
    unsigned slot = (rng >> 8) % 64;
    free(held[slot]);
    size_t size = (rng >> 16) % 100 == 0 ? (size_t)1 << 20 : 1 + (rng >> 20) % 4000;
    held[slot] = malloc(size);
    if (held[slot] != NULL)
      memset(held[slot], (int)slot, size < 64 ? size : 64);
  }
  for (int i = 0; i < 64; i++)
    free(held[i]);
  return NULL;
}

static void *child_thread(void *arg)
{
  char *p = malloc(1000);
  if (p == NULL)
    return (void *)1;
  memset(p, 7, 1000);
  free(p);
  return NULL;
}

/* Runs in the child: allocate every kind of block, write, free, and do it
 * from a new thread too; exit(0) so atexit and library destructors run. */
static void child_work(void)
{
  signal(SIGALRM, SIG_DFL); /* a stuck child dies by SIGALRM */
  alarm(CHILD_DEADLINE_SECONDS);
  static const size_t sizes[] = {1, 24, 100, 4096, 20000, 131072, 200000, 3 << 20};
  void *blocks[sizeof sizes / sizeof sizes[0]];
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    blocks[i] = malloc(sizes[i]);
    if (blocks[i] == NULL)
      _exit(3);
    memset(blocks[i], 0x5C, sizes[i]);
  }
  char *z = calloc(1000, 10);
  if (z == NULL || z[9999] != 0)
    _exit(4);
  z = realloc(z, 500000);
  if (z == NULL)
    _exit(5);
  free(z);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    free(blocks[i]);
  pthread_t t;
  void *thread_result = (void *)1;
  if (pthread_create(&t, NULL, child_thread, NULL) != 0 ||
      pthread_join(t, &thread_result) != 0 || thread_result != NULL)
    _exit(6);
  exit(0);
}

int main(int argc, char **argv)
{
  expect_allocator(argc > 1 ? argv[1] : NULL);
  int forks = argc > 2 ? atoi(argv[2]) : 200;
  signal(SIGALRM, parent_stuck);
  alarm(PARENT_DEADLINE_SECONDS);

  pthread_t busy[BUSY_THREADS];
  for (int i = 0; i < BUSY_THREADS; i++)
    pthread_create(&busy[i], NULL, churn, (void *)(uintptr_t)(i + 1));

  int failures = 0;
  for (int i = 0; i < forks; i++) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      failures++;
      break;
    }
    if (pid == 0)
      child_work();
    int status;
    if (waitpid(pid, &status, 0) != pid) {
      perror("waitpid");
      failures++;
      continue;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      if (WIFSIGNALED(status))
        fprintf(stderr, "fork %d: child killed by signal %d (%s)\n", i,
                WTERMSIG(status), strsignal(WTERMSIG(status)));
      else
        fprintf(stderr, "fork %d: child exited with %d\n", i, WEXITSTATUS(status));
      failures++;
    }
    /* the parent's heap still works too */
    free(malloc((size_t)i * 37 + 1));
    forks_done = i + 1;
  }

  atomic_store(&stop, 1);
  for (int i = 0; i < BUSY_THREADS; i++)
    pthread_join(busy[i], NULL);
  printf("fork_threads: %d forks, %d failed\n", forks, failures);
  return failures == 0 ? 0 : 1;
}
