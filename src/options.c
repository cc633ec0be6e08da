/* Options: one table, read from the environment once at start-up.
 * Environment variables are CROWD_<NAME>; a bad value is warned about
 * (naming the variable and what it accepts) and the default kept.  In a
 * setuid or setgid program the environment is ignored. */
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

struct crowd_options crowd_options = {
    .purge_delay_ms = 500,
    .purge_free = 0,
    .release_thread = 1,
    .verbose = 0,
    .show_stats = 0,
    .huge_cache_max = (size_t)1 << 30,
};

enum option_kind { OPTION_BOOL, OPTION_MS, OPTION_SIZE, OPTION_PURGE, OPTION_PATH, OPTION_STATS };

struct option_def {
  const char *name;      /* environment variable */
  enum option_kind kind;
  void *target;
  const char *doc;
};

static const struct option_def option_table[] = {
    {"CROWD_PURGE_DELAY", OPTION_MS, &crowd_options.purge_delay_ms,
     "milliseconds a free page waits before it is given back (0: at once, -1 or never: never)"},
    {"CROWD_PURGE", OPTION_PURGE, &crowd_options.purge_free,
     "how pages are given back: dontneed (RSS drops at once) or free (lazy, MADV_FREE)"},
    {"CROWD_RELEASE_THREAD", OPTION_BOOL, &crowd_options.release_thread,
     "a background thread gives memory back while the program is idle"},
    {"CROWD_VERBOSE", OPTION_BOOL, &crowd_options.verbose, "print crowd's version and options at start"},
    {"CROWD_STATS", OPTION_STATS, &crowd_options.show_stats, "print statistics to stderr at exit: 1 (text) or json"},
    {"CROWD_HUGE_CACHE", OPTION_SIZE, &crowd_options.huge_cache_max,
     "most bytes of freed huge blocks kept mapped for reuse (K, M, G suffixes)"},
    {"CROWD_MAP", OPTION_PATH, crowd_options.map_path, "write the heap map (JSON) to this file at exit"},
};

static const char *env_get(const char *name) {
  size_t len = strlen(name);
  if (!environ) return NULL;
  for (char **e = environ; *e; e++)
    if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') return *e + len + 1;
  return NULL;
}

static bool word_is(const char *value, const char *word) {
  for (; *word; value++, word++) {
    char c = *value;
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != *word) return false;
  }
  return *value == 0;
}

static bool parse_bool(const char *v, int *out) {
  if (word_is(v, "1") || word_is(v, "yes") || word_is(v, "on") || word_is(v, "true")) { *out = 1; return true; }
  if (word_is(v, "0") || word_is(v, "no") || word_is(v, "off") || word_is(v, "false")) { *out = 0; return true; }
  return false;
}

static bool parse_number(const char *v, uint64_t *out, bool allow_suffix) {
  uint64_t n = 0;
  const char *p = v;
  if (*p < '0' || *p > '9') return false;
  while (*p >= '0' && *p <= '9') {
    if (n > (UINT64_MAX - 9) / 10) return false;
    n = n * 10 + (uint64_t)(*p++ - '0');
  }
  if (allow_suffix && *p) {
    unsigned shift = 0;
    switch (*p | 0x20) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      default: return false;
    }
    p++;
    if ((*p | 0x20) == 'b' || (*p | 0x20) == 'i') p++;
    if ((*p | 0x20) == 'b') p++;
    if (n > (UINT64_MAX >> shift)) return false;
    n <<= shift;
  }
  if (*p) return false;
  *out = n;
  return true;
}

static void apply(const struct option_def *def, const char *value) {
  uint64_t n;
  int b;
  switch (def->kind) {
    case OPTION_BOOL:
      if (parse_bool(value, &b)) { *(int *)def->target = b; return; }
      crowd_message("crowd: warning: %s=%s is not understood; use 1/0, yes/no, on/off (keeping default)\n", def->name, value);
      return;
    case OPTION_MS:
      if (word_is(value, "never") || word_is(value, "-1")) { *(int64_t *)def->target = -1; return; }
      if (parse_number(value, &n, false) && n <= INT64_MAX) { *(int64_t *)def->target = (int64_t)n; return; }
      crowd_message("crowd: warning: %s=%s is not understood; use milliseconds (0 = at once) or never (keeping default)\n", def->name, value);
      return;
    case OPTION_SIZE:
      if (parse_number(value, &n, true)) { *(size_t *)def->target = (size_t)n; return; }
      crowd_message("crowd: warning: %s=%s is not understood; use a size in bytes with an optional K, M or G (keeping default)\n", def->name, value);
      return;
    case OPTION_STATS:
      if (word_is(value, "json")) { *(int *)def->target = 2; return; }
      if (parse_bool(value, &b)) { *(int *)def->target = b; return; }
      crowd_message("crowd: warning: %s=%s is not understood; use 1/0, yes/no, on/off or json (keeping default)\n", def->name, value);
      return;
    case OPTION_PATH: {
      size_t len = strlen(value);
      if (len > 0 && len < sizeof crowd_options.map_path) {
        memcpy(def->target, value, len + 1);
        return;
      }
      crowd_message("crowd: warning: %s=%s is not understood; use a file path shorter than 256 bytes\n", def->name, value);
      return;
    }
    case OPTION_PURGE:
      if (word_is(value, "dontneed")) { *(int *)def->target = 0; return; }
      if (word_is(value, "free")) { *(int *)def->target = 1; return; }
      crowd_message("crowd: warning: %s=%s is not understood; use dontneed or free (keeping default)\n", def->name, value);
      return;
  }
}

void crowd_options_load(void) {
  if (getauxval(AT_SECURE)) return;
  for (size_t i = 0; i < sizeof option_table / sizeof option_table[0]; i++) {
    const char *value = env_get(option_table[i].name);
    if (value) apply(&option_table[i], value);
  }
}

void crowd_options_print(void) {
  crowd_message("crowd %s active (pid %d)\n", CROWD_VERSION_STRING, (int)getpid());
  for (size_t i = 0; i < sizeof option_table / sizeof option_table[0]; i++) {
    const struct option_def *def = &option_table[i];
    char value[32];
    switch (def->kind) {
      case OPTION_BOOL: crowd_format(value, sizeof value, "%s", *(int *)def->target ? "on" : "off"); break;
      case OPTION_MS:
        if (*(int64_t *)def->target < 0) crowd_format(value, sizeof value, "never");
        else crowd_format(value, sizeof value, "%llu ms", (unsigned long long)*(int64_t *)def->target);
        break;
      case OPTION_SIZE: crowd_format(value, sizeof value, "%zu", *(size_t *)def->target); break;
      case OPTION_PURGE: crowd_format(value, sizeof value, "%s", *(int *)def->target ? "free" : "dontneed"); break;
      case OPTION_STATS: crowd_format(value, sizeof value, "%s", *(int *)def->target == 2 ? "json" : *(int *)def->target ? "on" : "off"); break;
      case OPTION_PATH: crowd_format(value, sizeof value, "%s", *(char *)def->target ? (char *)def->target : "(none)"); break;
    }
    crowd_message("crowd:   %s=%s  (%s)\n", def->name, value, def->doc);
  }
}
