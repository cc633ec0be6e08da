/* server — a threaded server: short-lived worker threads over a pool of
 * long-lived connections.
 *
 * Worker threads come and go (at most W at a time); each handles a few
 * requests and exits, as in a thread-per-request or an elastic pool.  A
 * request locks one connection, allocates its working set (request buffer,
 * parsed headers, a tree of nodes, a response of 1 KiB-256 KiB, now and
 * then a few MiB), updates the connection's state (items replaced,
 * session buffer resized; the state was allocated by other threads, so
 * this frees across threads), then frees the working set and unlocks.
 * Connections are closed and reopened now and then.  At the end 90% of
 * the connections close; the rest stay open as the known live set.
 *
 *   server [--requests N] [--threads W] [--idle SECONDS] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "rng.h"

enum { CONNS = 2048, MAX_ITEMS = 48, MAX_WORKERS = 64 };

typedef struct {
  char *p;
  size_t size;
} item_t;

/* Per-connection state; malloc'd when the connection opens. */
typedef struct {
  item_t items[MAX_ITEMS];
  int n_items;
  item_t session;
} conn_t;

static struct {
  pthread_mutex_t lock;
  conn_t *conn;
} slots[CONNS];

static atomic_long requests_left;

static void out_of_memory(const char *what, size_t size) {
  fprintf(stderr, "server: %s(%zu) returned NULL\n", what, size);
  exit(2);
}

static void *xmalloc(size_t size) {
  void *p = malloc(size);
  if (!p) out_of_memory("malloc", size);
  memset(p, (int)(size & 0xff), size); /* a server fills what it allocates */
  return p;
}

static item_t new_item(rng_t *r, size_t lo, size_t hi) {
  item_t it = {NULL, rng_log_uniform(r, lo, hi)};
  it.p = xmalloc(it.size);
  return it;
}

/* Mostly small values (cookies, header copies), a fifth up to 32 KiB. */
static item_t state_item(rng_t *r) {
  return rng_chance(r, 0.8) ? new_item(r, 16, 512) : new_item(r, 512, 32 << 10);
}

static conn_t *open_conn(rng_t *r) {
  conn_t *c = xmalloc(sizeof *c);
  c->n_items = (int)rng_range(r, 8, MAX_ITEMS);
  for (int i = 0; i < c->n_items; i++) c->items[i] = state_item(r);
  c->session = new_item(r, 1 << 10, 16 << 10);
  return c;
}

static void close_conn(conn_t *c) {
  for (int i = 0; i < c->n_items; i++) free(c->items[i].p);
  free(c->session.p);
  free(c);
}

static size_t conn_bytes(const conn_t *c) {
  size_t n = sizeof *c + c->session.size;
  for (int i = 0; i < c->n_items; i++) n += c->items[i].size;
  return n;
}

static void handle_request(rng_t *r) {
  int k = (int)(rng_next(r) % CONNS);
  pthread_mutex_lock(&slots[k].lock);
  if (!slots[k].conn) slots[k].conn = open_conn(r);
  conn_t *c = slots[k].conn;

  item_t request = new_item(r, 512, 64 << 10);
  item_t headers[64];
  int n_headers = (int)rng_range(r, 10, 60);
  for (int i = 0; i < n_headers; i++) headers[i] = new_item(r, 16, 256);
  item_t nodes[400];
  int n_nodes = (int)rng_range(r, 20, 400);
  for (int i = 0; i < n_nodes; i++) nodes[i] = new_item(r, 32, 128);
  item_t response = rng_chance(r, 0.02) ? new_item(r, 1 << 20, 4 << 20)
                                        : new_item(r, 1 << 10, 256 << 10);

  for (int n = (int)rng_range(r, 1, 4); n > 0; n--) {
    int i = (int)(rng_next(r) % (uint64_t)c->n_items);
    free(c->items[i].p);
    c->items[i] = state_item(r);
  }
  if (c->n_items < MAX_ITEMS && rng_chance(r, 0.3)) c->items[c->n_items++] = state_item(r);
  if (rng_chance(r, 0.3)) {
    size_t size = rng_log_uniform(r, 1 << 10, 16 << 10);
    c->session.p = realloc(c->session.p, size);
    if (!c->session.p) out_of_memory("realloc", size);
    c->session.size = size;
  }

  /* The tree is torn down in no particular order. */
  for (int i = n_nodes - 1; i > 0; i--) {
    int j = (int)(rng_next(r) % (uint64_t)(i + 1));
    item_t t = nodes[i]; nodes[i] = nodes[j]; nodes[j] = t;
  }
  for (int i = 0; i < n_nodes; i++) free(nodes[i].p);
  for (int i = 0; i < n_headers; i++) free(headers[i].p);
  free(request.p);
  free(response.p);

  if (rng_chance(r, 0.03)) {
    close_conn(c);
    slots[k].conn = NULL;
  }
  pthread_mutex_unlock(&slots[k].lock);
}

static void *worker(void *arg) {
  rng_t r = rng_seeded(0xbeef0000u + (uint64_t)(uintptr_t)arg);
  void *scratch = xmalloc(64 << 10); /* per-thread buffer, gone at exit */
  for (long n = (long)rng_range(&r, 1, 32); n > 0; n--) {
    if (atomic_fetch_sub(&requests_left, 1) <= 0) break;
    handle_request(&r);
  }
  free(scratch);
  return NULL;
}

int main(int argc, char **argv) {
  long requests = 60000;
  int n_workers = 4;
  double idle_s = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--requests")) requests = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--threads")) n_workers = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--idle")) idle_s = atof(argv[i + 1]);
    else { fprintf(stderr, "usage: server [--requests N] [--threads W] [--idle S]\n"); return 1; }
  }
  if (n_workers < 1 || n_workers > MAX_WORKERS) n_workers = 4;
  bench_start("server");
  for (int k = 0; k < CONNS; k++) pthread_mutex_init(&slots[k].lock, NULL);
  atomic_store(&requests_left, requests);

  /* A ring of worker threads: wait for the oldest, start a new one. */
  double t0 = bench_now();
  pthread_t ring[MAX_WORKERS];
  long started = 0;
  for (; started < n_workers; started++)
    pthread_create(&ring[started], NULL, worker, (void *)(uintptr_t)started);
  while (atomic_load(&requests_left) > 0) {
    int slot = (int)(started % n_workers);
    pthread_join(ring[slot], NULL);
    pthread_create(&ring[slot], NULL, worker, (void *)(uintptr_t)started++);
  }
  for (int i = 0; i < n_workers; i++) pthread_join(ring[i], NULL);

  /* Release phase: most clients disconnect. */
  uint64_t live = 0;
  for (int k = 0; k < CONNS; k++) {
    if (!slots[k].conn) continue;
    if (k % 10 == 0) {
      live += conn_bytes(slots[k].conn);
    } else {
      close_conn(slots[k].conn);
      slots[k].conn = NULL;
    }
  }
  double wall = bench_now() - t0;
  bench_result_f64("wall_s", wall);
  bench_result_u64("threads_started", (uint64_t)started);
  bench_result_u64("live_bytes", live);
  bench_report_memory("final");
  bench_idle_and_poke(idle_s, live);
  return 0;
}
