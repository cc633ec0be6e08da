/* Heap misuse must stop the program: each case runs in a forked child that
 * has to die by SIGABRT after printing, on stderr, a message that names
 * crowd and the offending address (as %p prints it).  A control case that
 * uses the heap correctly must exit 0 silently, so the harness itself is
 * checked too. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crowd.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define TABLE_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The child writes the address it is about to misuse here (a shared page,
 * so the parent sees it after the child died). */
struct report {
  char address[64];
};

static void record_address(struct report *r, const void *p)
{
  snprintf(r->address, sizeof r->address, "%p", p);
}

static void double_free_small(struct report *r)
{
  void *p = crowd_malloc(32);
  record_address(r, p);
  crowd_free(p);
  crowd_free(p);
}

static void double_free_medium(struct report *r)
{
  void *p = crowd_malloc(20000);
  record_address(r, p);
  crowd_free(p);
  crowd_free(p);
}

static void double_free_huge(struct report *r)
{
  /* Huge: above the 2 MiB large-block limit, so it has a mapping of its
   * own.  (A large block's slots may be reused at once after a free, so a
   * second free of one is caught only while they are not.) */
  void *p = crowd_malloc(4 << 20);
  record_address(r, p);
  crowd_free(p);
  crowd_free(p);
}

static void free_interior_pointer(struct report *r)
{
  char *p = crowd_malloc(64);
  record_address(r, p + 16);
  crowd_free(p + 16);
}

static void free_stack_address(struct report *r)
{
  char on_stack[64];
  memset(on_stack, 0, sizeof on_stack);
  record_address(r, on_stack);
  crowd_free(on_stack);
}

static void free_foreign_mapping(struct report *r)
{
  void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED)
    _exit(100);
  record_address(r, page);
  crowd_free(page);
}

static void realloc_freed_pointer(struct report *r)
{
  void *p = crowd_malloc(48);
  record_address(r, p);
  crowd_free(p);
  void *q = crowd_realloc(p, 100);
  (void)q;
}

/* A size the block would still hold: realloc must check before it
 * returns the pointer unchanged. */
static void realloc_interior_pointer(struct report *r)
{
  char *p = crowd_malloc(64);
  record_address(r, p + 16);
  void *q = crowd_realloc(p + 16, 40);
  (void)q;
}

/* Down to a small size, which moves the block: the huge header is checked
 * before anything is copied. */
static void realloc_freed_huge_pointer(struct report *r)
{
  void *p = crowd_malloc(4 << 20);
  record_address(r, p);
  crowd_free(p);
  void *q = crowd_realloc(p, 100);
  (void)q;
}

/* Blocks of 3072 bytes live in pages of two 64 KiB slots, 42 to a page.
 * free finds a block's page from its slot without the slot table, which
 * is right only for blocks in a page's first slot; this returns a block of
 * a fresh page that starts in its second slot (the 22nd: 22 x 3072 bytes
 * in), after checking that the page really is laid out that way. */
enum { TWO_SLOT_SIZE = 3072, TWO_SLOT_BLOCKS = 42, FIRST_IN_SECOND_SLOT = 22 };
static char *block_in_second_slot(char **blocks)
{
  /* First three pages of 16-byte blocks, freed: the two that go back to
   * the area wait there, resident, and the two-slot page takes them (its
   * second slot's descriptor still describes 16-byte blocks, which any
   * 16-byte aligned address of the slot would pass for). */
  enum { SMALL_BLOCKS = 3 * 4096 };
  static void *small[SMALL_BLOCKS];
  for (int i = 0; i < SMALL_BLOCKS; i++)
    small[i] = crowd_malloc(16);
  for (int i = 0; i < SMALL_BLOCKS; i++)
    crowd_free(small[i]);
  for (int i = 0; i < TWO_SLOT_BLOCKS; i++)
    blocks[i] = crowd_malloc(TWO_SLOT_SIZE);
  char *p = blocks[FIRST_IN_SECOND_SLOT];
  if (((uintptr_t)blocks[0] & 0xffff) != 0 || p != blocks[0] + FIRST_IN_SECOND_SLOT * TWO_SLOT_SIZE ||
      ((uintptr_t)p & ~(uintptr_t)0xffff) != (uintptr_t)blocks[0] + 0x10000)
    _exit(101); /* not the layout this test is about */
  return p;
}

