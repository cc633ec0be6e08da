/* crowd internals: every structure and the inline helpers the fast paths use.
 *
 * Memory layout
 *   area   4 MiB, aligned to 4 MiB, reserved with mmap.  Slot 0 holds the
 *          area header and the page descriptors (metadata never lives in
 *          the user's blocks); slots 1..63 are 64 KiB each.
 *   page   a run of 1..16 slots holding blocks of one size class: the
 *          seed note's "miniheap".  Its descriptor sits in the area header.
 *   huge   a block above CROWD_SMALL_MAX: its own 4 MiB-aligned mapping,
 *          one header page, then the user's bytes.
 *
 * Any crowd pointer p maps to its area header with (p - 1) & ~AREA_MASK (no
 * user block starts at offset 0 of an area), and the registry bitmap says
 * whether that address really is a crowd area, so free() can tell a foreign
 * pointer from ours before reading anything. */
#ifndef CROWD_INTERNAL_H
#define CROWD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowd.h"

/* 0 in sanitizer builds: the sanitizer owns malloc/free there, and the
 * tests call crowd through its crowd_* names only. */
#ifndef CROWD_GLIBC_NAMES
#define CROWD_GLIBC_NAMES 1
#endif

#define CROWD_HIDDEN __attribute__((visibility("hidden")))
#define CROWD_EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/* Fields other threads peek at are _Atomic, read with acquire and written
 * with release: plain moves on x86, and the happens-before edges that let
 * TSan follow the release thread's handshake (release.c) -- TSan cannot
 * see what membarrier orders, but it sees these. */
#define LOAD(field) atomic_load_explicit(&(field), memory_order_acquire)
#define STORE(field, value) atomic_store_explicit(&(field), (value), memory_order_release)
/* The fast path's read of a field another thread may write (the owner of
 * a page, its bump mark, an area's kind): a plain load, which x86 keeps
 * one access with acquire ordering, and which the compiler can fold into
 * the compare that uses it (it does not fold an atomic load: one
 * instruction more each).  TSan gets the atomic spelling. */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define PEEK(field) (*(const __typeof__((void)0, (field)) *)&(field))
#else
#define PEEK(field) LOAD(field)
#endif
/* A counter only its owner thread writes, others peek at with LOAD: the
 * owner adds in memory with one instruction (x86 keeps it one access, and
 * an aligned 32-bit store is never torn).  TSan gets the atomic spelling. */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define OWNER_ADD(field, delta) __asm__("addl %1, %0" : "+m"(*(uint32_t *)&(field)) : "ri"((uint32_t)(delta)))
#else
#define OWNER_ADD(field, delta) STORE(field, LOAD(field) + (delta))
#endif
#define CROWD_NOINLINE __attribute__((noinline))
/* Reports that abort.  noipa keeps the compiler from learning that they do
 * not return: then the fast paths jump to them as tail calls instead of
 * aligning the stack for a call on every free. */
#define CROWD_COLD __attribute__((cold, noinline, noipa))

#define AREA_SHIFT 22
#define AREA_SIZE ((uintptr_t)1 << AREA_SHIFT)
#define AREA_MASK (AREA_SIZE - 1)
#define SLOT_SHIFT 16
#define SLOT_SIZE ((size_t)1 << SLOT_SHIFT)
#define SLOTS_PER_AREA 64
#define OS_PAGE 4096
#define MAX_SPAN_SLOTS 16

#define CROWD_SMALL_MAX ((size_t)128 * 1024)
/* Blocks up to this size come from the thread's own pages; larger ones
 * (up to CROWD_SMALL_MAX) from one shared heap under a lock.  A page of a
 * large class holds only a few blocks, so with per-thread pages every
 * thread would keep a partly used page per large class: with dozens of
 * threads (a server's workers) that is most of the heap.  Shared, those
 * pages fill up; the lock costs little next to touching 8 KiB or more. */
#define CROWD_THREAD_MAX ((size_t)8 * 1024)
/* malloc of up to this many bytes finds its page with one load, indexed by
 * the size in 16-byte steps: the class lookup is done ahead, when a page
 * becomes current (crowd_heap_set_current).  Class boundaries up to here
 * are multiples of 16, so every size of a step has the same class. */
