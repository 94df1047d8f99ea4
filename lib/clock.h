/* lib/clock.h - the one monotonic clock of the host code: the monitor
 * times its checks with it, the VMM its deadlines, runs and benchmarks.
 */
#ifndef PTSHADOW_LIB_CLOCK_H
#define PTSHADOW_LIB_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds */
uint64_t now_ns(void);

#endif /* PTSHADOW_LIB_CLOCK_H */