static void double_free_in_second_slot(struct report *r)
{
  char *blocks[TWO_SLOT_BLOCKS];
  char *p = block_in_second_slot(blocks);
  record_address(r, p);
  crowd_free(p);
  crowd_free(p);
}

static void free_interior_pointer_in_second_slot(struct report *r)
{
  char *blocks[TWO_SLOT_BLOCKS];
  char *p = block_in_second_slot(blocks) + 1024;
  record_address(r, p);
  crowd_free(p);
}

static void correct_use(struct report *r)
{
  char *blocks[TWO_SLOT_BLOCKS];
  block_in_second_slot(blocks);
  for (int i = 0; i < TWO_SLOT_BLOCKS; i++) {
    memset(blocks[i], 4, TWO_SLOT_SIZE);
    crowd_free(blocks[i]);
  }
  /* 100,000 bytes: pages of five slots in a shared heap. */
  void *large_class[8];
  for (int i = 0; i < 8; i++)
    memset(large_class[i] = crowd_malloc(100000), 5, 100000);
  for (int i = 0; i < 8; i++)
    crowd_free(large_class[i]);
  void *p = crowd_malloc(32), *q = crowd_malloc(20000), *h = crowd_malloc(1 << 20);
  memset(p, 1, 32);
  memset(q, 2, 20000);
  memset(h, 3, 1 << 20);
  crowd_free(p);
  crowd_free(q);
  crowd_free(crowd_realloc(h, 2 << 20));
}

struct misuse_case {
  const char *name;
  void (*run)(struct report *);
  int must_abort;
};

static const struct misuse_case cases[] = {
  {"double free of a small block", double_free_small, 1},
  {"double free of a medium block", double_free_medium, 1},
  {"double free of a huge block", double_free_huge, 1},
  {"free of an interior pointer", free_interior_pointer, 1},
  {"free of a stack address", free_stack_address, 1},
  {"free of a mapping crowd never made", free_foreign_mapping, 1},
  {"double free of a block in a page's second slot", double_free_in_second_slot, 1},
  {"free of an interior pointer in a page's second slot", free_interior_pointer_in_second_slot, 1},
  {"realloc of a freed pointer", realloc_freed_pointer, 1},
  {"realloc of an interior pointer", realloc_interior_pointer, 1},
  {"realloc of a freed huge pointer", realloc_freed_huge_pointer, 1},
  {"correct use (control)", correct_use, 0},
};

/* Reads the pipe to its end, keeping what fits. */
static size_t read_all(int fd, char *buf, size_t cap)
{
  size_t len = 0;
  for (;;) {
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    size_t take = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
    memcpy(buf + len, chunk, take);
    len += take;
  }
  buf[len] = '\0';
  return len;
}

static void misuse_is_caught(void **state)
{
  const struct misuse_case *c = *state;
  struct report *report = mmap(NULL, sizeof *report, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(report != MAP_FAILED);
  memset(report, 0, sizeof *report);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core); /* aborts are expected: no core files */
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    alarm(20); /* a hang counts as a failure (SIGALRM), not a stuck test */
    c->run(report);
    _exit(0);
  }
  close(fds[1]);
  static char err[65536];
  read_all(fds[0], err, sizeof err);
  close(fds[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);

  if (!c->must_abort) {
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || err[0] != '\0')
      fail_msg("%s: child status 0x%x, stderr: %s", c->name, status, err);
  } else {
    if (WIFEXITED(status))
      fail_msg("%s was not caught: child exited with %d; stderr: %s", c->name,
               WEXITSTATUS(status), err);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
      fail_msg("%s: child died by signal %d (%s), want SIGABRT; stderr: %s",
               c->name, WTERMSIG(status), strsignal(WTERMSIG(status)), err);
    if (strstr(err, "crowd") == NULL)
      fail_msg("%s: stderr does not mention crowd: \"%s\"", c->name, err);
    if (report->address[0] == '\0' || strstr(err, report->address) == NULL)
      fail_msg("%s: stderr does not show the address %s: \"%s\"", c->name,
               report->address, err);
  }
  munmap(report, sizeof *report);
}

int main(void)
{
  struct CMUnitTest tests[TABLE_LEN(cases)];
  for (size_t i = 0; i < TABLE_LEN(cases); i++)
    tests[i] = (struct CMUnitTest){
      .name = cases[i].name,
      .test_func = misuse_is_caught,
      .initial_state = (void *)&cases[i],
    };
  return _cmocka_run_group_tests("misuse", tests, TABLE_LEN(cases), NULL, NULL);
}