#define CROWD_DIRECT_MAX ((size_t)1024)
#define DIRECT_COUNT (CROWD_DIRECT_MAX / 16 + 1)
/* Blocks above CROWD_SMALL_MAX up to this size are "large": one block in a
 * page of as many slots as it needs, taken from and returned to the areas
 * under the area lock.  A freed large block's slots stay resident for the
 * purge delay and serve the next request of any size that fits, without
 * page faults; bigger blocks are mapped on their own (huge). */
#define CROWD_LARGE_MAX ((size_t)32 * SLOT_SIZE)
#define LARGE_CLASS 0xff
/* Classes: 8 of 16-byte steps up to 128 bytes, 8 per doubling up to 1 KiB,
 * 9 per doubling from 1 KiB to 16 KiB (the ninth: a power of two plus 16,
 * see sizeclass.c), then 8 per doubling again up to 128 KiB. */
#define HEADER_CLASS_SHIFT 10     /* the first doubling with a class of 2^k + 16 */
#define HEADER_CLASS_END_SHIFT 14 /* and the first without */
#define HEADER_CLASS_FIRST 32     /* crowd_size_class(1024) + 1 */
#define HEADER_CLASS_AFTER (HEADER_CLASS_FIRST + (HEADER_CLASS_END_SHIFT - HEADER_CLASS_SHIFT) * 9)
#define CLASS_COUNT (HEADER_CLASS_AFTER + (17 - HEADER_CLASS_END_SHIFT) * 8)
#define CROWD_MIN_ALIGN 16

/* 47-bit user address space: one registry byte per 4 MiB (32 MiB of
 * zero pages, touched only where crowd has areas). */
#define ADDRESS_BITS 47
#define REGISTRY_SIZE ((uintptr_t)1 << (ADDRESS_BITS - AREA_SHIFT))
enum registry_kind { KIND_NONE = 0, KIND_PAGES = 1, KIND_HUGE = 2 };

/* Occupancy buckets for crowding: bucket b holds pages with
 * used/capacity in [b/8, (b+1)/8).  Full pages sit on their own list. */
#define BUCKET_COUNT 8

struct heap;

struct block {
  struct block *next;
  uintptr_t check; /* cookie ^ address while the block is free */
};

enum page_state {
  PAGE_FREE = 0,   /* slot(s) belong to the area, no class */
  PAGE_CURRENT,    /* its heap allocates from it */
  PAGE_QUEUED,     /* in an occupancy bucket of its heap */
  PAGE_FULL,       /* every block handed out */
  PAGE_ABANDONED,  /* its thread exited; waits for adoption */
  PAGE_LARGE,      /* one large block */
};

/* A page descriptor.  The first cache line is what malloc/free touch and
 * only the owner writes; the second holds what other threads write (their
 * frees) and the slow paths' bookkeeping. */
struct page {
  struct block *free;     /* blocks ready to hand out */
  struct block *local_free; /* handed out once free runs dry: remote frees taken while it had blocks */
  /* Live blocks as the owner sees them, kept as their distance above the
   * floor (crowd_page_used adds it back): free's fast path counts down and
   * goes to the slow path on the sign, one instruction in place of a
   * reload, a load of the floor and a compare.  Others peek. */
  _Atomic int32_t above_floor;
  _Atomic uint32_t floor; /* free(): a page whose live count falls below it takes the slow path (others peek) */
  _Atomic(struct heap *) heap; /* owner; NULL when abandoned or free */
  char *start;            /* address of the first block */
  uint64_t inverse;       /* odd part of block_size, inverted mod 2^64 (block index test) */
  _Atomic uint32_t handed_out; /* blocks below the bump mark (others peek) */
  uint32_t block_size;
  uint8_t size_shift;     /* trailing zero bits of block_size */
  uint8_t size_class;
  uint8_t span;           /* slots */
  _Atomic uint8_t state;  /* enum page_state */
  uint8_t bucket;
  uint8_t is_zero;        /* untouched memory beyond bump reads as zero */
  uint8_t slot;           /* index of its first slot in the area */
  uint8_t subpages_released; /* free 4 KiB sub-pages were given back */
  /* second line */
  _Atomic uintptr_t thread_free; /* frees from other threads: list, count, armed bit (below) */
  struct page *next, *prev;   /* bucket / full / abandoned list */
  struct page *notify_next;   /* heap->notified stack */
  uint64_t freed_at_ms;       /* free slot: when freed; current page: when it emptied */
  uint32_t sparse_since;      /* when it became sparse (crowd_ms_stamp; 0: not sparse) */
  /* When the page was formed on slots that an earlier page left resident
   * (crowd_ms_stamp; 0: none inherited, or given back already): what lies
   * above its bump mark is that page's memory, and goes if this page has
   * not grown into it within the purge delay (heap.c). */
  uint32_t inherited_since;
  _Atomic uint32_t bump;      /* offset of the first never-handed-out byte (others peek) */
  uint32_t capacity;          /* blocks the page holds */
  uint16_t released_at_used;  /* used count at the last sub-page release (~0: none) */
  uint16_t released_sub;      /* this slot's 4 KiB sub-pages given back (page.c) */
  _Atomic uint8_t notified;   /* FULL page already told its heap of a remote free */
  uint8_t dirty;              /* PAGE_FREE slot: memory may hold old bytes */
  uint8_t released;           /* PAGE_FREE slot: given back to the kernel */
  uint8_t reclaim_seen;       /* current, empty: seen so by crowd_heap_reclaim_empty, unused since */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct page) == 128, "page descriptors are two cache lines");
