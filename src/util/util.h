/* src/util/util.h - small host helpers: atomic file writes, mkdir -p, number parsing,
 * untrusted text made safe to show (the clock, now_ns, is monitor/clock.h: the
 * monitor uses it too). */
#ifndef PTSHADOW_UTIL_H
#define PTSHADOW_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write data to path atomically (temp file in the same directory + rename). */
int write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* mkdir -p */
int mkdir_p(const char *path, char *err, size_t errlen);
int parse_u64(const char *s, uint64_t *out); /* decimal or 0x hex, whole string */
/* "10s", "5m", "1h", "90" (seconds) */
int parse_duration(const char *s, uint64_t *seconds);
/* fsync a directory (after a rename into it, so that the name lasts); 0 or -1 with err */
int fsync_dir(const char *path, char *err, size_t errlen);
/* remove a directory and the files in it (no sub-directories); best effort */
void remove_flat_dir(const char *path);

/*
 * Text the guest wrote (console, panic record, anything derived from them)
 * reaches terminals, report files and JSON only through these: every byte
 * that is not printable ASCII becomes \xNN and a backslash \\, so no escape
 * sequence reaches a terminal and the result is valid UTF-8 (ASCII).  With
 * keep_lines, newline and tab stay as they are.  out is always
 * NUL-terminated and holds whole escapes only; returns its length.
 */
size_t text_escape(char *out, size_t outlen, const void *in, size_t len, bool keep_lines);
/* in (a NUL-terminated string) escaped into out, cut at outlen; returns out */
const char *text_safe(char *out, size_t outlen, const char *in);

#endif /* PTSHADOW_UTIL_H */
