/* What every bench program tells its driver, on stdout, one fact a line:
 *
 *   RESULT key=value        a measured number (wall time, live bytes, RSS)
 *   MARK name t=... k=v     a point in time the footprint driver lines its
 *                           RSS samples up with (start, released, poked)
 *
 * None of these functions calls malloc once the program is running, so a
 * marker or an idle phase never wakes the allocator up: /proc files are
 * read with read(2) into stack buffers, and stdout's buffer is allocated by
 * the first MARK, which every program prints before its workload starts. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

/* Seconds on the monotonic clock. */
double bench_now(void);

/* Checks that the library named by $BENCH_EXPECT_LIB (a file name such as
 * libjemalloc.so.2) is mapped into this process, and exits with status 3
 * if it is not: an LD_PRELOAD with a wrong path is silently ignored by the
 * loader, and we would otherwise benchmark glibc under another name.
 * Also prints which known allocator libraries are mapped. */
void bench_check_allocator(void);

/* Prints "MARK start pid=..." and the allocator check; call first. */
void bench_start(const char *workload);

/* Prints "MARK name t=<seconds since start> live_bytes=<n>" and flushes. */
void bench_mark(const char *name, uint64_t live_bytes);

/* Prints RESULT lines for Rss, LazyFree and AnonHugePages of this process,
 * from /proc/self/smaps_rollup (exact, unlike VmRSS), with the prefix
 * given (e.g. "final" gives final_rss_kb=...). */
void bench_report_memory(const char *prefix);

void bench_result_u64(const char *key, uint64_t value);
void bench_result_f64(const char *key, double value);

/* Sleeps without calling the allocator. */
void bench_idle(double seconds);

/* The footprint driver's tail: marker, idle_s seconds with no allocator
 * call, one small malloc/free (which is when some allocators purge), a
 * second marker, one more second, return.  Does nothing if idle_s <= 0. */
void bench_idle_and_poke(double idle_s, uint64_t live_bytes);

#endif