_Static_assert(offsetof(struct page, thread_free) == 64, "other threads write only the second line");

enum area_kind { AREA_PAGES = 0x5041, AREA_HUGE = 0x4855 };

struct area {
  uint32_t kind;
  uint32_t used_slots;         /* slots in pages of a class */
  uint64_t free_mask;          /* bit s: slot s is free */
  uint64_t released_mask;      /* bit s: free slot s was given back */
  uint64_t waiting_mask;       /* bit s: free slot s was freed and waits for the purge (resident) */
  uint64_t empty_since_ms;     /* when used_slots fell to 0 */
  struct area *next, *prev;    /* all areas, by address */
  uint8_t slot_page[SLOTS_PER_AREA]; /* slot -> first slot of its page */
  struct page pages[SLOTS_PER_AREA];
};

/* Header of a huge block's mapping (4 KiB, in front of the user's bytes). */
struct huge {
  uint32_t kind;               /* AREA_HUGE */
  uint32_t pad;
  size_t map_size;             /* bytes mapped from base */
  size_t user_offset;          /* user pointer = base + user_offset */
  size_t alignment;            /* alignment asked for (for mremap moves) */
  struct huge *next, *prev;    /* live list or cache */
  uint64_t freed_at_ms;
  uintptr_t check;             /* cookie ^ base while the block is live */
  size_t requested;            /* the size last asked for (malloc or realloc) */
};

struct page_list {
  struct page *head;
};

struct heap_class {
  struct page_list bucket[BUCKET_COUNT];
  struct page_list full;
  uint32_t bucket_mask;
  /* Borrowing from the class above (borrow.c): blocked until a free of its
   * own, on blocked_page, whose floor was floor_before_block; borrowed_from
   * is the page it last took a block from. */
  uint8_t borrow_blocked;
  uint32_t floor_before_block;
  struct page *blocked_page;
  struct page *borrowed_from;
};

/* A heap's page tables, what malloc's fast path reads.  A struct of their
 * own so that a thread that has not allocated yet can point at tables of
 * empty pages (crowd_empty_tables) without a whole empty heap in the
 * library's initialised data: its 11 KiB of class lists, all zero, made
 * every program map 8 KiB more of the library file. */
struct heap_tables {
  _Atomic(struct page *) direct[DIRECT_COUNT];  /* current[] by 16-byte size step: malloc's fast path */
  _Atomic(struct page *) current[CLASS_COUNT];  /* the fast path of larger sizes and of memalign */
};

struct heap {
  struct heap_tables tables;
  /* The owner thread's busy flag (struct crowd_thread), for the release
   * thread; a flag that is never set while no thread owns the heap.
   * Changed under the heap's lock. */
  _Atomic uint8_t *owner_busy;
  pthread_mutex_t lock;              /* the owner's slow paths, and the release thread */
  /* Full pages that received remote frees: other threads push here, so it
   * has a cache line to itself, away from the owner's lock and tables. */
  _Alignas(64) _Atomic(struct page *) notified;
  struct heap_class classes[CLASS_COUNT] __attribute__((aligned(64)));
  struct heap *next_heap;            /* all heaps (live and parked) */
  uint32_t live;                     /* a thread uses it */
  uint32_t parked_with_pages;        /* its thread exited; its pages wait for the next thread */
  uint32_t shared_index;             /* which shared heap serves its large classes */
  uint64_t parked_at_ms;
  /* Pages the heap made current (its slow path, under the lock); the
   * count a claim pass last saw (the release thread's, or malloc_trim's,
   * under the same lock), and when a pass last saw it move (heap.c,
   * "busy heaps"). */
  uint32_t page_switches;
  uint32_t page_switches_seen;
  uint64_t switched_seen_ms;
};

