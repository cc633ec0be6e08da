/* Size classes: 16-byte steps up to 128 bytes, then eight classes per
 * doubling (at most 12.5% apart) up to 128 KiB.  Each power of two is a
 * class, so an aligned request can always find a class whose blocks all
 * fall on its alignment.
 *
 * From 1 KiB to 16 KiB, each doubling also has a class of a power of two
 * plus 16 bytes.  Programs size buffers as a power of two plus a small
 * header: SQLite's page cache allocates 4096 + 8 and 1024 + 8 bytes, which
 * the next class (4608, 1152) would pad by 12%.  At SQLite's peak in
 * bench/speed those two sizes hold 61 MiB, and the padding was 6.5 MiB of
 * it.  Not above 16 KiB: 16 KiB + 16 would need pages of 4 slots,
 * 32 KiB + 16 of 8 and 64 KiB + 16 of 16, to hold a few blocks without
 * wasting much of them. */
#include "internal.h"

struct class_info crowd_classes[CLASS_COUNT];

/* Classes of the thread heaps (up to CROWD_THREAD_MAX): pages of at least
 * 32 blocks, so 2-4 slots for blocks of 2-8 KiB.  A page of a few blocks
 * fills and drains within a few operations, so a class whose live count
 * wanders around a page's worth keeps several pages partly used, each
 * resident up to its own high-water mark; a bigger page holds the same
 * blocks once.  Measured on mstress (10% of its blocks 512 B-8 KiB), peak
 * RSS at 1/2/4 threads: 6.0/10.0/16.9 MiB with pages of at least 8 blocks,
 * 4.9/7.6/13.1 MiB with 32; the other workloads did not move.  A block of
 * 4 KiB or more is touched only where the program writes it, so the bigger
 * page costs address space, not memory.
 * Larger classes (the shared heaps): fewer per page (down to 2), because a
 * heap that holds a page per class would otherwise keep megabytes in pages
 * that hold one or two live blocks.  Among spans that reach the count, the
 * smallest that wastes at most 1/16 of its bytes, else the least wasteful. */
static uint32_t class_span(uint32_t size) {
  uint32_t want = size <= CROWD_THREAD_MAX ? 32 : size <= 32768 ? 4 : 2;
  uint32_t best = 0;
  uint64_t best_waste = ~0ull;
  for (uint32_t span = 1; span <= MAX_SPAN_SLOTS; span++) {
    uint64_t bytes = (uint64_t)span << SLOT_SHIFT;
    if (bytes / size < want) continue;
    uint64_t waste_per_64k = (bytes % size) * 65536 / bytes;
    if (waste_per_64k <= 4096) return span;
    if (waste_per_64k < best_waste) { best = span; best_waste = waste_per_64k; }
  }
  return best ? best : MAX_SPAN_SLOTS;
}

void crowd_sizeclass_init(void) {
  /* A class's size is the largest size crowd_size_class maps to it: the
   * formula there is the only definition of the classes.  Every class
   * size is a multiple of 16. */
  for (uint32_t size = 16; size <= CROWD_SMALL_MAX; size += 16) crowd_classes[crowd_size_class(size)].size = size;
  for (unsigned c = 0; c < CLASS_COUNT; c++) {
    struct class_info *info = &crowd_classes[c];
    info->span = class_span(info->size);
    info->capacity = (uint32_t)(((uint64_t)info->span << SLOT_SHIFT) / info->size);
  }
}
