/* src/util/util.h - small host helpers: atomic file writes, mkdir -p, number parsing
 * (the clock, now_ns, is monitor/clock.h: the monitor uses it too). */
#ifndef PTSHADOW_UTIL_H
#define PTSHADOW_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Write data to path atomically (temp file in the same directory + rename). */
int write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* mkdir -p */
int mkdir_p(const char *path, char *err, size_t errlen);
int parse_u64(const char *s, uint64_t *out); /* decimal or 0x hex, whole string */
/* "10s", "5m", "1h", "90" (seconds) */
int parse_duration(const char *s, uint64_t *seconds);

#endif /* PTSHADOW_UTIL_H */