_Static_assert(offsetof(struct heap, notified) % 64 == 0 &&
                   offsetof(struct heap, classes) - offsetof(struct heap, notified) >= 64,
               "the heap's word other threads write has its own cache line");

struct class_info {
  uint32_t size;
  uint32_t span;        /* slots per page */
  uint32_t capacity;    /* blocks per page */
};

/* ---- globals ---- */
CROWD_HIDDEN extern struct class_info crowd_classes[CLASS_COUNT];
CROWD_HIDDEN extern uintptr_t crowd_cookie;
CROWD_HIDDEN extern struct heap crowd_empty_heap;
CROWD_HIDDEN extern struct heap_tables crowd_empty_tables;
/* A few shared heaps, live threads spread evenly over them, so that threads
 * allocating large-class blocks at the same time rarely wait for each other. */
#define SHARED_HEAPS 4
CROWD_HIDDEN extern struct heap crowd_shared_heaps[SHARED_HEAPS];
CROWD_HIDDEN struct heap *crowd_shared_heap(unsigned index); /* set up on first use */
static inline bool crowd_is_shared_heap(const struct heap *heap) {
  return heap >= &crowd_shared_heaps[0] && heap < &crowd_shared_heaps[SHARED_HEAPS];
}
CROWD_HIDDEN extern struct heap crowd_large_owner; /* marks large pages; never allocates */
CROWD_HIDDEN extern struct page crowd_empty_page;
CROWD_HIDDEN extern _Atomic uint8_t crowd_area_kinds[REGISTRY_SIZE];
/* What the fast paths need of their thread, in one TLS block so that one
 * GOT load finds all of it. */
struct crowd_thread {
  struct heap *heap; /* &crowd_empty_heap until the thread's first malloc */
  struct heap_tables *tables; /* &heap->tables; &crowd_empty_tables until then */
  /* Set around the owner's lock-free use of its pages, so the release
   * thread can tell (after a membarrier) that a page it wants to take from
   * an idle heap is not being used.  Per thread, so that threads which only
   * free (and share the empty heap) never write a shared line.  See heap.c. */
  _Atomic uint8_t busy;
};
extern __thread struct crowd_thread crowd_thread __attribute__((tls_model("initial-exec"))) CROWD_HIDDEN;
CROWD_HIDDEN extern _Atomic uint8_t crowd_never_busy;

/* A millisecond timestamp in 32 bits for the page descriptors, which have
 * no room for more: the clock's low bits, never 0 (0 means unset).  Ages
 * are taken modulo 2^32 ms: a page sparse for longer than 24 days looks
 * younger, which only delays a release. */
static inline uint32_t crowd_ms_stamp(uint64_t now_ms) {
  uint32_t stamp = (uint32_t)now_ms;
  return stamp ? stamp : 1;
}
/* The time a stamp was taken, given a clock reading now_ms.  A stamp may be
 * a little later than now_ms: the release thread reads the clock once per
 * pass and an owner stamps a page meanwhile.  That is age 0, not a time 49
 * days ahead (which made the release thread sleep for good). */
static inline uint64_t crowd_ms_unstamp(uint32_t stamp, uint64_t now_ms) {
  uint32_t age = (uint32_t)now_ms - stamp;
  if (age > UINT32_MAX / 2) age = 0;
  return now_ms - age;
}

/* ---- a page's live count (above_floor + floor) ---- */
static inline uint32_t crowd_page_used(const struct page *page) {
  return (uint32_t)(LOAD(page->above_floor) + (int32_t)LOAD(page->floor));
}
static inline void crowd_page_set_used(struct page *page, uint32_t used) {
  STORE(page->above_floor, (int32_t)used - (int32_t)LOAD(page->floor));
}
/* A change in the live count is the same change above the floor: the
 * floor need not be read.  Returns the new distance above it (below 0: the
 * page fell below its floor). */
