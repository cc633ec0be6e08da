/* Size classes: 16-byte steps up to 128 bytes, then eight classes per
 * doubling (at most 12.5% apart) up to 128 KiB.  Each power of two is a
 * class, so an aligned request can always find a class whose blocks all
 * fall on its alignment. */
#include "internal.h"

struct class_info crowd_classes[CLASS_COUNT];

static uint32_t class_size(unsigned c) {
  if (c < 8) return 16u * (c + 1);
  unsigned group = (c - 8) / 8, step = (c - 8) % 8, k = group + 7;
  return (1u << k) + (step + 1) * (1u << (k - 3));
}

/* Pages hold at least 8 blocks so that crowding has something to rank;
 * among spans that do, take the one wasting the least of its tail. */
static uint32_t class_span(uint32_t size) {
  uint32_t best = 0;
  uint64_t best_waste_permille = ~0ull;
  for (uint32_t span = 1; span <= MAX_SPAN_SLOTS; span++) {
    uint64_t bytes = (uint64_t)span << SLOT_SHIFT;
    if (bytes / size < 8) continue;
    uint64_t waste = (bytes % size) * 1000 / bytes;
    if (waste < best_waste_permille) { best = span; best_waste_permille = waste; }
    if (waste <= 10) break; /* 1% is good enough: smaller pages empty sooner */
  }
  return best ? best : MAX_SPAN_SLOTS;
}

void crowd_sizeclass_init(void) {
  for (unsigned c = 0; c < CLASS_COUNT; c++) {
    struct class_info *info = &crowd_classes[c];
    info->size = class_size(c);
    info->span = class_span(info->size);
    info->capacity = (uint32_t)(((uint64_t)info->span << SLOT_SHIFT) / info->size);
    info->reciprocal = ((uint64_t)1 << 40) / info->size + 1;
  }
}
