/* monitor/clock.h - the one monotonic clock of the host code: the monitor
 * times its checks with it, the VMM its deadlines, runs and benchmarks.
 */
#ifndef MONITOR_CLOCK_H
#define MONITOR_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds */
uint64_t now_ns(void);

#endif /* MONITOR_CLOCK_H */