static inline int32_t crowd_page_add_used(struct page *page, int32_t delta) {
  int32_t above = LOAD(page->above_floor) + delta;
  STORE(page->above_floor, above);
  return above;
}
/* The live count stays; only the point where free leaves the fast path moves. */
static inline void crowd_page_set_floor(struct page *page, uint32_t floor) {
  uint32_t used = crowd_page_used(page);
  STORE(page->floor, floor);
  STORE(page->above_floor, (int32_t)used - (int32_t)floor);
}
/* The owner's free: one block fewer; true if the page fell below its floor. */
static inline bool crowd_page_owner_free_one(struct page *page) {
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
  bool below;
  __asm__("subl $1, %0" : "+m"(*(int32_t *)&page->above_floor), "=@ccs"(below));
  return below;
#else
  return crowd_page_add_used(page, -1) < 0;
#endif
}

/* ---- size classes ---- */
static inline unsigned crowd_size_class(size_t size) {
  if (likely(size <= 128)) return (unsigned)((size - (size != 0)) >> 4);
  size_t m = size - 1;
  unsigned k = 63u - (unsigned)__builtin_clzl(m);
  unsigned step = (unsigned)((m >> (k - 3u)) & 7u);
  if (k < HEADER_CLASS_SHIFT) return 8u + (k - 7u) * 8u + step;
  if (k >= HEADER_CLASS_END_SHIFT) return HEADER_CLASS_AFTER + (k - HEADER_CLASS_END_SHIFT) * 8u + step;
  /* From 1 KiB to 16 KiB each doubling starts with a class of 2^k + 16. */
  unsigned above_header = m - ((size_t)1 << k) >= 16;
  return HEADER_CLASS_FIRST + (k - HEADER_CLASS_SHIFT) * 9u + above_header + step;
}
CROWD_HIDDEN void crowd_sizeclass_init(void);

/* ---- registry ---- */
static inline unsigned crowd_area_kind(uintptr_t area) {
  uintptr_t index = area >> AREA_SHIFT;
  if (unlikely(index >= REGISTRY_SIZE)) return KIND_NONE;
  return PEEK(crowd_area_kinds[index]);
}
static inline bool crowd_area_registered(uintptr_t area) { return crowd_area_kind(area) != KIND_NONE; }
CROWD_HIDDEN void crowd_area_register(uintptr_t area, unsigned kind);

/* The index of the block at offset from the page's start if offset is a
 * multiple of the block size; else a number above any page's capacity.
 * With block_size = odd << shift: a multiple k * block_size times the odd
 * part's inverse is k << shift, rotated back to k; any other offset keeps
 * bits that the rotation brings to the top (the divisibility test of
 * Granlund and Montgomery).  One multiply, no division, no second check. */
static inline uint64_t crowd_page_block_index(const struct page *page, uint64_t offset) {
  uint64_t product = offset * page->inverse;
  unsigned shift = page->size_shift;
  return (product >> shift) | (product << ((64 - shift) & 63));
}

/* Whether p is the start of a block the page has handed out: a block
 * index, below the page's never-used part. */
static inline bool crowd_page_block_start(const struct page *page, const void *p) {
  uint64_t offset = (uint64_t)((const char *)p - page->start);
  return crowd_page_block_index(page, offset) < PEEK(page->handed_out);
}

/* The descriptor of the page covering p, in an area of pages.  Spelled as
 * one address so that the fast path reads every field off one register. */
static inline struct page *crowd_page_of(struct area *area, const void *p) {
  unsigned slot = (unsigned)(((uintptr_t)p >> SLOT_SHIFT) & (SLOTS_PER_AREA - 1));
  uintptr_t descriptor = (uintptr_t)area + offsetof(struct area, pages) + ((uintptr_t)area->slot_page[slot] << 7);
  return (struct page *)descriptor;
}
_Static_assert(sizeof(struct page) == 1 << 7, "crowd_page_of shifts by the descriptor size");

/* The descriptor of p's own slot, computed without the slot table: one
 * dependent load fewer on free's fast path (measured on larson: 3-7%
 * faster at 1 and 2 threads).  It is p's page for every block in the first
 * slot of its page, so for every block of a one-slot page.  The other
 * slots of a longer page have handed_out 0 (area.c), so that a block there
 * fails crowd_page_block_start and free looks again with crowd_page_of. */
static inline struct page *crowd_slot_descriptor(uintptr_t area, const void *p) {
  uintptr_t slot_offset = ((uintptr_t)p >> (SLOT_SHIFT - 7)) & ((uintptr_t)(SLOTS_PER_AREA - 1) << 7);
  return (struct page *)(area + offsetof(struct area, pages) + slot_offset);
}

static inline uintptr_t crowd_area_of(const void *p) {
  return ((uintptr_t)p - 1) & ~AREA_MASK;
}
static inline char *crowd_page_start(struct area *area, struct page *page) {
  return page->start;
}
static inline struct area *crowd_page_area(struct page *page) {
  return (struct area *)((uintptr_t)page & ~AREA_MASK);
}

/* ---- init and options (init.c, options.c) ---- */
struct crowd_options {
  int64_t purge_delay_ms;  /* -1: never */
  int purge_free;          /* 1: MADV_FREE instead of MADV_DONTNEED */
  int release_thread;      /* start the idle release thread */
  int verbose;
  int show_stats;
  size_t huge_cache_max;   /* bytes of freed huge mappings kept */
  char map_path[256];      /* CROWD_MAP: write the heap map here at exit */
};
CROWD_HIDDEN extern struct crowd_options crowd_options;
CROWD_HIDDEN extern _Atomic int crowd_init_state; /* 0 none, 1 running, 2 done */
CROWD_HIDDEN void crowd_init_slow(void);
static inline void crowd_ensure_init(void) {
  if (unlikely(atomic_load_explicit(&crowd_init_state, memory_order_acquire) != 2))
    crowd_init_slow();
}
CROWD_HIDDEN void crowd_options_load(void);
CROWD_HIDDEN void crowd_options_print(void);

/* ---- os.c: the only file that calls mmap/madvise/munmap ---- */
CROWD_HIDDEN void *crowd_os_map_aligned(size_t size, size_t alignment, size_t *out_mapped);
CROWD_HIDDEN void *crowd_os_map(size_t size);
CROWD_HIDDEN void crowd_os_unmap(void *p, size_t size);
CROWD_HIDDEN bool crowd_os_release(void *p, size_t size); /* purge per options */
CROWD_HIDDEN void *crowd_os_remap(void *old, size_t old_size, size_t new_size, void *fixed_target);
CROWD_HIDDEN void crowd_os_no_hugepages(void *p, size_t size);
CROWD_HIDDEN bool crowd_os_resident(void *p, size_t size, unsigned char *vector);
CROWD_HIDDEN bool crowd_os_shrink(void *p, size_t old_size, size_t new_size);
CROWD_HIDDEN uint64_t crowd_os_now_ms(void);
CROWD_HIDDEN void crowd_os_random(void *buf, size_t size);
CROWD_HIDDEN unsigned crowd_os_cpu_count(void);

/* ---- message.c ---- */
CROWD_HIDDEN void crowd_message(const char *fmt, ...);
CROWD_HIDDEN __attribute__((noreturn)) void crowd_fatal(const char *what, const void *p);
CROWD_HIDDEN size_t crowd_format(char *buf, size_t cap, const char *fmt, ...);
CROWD_HIDDEN size_t crowd_vformat(char *buf, size_t cap, const char *fmt, __builtin_va_list ap);

/* ---- area.c: pages out of areas, guarded by crowd_area_lock ---- */
CROWD_HIDDEN extern pthread_mutex_t crowd_area_lock;
/* Slots and pages freed this recently are never released or taken from
 * their class ahead of the delay: a class that empties its page and
 * refills it at once keeps it. */
#define JUST_FREED_MS 20
CROWD_HIDDEN struct page *crowd_area_take_page(unsigned size_class);
CROWD_HIDDEN bool crowd_area_has_waiting_run(unsigned span);
CROWD_HIDDEN struct page *crowd_area_take_span(unsigned span, bool large, bool *zero);
CROWD_HIDDEN void crowd_area_return_page(struct page *page);
CROWD_HIDDEN void crowd_area_return_page_released(struct page *page);
CROWD_HIDDEN size_t crowd_area_purge(uint64_t now_ms, bool force, uint64_t *next_due_ms);
CROWD_HIDDEN size_t crowd_area_release_waiting(void);
CROWD_HIDDEN void crowd_area_foreach(void (*fn)(struct area *, void *), void *arg);

/* page->thread_free, one word that other threads change by CAS:
 *   bit 0       armed: the owner has stopped looking at the page (full,
 *               queued or abandoned), so the next remote free must tell it;
 *   bits 4-47   the list of blocks freed by other threads (blocks are
 *               16-byte aligned, user addresses below 2^47);
 *   bits 48-63  how many blocks the list holds, so that the owner takes
 *               them without walking a list whose every block another
 *               core has just written.
 * Being one word, the push that finds the page armed is the one, and the
 * only one, that tells the owner: no fence on the remote free. */
#define REMOTE_ARMED ((uintptr_t)1)
#define REMOTE_COUNT_SHIFT 48
#define REMOTE_LIST_MASK ((((uintptr_t)1 << REMOTE_COUNT_SHIFT) - 1) & ~(uintptr_t)15)
static inline struct block *crowd_remote_list(uintptr_t word) { return (struct block *)(word & REMOTE_LIST_MASK); }
static inline bool crowd_page_has_remote(struct page *page) {
  return crowd_remote_list(atomic_load_explicit(&page->thread_free, memory_order_relaxed)) != NULL;
}

/* ---- page.c ---- */
CROWD_HIDDEN void crowd_page_init(struct page *page, unsigned size_class, bool memory_is_zero);
CROWD_HIDDEN void crowd_page_init_large(struct page *page, bool memory_is_zero);
CROWD_HIDDEN void *crowd_page_extend(struct page *page);
CROWD_HIDDEN uint32_t crowd_page_collect(struct page *page);
CROWD_HIDDEN bool crowd_page_arm(struct page *page);
CROWD_HIDDEN void crowd_page_disarm(struct page *page);
CROWD_HIDDEN bool crowd_page_refill_free(struct page *page);
CROWD_HIDDEN size_t crowd_page_release_subpages(struct page *page);
CROWD_HIDDEN size_t crowd_page_release_untouched(struct page *page);
/* Bytes of the page's slots above its bump mark, in whole OS pages: what it
 * has never handed out. */
static inline size_t crowd_page_untouched_bytes(const struct page *page) {
  size_t touched = ((size_t)LOAD(page->bump) + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
  size_t end = (size_t)page->span << SLOT_SHIFT;
  return touched < end ? end - touched : 0;
}
CROWD_HIDDEN void crowd_page_restore_subpages(struct page *page);
CROWD_HIDDEN unsigned crowd_page_bucket(const struct page *page);
CROWD_HIDDEN uint32_t crowd_bucket_floor(const struct page *page, unsigned bucket);
CROWD_HIDDEN void crowd_list_push(struct page_list *list, struct page *page);
CROWD_HIDDEN void crowd_list_remove(struct page_list *list, struct page *page);

/* ---- heap.c ---- */
CROWD_HIDDEN struct heap *crowd_heap_for_thread(void);
CROWD_HIDDEN void crowd_heap_abandon_pages(struct heap *heap);
CROWD_HIDDEN struct page *crowd_abandoned_take(unsigned size_class, struct heap *heap);
CROWD_HIDDEN void crowd_abandoned_sweep(void);
CROWD_HIDDEN void crowd_heap_queue(struct heap *heap, struct page *page);
CROWD_HIDDEN void crowd_heap_unqueue(struct heap *heap, struct page *page);
CROWD_HIDDEN struct page *crowd_heap_take_fullest(struct heap *heap, unsigned size_class);
CROWD_HIDDEN struct page *crowd_heap_take_roomy(struct heap *heap, unsigned size_class);
CROWD_HIDDEN void crowd_heap_reclaim_empty(struct heap *heap, unsigned size_class);
CROWD_HIDDEN void crowd_heap_set_current(struct heap *heap, unsigned size_class, struct page *page);
CROWD_HIDDEN size_t crowd_heaps_claim_idle(uint64_t now, bool force, uint64_t *next_due_ms);
CROWD_HIDDEN void crowd_heap_after_fork_child(void);
CROWD_HIDDEN extern pthread_mutex_t crowd_heap_lock;

/* ---- borrow.c: a block of the class above (owner's slow paths) ---- */
CROWD_HIDDEN struct page *crowd_borrow_lender(struct heap *heap, unsigned size_class, struct page *own);
CROWD_HIDDEN void crowd_borrow_note_dry(struct heap *heap, unsigned size_class, struct page *page);
CROWD_HIDDEN void crowd_borrow_on_current(struct heap *heap, struct page *page);
CROWD_HIDDEN bool crowd_borrow_on_free(struct heap *heap, struct page *page);

/* ---- alloc.c / free.c slow paths ---- */
CROWD_HIDDEN void *crowd_alloc_slow(struct heap *heap, unsigned size_class);
CROWD_HIDDEN void *crowd_alloc_class(unsigned size_class);
CROWD_HIDDEN void crowd_free_slow(struct heap *heap, struct page *page);
CROWD_HIDDEN void crowd_free_remote(struct page *page, struct block *block);
CROWD_HIDDEN void crowd_free_foreign(void *p);
CROWD_HIDDEN void crowd_free_locked(struct heap *heap, struct page *page);
CROWD_HIDDEN size_t crowd_block_size(const void *p);
CROWD_HIDDEN void *crowd_alloc_aligned(size_t alignment, size_t size);

/* ---- large blocks (alloc.c) ---- */
CROWD_HIDDEN void *crowd_large_alloc(size_t size, bool zero);
CROWD_HIDDEN void crowd_large_free_moved(void *p); /* realloc copied it elsewhere */
CROWD_HIDDEN void *crowd_big_alloc(size_t size, bool zero); /* large or huge */

/* ---- huge.c ---- */
CROWD_HIDDEN void *crowd_huge_alloc(size_t size, size_t alignment, bool zero);
CROWD_HIDDEN void crowd_huge_free(struct huge *huge, void *p);
CROWD_HIDDEN void *crowd_huge_realloc(struct huge *huge, void *p, size_t size);
CROWD_HIDDEN size_t crowd_huge_usable(const struct huge *huge);
CROWD_HIDDEN size_t crowd_huge_purge(uint64_t now_ms, bool force, uint64_t *next_due_ms);

/* ---- release.c ---- */
CROWD_HIDDEN void crowd_release_wake(void);
CROWD_HIDDEN extern _Atomic int release_start_wanted;
CROWD_HIDDEN void crowd_release_poll_slow(void);
/* Call with no crowd lock held. */
static inline void crowd_release_poll(void) {
  if (unlikely(atomic_load_explicit(&release_start_wanted, memory_order_relaxed))) crowd_release_poll_slow();
}
CROWD_HIDDEN void crowd_release_after_fork_child(void);
CROWD_HIDDEN size_t crowd_release_now(bool force);
/* The release passes' "when to look again": the earliest time noted
 * (0: nothing waits). */
static inline void crowd_due_at(uint64_t *next_due, uint64_t at) {
  if (next_due && (!*next_due || at < *next_due)) *next_due = at;
}
CROWD_HIDDEN size_t crowd_heap_claim_idle(struct heap *heap, uint64_t now, bool force, uint64_t *next_due_ms);
CROWD_HIDDEN bool crowd_membarrier(void);

/* The owner's lock-free section: stores only, no fence (the release
 * thread's membarrier supplies the ordering). */
static inline void crowd_busy_enter(struct crowd_thread *thread) {
  atomic_store_explicit(&thread->busy, 1, memory_order_relaxed);
  atomic_signal_fence(memory_order_seq_cst);
}
static inline void crowd_busy_leave(struct crowd_thread *thread) {
  atomic_signal_fence(memory_order_seq_cst);
  atomic_store_explicit(&thread->busy, 0, memory_order_release);
}

/* ---- stats.c: counters kept with relaxed atomics off the fast path ---- */
struct crowd_counters {
  _Atomic uint64_t released_bytes, purge_calls, areas_mapped, areas_unmapped,
      areas_live, huge_live_bytes, huge_live_count, huge_cached_bytes,
      pages_free_resident, pages_free_released, pages_in_use, heaps_live,
      heaps_abandoned, release_wakeups, mapped_bytes;
};
CROWD_HIDDEN extern struct crowd_counters crowd_counters;
#define COUNTER_ADD(name, v) atomic_fetch_add_explicit(&crowd_counters.name, (uint64_t)(v), memory_order_relaxed)
#define COUNTER_SUB(name, v) atomic_fetch_sub_explicit(&crowd_counters.name, (uint64_t)(v), memory_order_relaxed)
#define COUNTER_GET(name) atomic_load_explicit(&crowd_counters.name, memory_order_relaxed)
CROWD_HIDDEN void crowd_stats_print_at_exit(void);
CROWD_HIDDEN void crowd_map_at_exit(void);
int crowd_stats_json(int fd);

#endif
